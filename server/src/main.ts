import { configIssuesOf } from '@aegis/shared/config';
import { createLogger } from '@aegis/shared/logging';
import { loadServerConfigFromProcess, type ServerConfig } from './env.ts';
import { startServer } from './http.ts';

/**
 * The server daemon: config → server; SIGTERM/SIGINT drain and exit. The single-process
 * launcher (`npm start`) calls `startServer` itself instead.
 */
let config: ServerConfig;
try {
  config = loadServerConfigFromProcess();
} catch (err) {
  // Stop before listening; the message names every bad variable and no value.
  const issues = configIssuesOf(err);
  if (issues) {
    createLogger({ name: 'server' }).fatal({ issues }, (err as Error).message);
    process.exit(1);
  }
  throw err;
}
const log = createLogger({ name: 'server', level: config.logLevel });
// Crash-only: an error nothing handled leaves the process in an unknown state; log it (through
// the redacting logger, not Node's default printer) and exit for the supervisor to restart.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'server: uncaught exception; exiting (the supervisor restarts it)');
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'server: unhandled rejection; exiting (the supervisor restarts it)');
  process.exit(1);
});
const running = await startServer({ config, log });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
