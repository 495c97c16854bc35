import { spawnSync } from 'node:child_process';

const ROOT = new URL('../../../', import.meta.url).pathname;

/**
 * The operator's key rotation command (`npm run tokens:rotate`, rotate-keys-main.ts) as its own
 * process on the repository's Node, with only PATH, the database and `keys` as
 * TOKEN_ENCRYPTION_KEYS in its environment (info logs: its summary line). Its exit status and
 * everything it wrote, stdout then stderr.
 */
export function runTokensRotate(
  databaseUrl: string,
  keys: string,
): { status: number | null; output: string } {
  const run = spawnSync(
    `${ROOT}node_modules/.bin/node`,
    [`${ROOT}server/src/auth/oauth/rotate-keys-main.ts`],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl,
        TOKEN_ENCRYPTION_KEYS: keys,
        LOG_LEVEL: 'info',
      },
      timeout: 60_000,
      encoding: 'utf8',
    },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
