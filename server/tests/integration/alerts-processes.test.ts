import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryBus } from '@aegis/shared/bus/index';
import { parseTokenKeys, TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertOptions, type AlertsRuntime, startAlerts } from '../../src/alerts/runtime.ts';
import { testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Several server processes share the alert tables: three alert runtimes (the test server's and
 * two more on their own connection pools) scan and send at once. Each cause becomes one event
 * and each delivery reaches the receiver once (claims with FOR UPDATE SKIP LOCKED), and no log
 * line carries an endpoint's secret.
 */

let t: TestServer;
let receiver: Server;
let receiverUrl: string;
const deliveries = new Map<string, number>();
const extra: { db: DatabaseHandle; runtime: AlertsRuntime }[] = [];
let options: AlertOptions;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-aegis-delivery']);
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      // A slow receiver widens the window in which another process could take the same row.
      setTimeout(() => {
        res.statusCode = 200;
        res.end('ok');
      }, 40);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const key = randomBytes(32).toString('base64');
  options = {
    crypto: new TokenCrypto(parseTokenKeys(undefined, key)),
    targets: { allowLocalhost: true },
    scanIntervalMs: 30,
    sendIntervalMs: 20,
    delivery: { batch: 3 },
  };
  t = await startTestServer({
    rateLimiter: null,
    execution: testExecution({ outboxIntervalMs: 200 }),
    env: { TOKEN_ENCRYPTION_KEY: key },
    alerts: options,
  });
  for (let i = 0; i < 2; i++) {
    const db = createDb(t.database.appUrl, { max: 4, applicationName: `aegis-alerts-${i}` });
    const runtime = startAlerts({
      db: db.db,
      sql: db.sql,
      bus: new MemoryBus(),
      log: createLogger({ name: `alerts-${i}`, level: 'warn' }),
      options,
    });
    extra.push({ db, runtime });
  }
}, 60_000);

afterAll(async () => {
  for (const e of extra) {
    await e.runtime.close();
    await e.db.close();
  }
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

describe('alerts across server processes', () => {
  it('three processes: every event written once, every delivery sent once, no secret in the logs', async () => {
    const admin = await signIn(t.url, t.admin.email, t.admin.password);
    const client = admin.client;
    await client.auth.reauthenticate.mutate({ password: admin.password });
    const { endpoint, secret } = await client.alerts.createEndpoint.mutate({
      name: 'shared receiver',
      url: receiverUrl,
      events: ['halt.engaged', 'halt.released'],
    });
    const HALTS = 5;
    const TESTS = 15;
    for (let i = 0; i < HALTS; i++) {
      await client.halt.engage.mutate({ scope: 'desk', reason: `cycle ${i}` });
      await client.halt.release.mutate({ scope: 'desk' });
    }
    await Promise.all(
      Array.from({ length: TESTS }, () => client.alerts.sendTest.mutate({ endpointId: endpoint.id })),
    );
    // Kick every process at once as well, beside their own timers.
    await Promise.all(extra.flatMap((e) => [e.runtime.scanNow(), e.runtime.sendNow()]));

    const expected = HALTS * 2 + TESTS;
    await waitUntil(
      async () => {
        const [r] = await t.owner<{ n: number }[]>`
          select count(*)::int as n from alert_deliveries where status = 'delivered'`;
        return r!.n;
      },
      (n) => n >= expected,
      'every delivery',
    );
    // Some time for a duplicate to show up, if any process were to send one.
    await new Promise((r) => setTimeout(r, 500));
    const [events] = await t.owner<{ n: number }[]>`select count(*)::int as n from alert_events`;
    expect(events!.n).toBe(HALTS * 2);
    const [rows] = await t.owner<{ n: number; attempts: number }[]>`
      select count(*)::int as n, sum(attempts)::int as attempts from alert_deliveries`;
    expect(rows).toEqual({ n: expected, attempts: expected });
    expect(deliveries.size).toBe(expected);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);

    expect(JSON.stringify(t.logs)).not.toContain(secret);
    expect(JSON.stringify(t.logs)).not.toContain(secret.slice(6));
  });
});
