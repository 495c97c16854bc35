import type { RetryStats } from './chaos-harness.ts';

/** The chaos suite's tally: what it prints at the end of a run. */
// ---------------------------------------------------------------------------------------------
// The tally.
// ---------------------------------------------------------------------------------------------

export interface PgRestartRecord {
  readonly n: number;
  readonly mode: 'fast' | 'immediate';
  readonly atMs: number;
  readonly downMs: number;
  /** Engine writing ticks again after the restart completed; null = not within the cap. */
  readonly engineRecoveryMs: number | null;
}

export interface ChaosTally {
  seed: number;
  attempted: number;
  accepted: number;
  denied: number;
  refused: number;
  stored: number;
  atBroker: number;
  duplicates: number;
  lost: number;
  retried: number;
  pgRestarts: PgRestartRecord[];
  redisRestartAtMs: number | null;
  firstProposalAfterRedisMs: number | null;
  proposalsAfterRedis: number;
  signalsAfterRedis: number;
}

export function formatTally(t: ChaosTally, stats: RetryStats, extra: Record<string, unknown>): string {
  const lines = [
    `chaos tally (seed ${t.seed})`,
    `  orders attempted ${t.attempted} / accepted ${t.accepted} / denied ${t.denied} / refused ${t.refused}`,
    `  stored ${t.stored} / at broker ${t.atBroker} / duplicates ${t.duplicates} / lost ${t.lost}`,
    `  retried ${t.retried} (500: ${stats.status500}, 503: ${stats.status503}, 503 without Retry-After: ${stats.status503WithoutRetryAfter}, client timeouts: ${stats.clientTimeouts})`,
    `  retry reasons: ${[...stats.byReason].map(([k, v]) => `${k} ×${v}`).join('; ') || 'none'}`,
    `  PostgreSQL restarts: ${t.pgRestarts.length}`,
    ...t.pgRestarts.map(
      (r) =>
        `    #${r.n} at ${(r.atMs / 1000).toFixed(1)} s (${r.mode}, down ${r.downMs} ms): engine writing again after ${r.engineRecoveryMs === null ? 'NOT RECOVERED' : `${r.engineRecoveryMs} ms`}`,
    ),
    `  Redis restart (empty) at ${t.redisRestartAtMs === null ? 'never' : `${(t.redisRestartAtMs / 1000).toFixed(1)} s`}: first proposal after it ${t.firstProposalAfterRedisMs === null ? 'NONE' : `after ${t.firstProposalAfterRedisMs} ms`}; signals stored after it ${t.signalsAfterRedis}, proposals ${t.proposalsAfterRedis}`,
    ...Object.entries(extra).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
  ];
  return lines.join('\n');
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A pino line's level as a number (the project's loggers write the label, e.g. "warn"). */
export function levelOf(line: Record<string, unknown>): number {
  return typeof line.level === 'number' ? line.level : (LEVELS[String(line.level)] ?? 0);
}

/** Log lines with `minLevel` <= level < `maxLevel`, counted by message. */
export function countByMessage(lines: Iterable<Record<string, unknown>>, minLevel: number, maxLevel = 100) {
  const counts = new Map<string, number>();
  for (const l of lines) {
    const level = levelOf(l);
    if (level < minLevel || level >= maxLevel) continue;
    counts.set(String(l.msg), (counts.get(String(l.msg)) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}
