import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '@aegis/shared/errors';
import type { BacktestProgress, BacktestResult, BacktestSpec } from '@aegis/shared/schemas/backtest';
import { BACKTEST_CANCELLED } from '../backtest/run-backtest.ts';
import type { BacktestThreadStartup, BacktestThreadToMain } from './backtest-thread-messages.ts';

/**
 * Runs one backtest in its own thread (backtest-thread-worker.ts) and answers like runBacktest:
 * the result, or an AppError (a cancelled run's has `details.cancelled`, as runBacktest's does).
 * Aborting `signal` asks the thread to stop at its next batch; a thread that dies without an
 * answer (out of memory, a crash) rejects with INTERNAL and its exit code.
 */
export interface ThreadRunOptions {
  readonly uploadPath: string | null;
  readonly databaseUrl: string | null;
  readonly modelJsonPath: string | null;
  readonly logLevel: string;
  readonly openai?: BacktestThreadStartup['openai'];
  readonly onProgress: (p: BacktestProgress) => void;
  readonly signal: AbortSignal;
}

export function runBacktestInThread(spec: BacktestSpec, o: ThreadRunOptions): Promise<BacktestResult> {
  const startup: BacktestThreadStartup = {
    spec,
    uploadPath: o.uploadPath,
    databaseUrl: o.databaseUrl,
    modelJsonPath: o.modelJsonPath,
    logLevel: o.logLevel,
    openai: o.openai ?? null,
  };
  const worker = new Worker(new URL('./backtest-thread-worker.ts', import.meta.url), {
    workerData: startup,
    name: 'aegis-backtest',
  });
  return new Promise<BacktestResult>((resolve, reject) => {
    let answered = false;
    const onAbort = () => worker.postMessage({ type: 'cancel' });
    o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.signal.aborted) onAbort();
    worker.on('message', (m: BacktestThreadToMain) => {
      if (m.type === 'progress') o.onProgress(m.progress);
      else if (m.type === 'result') {
        answered = true;
        resolve(m.result);
      } else {
        answered = true;
        reject(
          m.cancelled
            ? new AppError('PRECONDITION_FAILED', BACKTEST_CANCELLED, { cancelled: true })
            : new AppError(m.code as ErrorCode, m.message, m.field ? { field: m.field } : undefined),
        );
      }
    });
    worker.on('error', (err) => {
      if (answered) return;
      answered = true;
      reject(new AppError('INTERNAL', `backtest thread failed: ${err.message}`, undefined, { cause: err }));
    });
    worker.on('exit', (code) => {
      o.signal.removeEventListener('abort', onAbort);
      if (answered) return;
      answered = true;
      reject(new AppError('INTERNAL', `backtest thread exited (code ${code}) without an answer`));
    });
  });
}
