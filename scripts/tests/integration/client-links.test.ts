import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { createTRPCClient } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeError } from '../../lib/cli-errors.ts';
import { createAegisLinks } from '../../lib/client.ts';

/**
 * The client's transport on a small real tRPC server: batched queries/mutations and SSE
 * subscriptions (Node EventSource from the `eventsource` package) both carry the API key.
 * No router of the product streams yet; later commands (signals, orders) use this path.
 */
const t = initTRPC.context<{ authorization: string | undefined }>().create({
  sse: { ping: { enabled: true, intervalMs: 1_000 } },
});
const router = t.router({
  whoSentThis: t.procedure.query(({ ctx }) => ctx.authorization ?? null),
  echo: t.procedure
    .input(z.object({ text: z.string() }))
    .mutation(({ input, ctx }) => ({ text: input.text, auth: ctx.authorization })),
  countdown: t.procedure.input(z.object({ from: z.number().int() })).subscription(async function* ({
    input,
    ctx,
  }) {
    for (let i = input.from; i >= 0; i--) yield { i, auth: ctx.authorization ?? null };
  }),
});

let server: ReturnType<typeof createHTTPServer>;
let url: string;

beforeAll(async () => {
  server = createHTTPServer({
    router,
    basePath: '/trpc/',
    createContext: ({ req }: { req: IncomingMessage }) => ({ authorization: req.headers.authorization }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections?.();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('createAegisLinks', () => {
  const key = 'aegis_testprefix_secretsecretsecret';

  it('sends the API key on batched queries and mutations', async () => {
    const client = createTRPCClient<typeof router>({
      links: createAegisLinks<typeof router>({ url, apiKey: key }),
    });
    const [who, echoed] = await Promise.all([
      client.whoSentThis.query(),
      client.echo.mutate({ text: 'ü🙂' }),
    ]);
    expect(who).toBe(`Bearer ${key}`);
    expect(echoed).toEqual({ text: 'ü🙂', auth: `Bearer ${key}` });
  });

  it('streams a subscription over SSE with the API key', async () => {
    const client = createTRPCClient<typeof router>({
      links: createAegisLinks<typeof router>({ url, apiKey: key }),
    });
    const seen = await new Promise<{ i: number; auth: string | null }[]>((resolve, reject) => {
      const got: { i: number; auth: string | null }[] = [];
      const sub = client.countdown.subscribe(
        { from: 3 },
        {
          onData: (d) => {
            got.push(d);
            if (d.i === 0) {
              sub.unsubscribe();
              resolve(got);
            }
          },
          onError: reject,
        },
      );
    });
    expect(seen.map((d) => d.i)).toEqual([3, 2, 1, 0]);
    expect(seen.every((d) => d.auth === `Bearer ${key}`)).toBe(true);
  });

  it('times out a query that never answers, reported as one line', async () => {
    // A server that accepts the connection and never responds.
    const silent = createNetServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    try {
      const target = `http://127.0.0.1:${port}`;
      const client = createTRPCClient<typeof router>({
        links: createAegisLinks<typeof router>({ url: target, apiKey: key, timeoutMs: 300 }),
      });
      const err = await client.whoSentThis.query().catch((e: unknown) => e);
      expect(describeError(err, target)).toEqual({
        line: `aegis: request to ${target} timed out`,
        exitCode: 6,
      });
    } finally {
      silent.close();
    }
  });
});
