import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { Collector, streamingClient } from './decisions-support.ts';
import { placeOrder, testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, type CookieJar, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * `positions.updates` resumes: each event (the whole book) carries the book's version as its id,
 * and a client that reconnects with that id gets the book again when a fill came while it was
 * away, and nothing when none did. Real server over HTTP (SSE), PostgreSQL, Redis and the paper
 * broker.
 */
let t: TestServer;
let client: Client;
let jar: CookieJar;
const ex = (): ExecutionRuntime => t.server.deps.execution!;

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, execution: testExecution({ paper: {} }) });
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  jar = admin.jar;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
});
afterAll(async () => {
  await t?.close();
});

type Book = { id: string; data: { symbol: string; quantity: string }[] };
const btc = (e: Book) => e.data.find((p) => p.symbol === 'BTC-USD')?.quantity ?? null;

/** Places a market order at fresh quotes and waits for its fill. */
async function fill(side: 'buy' | 'sell', quantity: string) {
  ex().quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  const o = await placeOrder(client, { side, quantity });
  expect(o.rejectReason).toBeNull();
  await waitUntil(
    () => client.orders.get.query({ id: o.id }),
    (r) => r.order.status === 'filled',
    `the ${side} of ${quantity} filled`,
  );
}

function subscribe(input: { lastEventId?: string } = {}) {
  const events = new Collector<Book>();
  let started!: () => void;
  const opened = new Promise<void>((r) => {
    started = r;
  });
  const sub = streamingClient(t.url, { jar }).positions.updates.subscribe(input, {
    onStarted: started,
    onData: (d) => events.push(d),
    onError: events.fail,
  });
  return { events, opened, close: () => sub.unsubscribe() };
}

describe('positions.updates resumes from the last event id', () => {
  let held: Book;

  it('a fill made while the client was away arrives when it reconnects with its last event id', async () => {
    await fill('buy', '0.1');
    const first = subscribe();
    held = (await first.events.waitFor(1))[0]!;
    first.close();
    expect(btc(held)).toBe('0.1');
    expect(held.id).toMatch(/^[\w-]{22}$/);

    await fill('buy', '0.2');

    const again = subscribe({ lastEventId: held.id });
    const [caughtUp] = await again.events.waitFor(1);
    again.close();
    expect(btc(caughtUp!)).toBe('0.3');
    expect(caughtUp!.id).not.toBe(held.id);

    // A browser's EventSource reconnecting on its own sends the id as a header.
    const raw = await readSse('positions.updates', { 'last-event-id': held.id });
    expect(raw).toContain(`id: ${caughtUp!.id}`);
    expect(raw).toContain('"quantity":"0.3"');
    held = caughtUp!;
  });

  it('a client that reconnects holding the current book gets only what changes after', async () => {
    const resumed = subscribe({ lastEventId: held.id });
    await resumed.opened;
    await fill('sell', '0.05');
    const events = await resumed.events.waitFor(1);
    expect(btc(events[0]!)).toBe('0.25');
    // The fill's nudge may come before or after the first read: one event either way.
    await fill('sell', '0.1');
    await resumed.events.waitFor(2);
    resumed.close();
    expect(resumed.events.items.map(btc)).toEqual(['0.25', '0.15']);
  });
});

/** The SSE text of `path` (input `{}`) up to its first data event, opened with `headers`. */
async function readSse(path: string, headers: Record<string, string>): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent('{}')}`, {
    headers: { cookie: jar.header()!, ...headers },
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  let text = '';
  try {
    const deadline = Date.now() + 10_000;
    while (!/\nid: .*\n/.test(text) && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
  } finally {
    ac.abort();
  }
  return text;
}
