/**
 * The engine daemon: `npm run engine` (systemd: scripts/systemd/aegis-engine.service).
 * config → bus → engine (writer → inference → pool → feeds) → HTTP. Crash-only: SIGTERM/SIGINT
 * stop the feeds, drain the rings, flush the writer and exit 0 within ENGINE_SHUTDOWN_DEADLINE_MS
 * (default 8 s, inside the unit's TimeoutStopSec=15) whatever PostgreSQL and Redis do; the last
 * log line `engine: stopped` says what was saved (ticksPersisted) and what was not (ticksLost,
 * ticksInDoubt). Any unexpected error exits 1 and the supervisor restarts the process, which
 * resumes from its durable positions.
 */
import { createBus } from '@aegis/shared/bus/index';
import { withDeadline } from '@aegis/shared/deadline';
import { createLogger } from '@aegis/shared/logging';
import { loadEngineConfig } from './config.ts';
import { startHttpServer } from './http.ts';
import { type EngineHandle, startEngine } from './index.ts';
import { startConfiguredBacktestJobs } from './jobs/backtest-jobs.ts';

// Signal handlers go first, before any thread starts, so a SIGTERM that arrives during startup
// (systemd stop right after start) is not lost: it is honoured as soon as startup ends.
let requested: string | null = null;
let onSignal: ((signal: string) => void) | null = null;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    requested ??= signal;
    onSignal?.(signal);
  });
}

const config = loadEngineConfig(undefined, process.argv.slice(2));
const log = createLogger({ name: 'aegis-engine', level: config.logLevel });

process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'engine: uncaught exception; exiting (the supervisor restarts it)');
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'engine: unhandled rejection; exiting (the supervisor restarts it)');
  process.exit(1);
});

const bus = createBus({ redisUrl: config.redisUrl, log });
const engine: EngineHandle = await startEngine({
  config,
  bus,
  log,
  onFatal: () => process.exit(1), // logged by the engine; systemd restarts us
});
// Backtest jobs the server queues (engine/src/jobs/): ENGINE_BACKTEST_WORKERS at once.
const backtests = await startConfiguredBacktestJobs(config, bus, log);
const http = await startHttpServer({ engine, host: config.host, port: config.port, log });

/** Time after the shutdown deadline before the process exits regardless. */
const EXIT_BACKSTOP_MS = 1500;
let shuttingDown = false;
const shutdown = async (signal: string) => {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'engine: shutdown requested');
  // Backstop: if anything outlives every step's own deadline, exit anyway (non-zero: not clean).
  setTimeout(() => {
    log.fatal({ deadlineMs: config.shutdownDeadlineMs }, 'engine: shutdown overran its deadline; exiting');
    process.exit(1);
  }, config.shutdownDeadlineMs + EXIT_BACKSTOP_MS).unref();
  try {
    // A running backtest goes back to the queue (not an attempt) for the next worker.
    await withDeadline(backtests?.stop() ?? Promise.resolve(), EXIT_BACKSTOP_MS, 'backtests stop').catch(
      () => {},
    );
    const report = await engine.stop();
    await http.close();
    await withDeadline(bus.close(), EXIT_BACKSTOP_MS / 2, 'bus close').catch(() => {});
    log.info({ ...report }, 'engine: exit');
    process.exit(0);
  } catch (err) {
    log.fatal({ err }, 'engine: shutdown failed');
    process.exit(1);
  }
};
onSignal = (signal) => void shutdown(signal);
if (requested) void shutdown(requested);
// ENGINE_EXIT_ON_EOF: a batch replay ends like a SIGTERM (drain, flush, exit 0) once it is done.
if (config.exitOnEof) {
  void engine.feedsDone.then(() => {
    log.info(
      { file: config.replayFile },
      'engine: replay reached the end of its file; exiting (ENGINE_EXIT_ON_EOF)',
    );
    void shutdown('end of file');
  });
}
