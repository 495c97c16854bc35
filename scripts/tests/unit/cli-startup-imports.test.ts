import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every `aegis` invocation pays for what cli.ts loads at start. The server's services and the
 * database driver took over a second to load, and the CLI needs neither (`admin create` runs the
 * server's own bootstrap as a child process); this records every module a CLI start loads (a Node
 * module hook in the child) and checks they stay out.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const CLI = `${ROOT}scripts/src/cli.ts`;

// Runs in the child before cli.ts: records each loaded module's URL, written out at exit.
const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(process.env.LOADED_OUT, JSON.stringify(loaded)));
`;

let dir: string;
let hook: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aegis-cli-imports-'));
  hook = join(dir, 'record-loads.mjs');
  await writeFile(hook, HOOK);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const out = join(dir, `loaded-${args.join('-').replace(/\W+/g, '_')}.json`);
  await new Promise<void>((resolve) => {
    execFile(
      NODE,
      ['--import', pathToFileURL(hook).href, CLI, ...args],
      {
        cwd: ROOT,
        // Nothing listens on port 9: commands that reach the server fail fast, after start-up.
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AEGIS_URL: 'http://127.0.0.1:9',
          LOADED_OUT: out,
        } as NodeJS.ProcessEnv,
        timeout: 30_000,
      },
      () => resolve(),
    );
  });
  return JSON.parse(await readFile(out, 'utf8')) as string[];
}

const serverCode = (urls: string[]) => urls.filter((u) => u.includes(`${pathToFileURL(ROOT).href}server/`));
const databaseCode = (urls: string[]) =>
  urls.filter((u) => /\/shared\/src\/db\/|\/node_modules\/(postgres|drizzle-orm)\//.test(u));

describe('aegis start-up', () => {
  it.each(['--help', 'whoami', 'admin --help', 'admin create --help'])(
    '`aegis %s` loads no server or database code',
    async (line) => {
      const loaded = await modulesLoadedBy(line.split(' '));
      // The hook saw the CLI itself, so an empty list below is not a hook that never ran.
      expect(loaded).toContain(pathToFileURL(CLI).href);
      expect(serverCode(loaded)).toEqual([]);
      expect(databaseCode(loaded)).toEqual([]);
    },
  );
});
