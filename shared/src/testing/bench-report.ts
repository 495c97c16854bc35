import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';

/**
 * What every benchmark records about the machine it ran on, measured at run time (never a
 * constant), and the one place results are written: `bench/results/<name>.json` at the
 * repository root, whichever package the benchmark lives in.
 */
export interface MachineInfo {
  readonly cores: number;
  readonly cpu: string;
  readonly mhz: number | null;
  readonly memoryGiB: number;
  readonly node: string;
  /** 1-minute load average when the run started: a busy machine explains a slow run. */
  readonly loadavg1m: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cores: availableParallelism(),
    cpu: list[0]?.model ?? 'unknown',
    // Virtual machines often report 0: unknown, not zero.
    mhz: list[0]?.speed || null,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavg1m: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** The repository's results folder (this file is shared/src/testing/bench-report.ts). */
export const BENCH_RESULTS_DIR = join(import.meta.dirname, '..', '..', '..', 'bench', 'results');

/** Writes `bench/results/<name>.json` and returns its path. */
export function writeBenchResult(name: string, result: unknown): string {
  mkdirSync(BENCH_RESULTS_DIR, { recursive: true });
  const path = join(BENCH_RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/**
 * CPU seconds (user + system) of a database's backends, by pid, read from /proc (PostgreSQL is
 * local to the benchmark). Two readings around a step give the database's CPU for it; a backend
 * that ended meanwhile, or a database on another machine, is not counted.
 */
export async function backendCpuSeconds(owner: postgres.Sql, dbName: string): Promise<Map<number, number>> {
  const pids = await owner<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
  const out = new Map<number, number>();
  for (const { pid } of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / 100); // utime, stime in ticks
    } catch {
      // Ended meanwhile, or another machine: not counted.
    }
  }
  return out;
}

/** Seconds of backend CPU between two `backendCpuSeconds` readings. */
export function backendCpuBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let seconds = 0;
  for (const [pid, t] of after) seconds += t - (before.get(pid) ?? 0);
  return seconds;
}
