import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isConfigError } from '@aegis/shared/config';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { ensurePortFree, nextFreePort, portIsFree } from './ports.ts';

const servers: Server[] = [];
const sockets = new Set<Socket>();
const occupy = async (): Promise<number> => {
  // A program that accepts connections and never answers (the worst case for a probe).
  const s = createServer((socket) => sockets.add(socket));
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as { port: number }).port;
};
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('start: a taken port is one line naming its variable', () => {
  it('tells a taken port from a free one and finds the next free port', async () => {
    const taken = await occupy();
    expect(await portIsFree(taken)).toBe(false);
    const next = await nextFreePort(taken);
    expect(next).not.toBeNull();
    expect(next!).toBeGreaterThan(taken);
    expect(await portIsFree(next!)).toBe(true);
  });

  it('ensurePortFree throws a configuration error naming the variable and a free port to use', async () => {
    const taken = await occupy();
    const err = await ensurePortFree('WEB_PORT', taken).catch((e: unknown) => e);
    expect(isConfigError(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain(`WEB_PORT: port ${taken} on 127.0.0.1 is in use by another program`);
    expect(msg).toMatch(/e\.g\. WEB_PORT=\d+ npm start/);
    expect(msg).not.toContain('    at '); // no stack in the message
  });

  it('embedded PostgreSQL on a taken port fails before initdb, naming AEGIS_EMBEDDED_PG_PORT', async () => {
    const taken = await occupy();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'aegis-port-'));
    try {
      const err = await startEmbeddedPostgres({
        dataDir,
        port: taken,
        appRole: 'aegis_app',
        onLog: () => {},
      }).catch((e: unknown) => e);
      expect(isConfigError(err)).toBe(true);
      expect((err as Error).message).toContain(`AEGIS_EMBEDDED_PG_PORT: port ${taken}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
