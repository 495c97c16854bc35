/**
 * `npm run db:migrate`: applies pending migrations as the owner and (re)creates the app role.
 * Exit code 0 when the database is current, 1 on any failure (the error is printed).
 */
import { migrate } from '@aegis/shared/db/migrate';
import { createLogger } from '@aegis/shared/logging';
import { loadMigrateConfig } from './config.ts';

async function main(): Promise<void> {
  const config = loadMigrateConfig();
  const log = createLogger({ name: 'db:migrate', level: config.logLevel });
  const result = await migrate({ ownerUrl: config.ownerUrl, appRole: config.appRole, log });
  if (result.applied.length === 0) {
    console.log('database is current: no migration applied');
  } else {
    console.log(`applied ${result.applied.length} migration(s):`);
    for (const tag of result.applied) console.log(`  ${tag}`);
  }
  console.log(`time series: ${result.timeseries}; application role: ${result.appRole ?? '(not managed)'}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
