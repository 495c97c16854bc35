/**
 * Thread entry: one backtest, off the engine's main thread (backtest-thread.ts starts it). The
 * live feeds keep the main thread; a backtest here competes only for a core. It builds its own
 * tick source, model and (for a `ticks` range) database connection, runs runBacktest, and posts
 * progress, then the result or the error (code + message), then ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OpenAIDecider } from '@aegis/shared/agent/openai-decider';
import { connectSql } from '@aegis/shared/db/client';
import { isAppError } from '@aegis/shared/errors';
import { createLogger } from '@aegis/shared/logging';
import { isBacktestCancelled, runBacktest } from '../backtest/run-backtest.ts';
import { mlpScorer } from '../backtest/scorer.ts';
import { tickSourceFor } from '../backtest/tick-source.ts';
import { loadModelFile } from '../model/model-file.ts';
import type {
  BacktestThreadStartup,
  BacktestThreadToMain,
  MainToBacktestThread,
} from './backtest-thread-messages.ts';

const startup = workerData as BacktestThreadStartup;
const port = parentPort!;
const post = (m: BacktestThreadToMain) => port.postMessage(m);
const log = createLogger({ name: 'aegis-backtest-thread', level: startup.logLevel });
const stop = new AbortController();
port.on('message', (m: MainToBacktestThread) => {
  if (m.type === 'cancel') stop.abort();
});

const sql =
  startup.spec.data.kind === 'ticks_table' && startup.databaseUrl
    ? connectSql(startup.databaseUrl, { max: 1, applicationName: 'aegis-backtest' })
    : undefined;
try {
  const uploadPath = startup.uploadPath;
  const ticks = await tickSourceFor(startup.spec, {
    log,
    ...(sql ? { sql } : {}),
    ...(uploadPath ? { uploadPath: () => uploadPath } : {}),
  });
  const model = mlpScorer(await loadModelFile(startup.modelJsonPath ?? undefined));
  // The LLM only when the spec asks for it (its cost was shown by backtests.estimate first).
  const decider =
    startup.spec.agent.decider === 'openai' && startup.openai
      ? new OpenAIDecider({
          apiKey: startup.openai.apiKey,
          ...(startup.openai.baseUrl ? { baseUrl: startup.openai.baseUrl } : {}),
          ...(startup.openai.model ? { model: startup.openai.model } : {}),
          log,
        })
      : undefined;
  const result = await runBacktest(startup.spec, {
    ticks,
    model,
    ...(decider ? { decider } : {}),
    onProgress: (progress) => post({ type: 'progress', progress }),
    signal: stop.signal,
  });
  post({ type: 'result', result });
} catch (e) {
  const field = isAppError(e) && typeof e.details?.field === 'string' ? e.details.field : null;
  post({
    type: 'error',
    code: isAppError(e) ? e.code : 'INTERNAL',
    message: e instanceof Error ? e.message : String(e),
    cancelled: isBacktestCancelled(e) || stop.signal.aborted,
    field,
  });
} finally {
  port.close();
  await sql?.end({ timeout: 1 }).catch(() => {});
}
