import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSignal, eventually } from '../../../server/tests/integration/decisions-support.ts';
import type { Client, TestServer } from '../../../server/tests/integration/test-server.ts';
import { venuePrices } from '../../../server/tests/integration/venue-price-fixture.ts';
import { cli, startCli, startCliServer } from './cli-harness.ts';

/** The decision commands as users run them: a child process against a real server. */
let t: TestServer;
let admin: Client;
let password: string;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  const s = await startCliServer(['read', 'trade'], {
    execution: {
      paper: { seed: 1, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
    },
  });
  ({ t, env } = s);
  admin = s.admin.client;
  password = s.admin.password;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7') on conflict do nothing`;
  await admin.agent.settings.set.mutate({ instruments: ['BTC-USD'] });
  dir = await mkdtemp(join(tmpdir(), 'aegis-cli-'));
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(`${t.redisPrefix}:signals`).catch(() => {});
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ev = (sequence: number, tsEvent = new Date().toISOString()) => ({
  kind: 'trade',
  instrument: 'BTC-USD',
  venue: 'COINBASE',
  tsEvent,
  source: 'cli-feed',
  sequence,
  price: '50005',
  size: '0.1',
  side: 'buy',
});

describe('aegis ingest', () => {
  it('streams a JSON Lines file in batches with progress, then reports duplicates and gaps on a re-run', async () => {
    const lines = [1, 2, 3, 4, 5, 6, 7, 9, 10].map((s) => JSON.stringify(ev(s)));
    const file = join(dir, 'flow.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const first = await cli(['ingest', file, '--batch', '4', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ events: 9, inserted: 9, duplicates: 0, batches: 3 });
    expect(out.gaps).toEqual([{ source: 'cli-feed', fromSequence: 8, toSequence: 8, missing: 1 }]);
    expect(first.stderr.trim().split('\n')).toHaveLength(3);
    expect(first.stderr).toMatch(/ingest: 9 events \(9 new, 0 duplicate\)/);
    const again = JSON.parse((await cli(['ingest', file, '--json'], env)).stdout);
    expect(again).toMatchObject({ events: 9, inserted: 0, duplicates: 9 });
  });

  it('reads CSV with a header, and stops on a bad batch naming the file line and field', async () => {
    const ts = new Date().toISOString();
    const csv = join(dir, 'flow.csv');
    await writeFile(
      csv,
      [
        'kind,instrument,venue,tsEvent,source,sequence,price,size,side,bid,ask,bidSize,askSize',
        `trade,BTC-USD,COINBASE,${ts},csv-feed,1,50001,0.2,sell,,,,`,
        `quote,BTC-USD,COINBASE,${ts},csv-feed,2,,,,50000,50002,1.5,2`,
      ].join('\n'),
    );
    const ok = await cli(['ingest', csv, '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ events: 2, inserted: 2 });
    const bad = join(dir, 'bad.jsonl');
    await writeFile(
      bad,
      [JSON.stringify(ev(100)), JSON.stringify({ ...ev(101), price: 'cheap' })].join('\n'),
    );
    const res = await cli(['ingest', bad], env);
    expect(res.code).toBe(5);
    expect(res.stderr).toContain(`${bad}:2: price:`);
    expect(res.stderr).toMatch(/batch 1 rejected \(\d+ problem\(s\)\); 0 event\(s\) before it were stored/);
  });
});

describe('aegis signals, proposals, approve, lessons', () => {
  it('tails a live signal, lists the proposal, approves it with a password sign-in, and queries lessons', async () => {
    const tail = startCli(['signals', 'tail', '--last', '0', '--count', '1', '--json'], env);
    // Live means live: a signal stored after the CLI says so is never missed, however slowly it started.
    expect(await tail.said('live:')).toBe(true);
    await venuePrices(t, [
      { venue: 'COINBASE', instrument: 'BTC-USD', bid: '50000', ask: '50005', bidSize: '5', askSize: '5' },
    ]);
    const sig = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(`${t.redisPrefix}:signals`, sig);
    const tailed = await tail.done;
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(JSON.parse(tailed.stdout.trim()).id).toBe(sig.id);
    expect(tailed.stderr).toMatch(/^live: waiting for 1 new signal\(s\)$/m);

    const proposal = await eventually(async () => {
      const list = await admin.proposals.list.query({});
      return list.items.find((p) => p.signalId === sig.id) ?? null;
    });
    const listed = await cli(['proposals', 'list', '--status', 'pending', '--json'], env);
    expect(JSON.parse(listed.stdout).map((p: { id: string }) => p.id)).toContain(proposal.id);
    const table = await cli(['proposals', 'list'], env);
    expect(table.stdout).toMatch(/buy 0\.0999 BTC-USD/);

    const noEmail = await cli(['approve', proposal.id], env);
    expect(noEmail.code).toBe(2);
    const wrong = await cli(['approve', proposal.id, '--email', t.admin.email], env, 'not-the-password\n');
    expect(wrong.code).toBe(3);
    // A fresh quote: the governor refuses to price an order off a stale one.
    await venuePrices(t, [
      { venue: 'COINBASE', instrument: 'BTC-USD', bid: '50000', ask: '50005', bidSize: '5', askSize: '5' },
    ]);
    const approved = await cli(
      ['approve', proposal.id, '--email', t.admin.email, '--reason', 'cli test', '--json'],
      env,
      `${password}\n`,
    );
    expect(approved.code, approved.stderr).toBe(0);
    const res = JSON.parse(approved.stdout);
    expect(res.proposal).toMatchObject({ id: proposal.id, status: 'executed' });
    expect(res.order.proposalId).toBe(proposal.id);

    await admin.trades.recordOutcome.mutate({
      proposalId: proposal.id,
      signalId: sig.id,
      instrument: 'BTC-USD',
      side: 'buy',
      quantity: '0.0999',
      entryPrice: '50005',
      exitPrice: '49000',
      openedAt: new Date(Date.now() - 60_000).toISOString(),
      closedAt: new Date().toISOString(),
    });
    const lessons = await cli(['lessons', 'query', 'BTC-USD breakout long', '--k', '3', '--json'], env);
    expect(lessons.code, lessons.stderr).toBe(0);
    expect(JSON.parse(lessons.stdout)[0]).toMatchObject({ kind: 'loss', instrument: 'BTC-USD' });
  });

  it('tail prints the latest stored signal, then the next live one: none missed, none repeated', async () => {
    const earlier = engineSignal({ symbol: 'BTC-USD', score: '0.9' });
    await t.server.deps.bus.xadd(`${t.redisPrefix}:signals`, earlier);
    await eventually(async () => {
      const page = await admin.signals.list.query({ limit: 1 });
      return page.items[0]?.id === earlier.id;
    });
    const tail = startCli(['signals', 'tail', '--last', '1', '--count', '1', '--json'], env);
    expect(await tail.said('live:')).toBe(true);
    const next = engineSignal({ symbol: 'BTC-USD', score: '0.9' });
    await t.server.deps.bus.xadd(`${t.redisPrefix}:signals`, next);
    const tailed = await tail.done;
    expect(tailed.code, tailed.stderr).toBe(0);
    const ids = tailed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toEqual([earlier.id, next.id]);
  });
});
