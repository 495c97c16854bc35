import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as an operator runs it, with one of its ports held by another program: it stops at
 * once with one line naming the variable that moves it and a free port, before PostgreSQL, the
 * build or any service starts (not a raw stack trace from the component that hit it).
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const START = `${ROOT}launcher/src/start.ts`;

let holder: Server;
let taken: number;
let dataDir: string;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  taken = (holder.address() as { port: number }).port;
  dataDir = await mkdtemp(path.join(tmpdir(), 'aegis-start-'));
});
afterAll(async () => {
  await new Promise((r) => holder.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

const start = (env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      NODE,
      [START],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, AEGIS_DATA_DIR: dataDir, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });

describe('npm start with a port taken', () => {
  for (const variable of ['WEB_PORT', 'SERVER_PORT', 'ENGINE_PORT']) {
    it(`${variable}: one line naming the variable and a free port, nothing started`, async () => {
      const r = await start({ [variable]: String(taken) });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines.join('\n')).toContain(
        `${variable}: port ${taken} on 127.0.0.1 is in use by another program`,
      );
      expect(r.stderr).toMatch(new RegExp(`e\\.g\\. ${variable}=\\d+ npm start`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // Nothing was started: no embedded PostgreSQL was initialised in the data directory.
      expect(r.stdout).not.toContain('Aegis is running');
    });
  }
});
