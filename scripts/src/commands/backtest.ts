import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BacktestProgressEventOutput } from '@aegis/server/routers/backtests';
import type { BacktestSpecInput } from '@aegis/shared/schemas/backtest';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandContext, type CommandGroup, optBool, optString, optStrings } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';
import { scanTickFile } from '../../lib/tick-file-scan.ts';

type Detail = Awaited<ReturnType<AegisClient['backtests']['get']['query']>>;
type View = Awaited<ReturnType<AegisClient['backtests']['list']['query']>>['items'][number];
type ProgressEvent = BacktestProgressEventOutput;
type Metrics = NonNullable<Detail['result']>['metrics'];

/** The server's limits (server/src/backtests/uploads.ts): 256 MiB files, 512 KiB chunks. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

const listColumns: Column<View>[] = [
  { header: 'id', value: (b) => b.id },
  { header: 'name', value: (b) => b.name, maxWidth: 30 },
  { header: 'status', value: (b) => b.status },
  {
    header: 'progress',
    value: (b) => (b.progress ? `${Math.round(b.progress.fraction * 100)}%` : '-'),
    align: 'right',
  },
  { header: 'ticks', value: (b) => b.progress?.ticks ?? '-', align: 'right' },
  { header: 'created', value: (b) => b.createdAt },
  { header: 'finished', value: (b) => b.finishedAt },
];

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const num = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));

/** Strategy vs buy-and-hold, one row per metric. */
const METRIC_ROWS: readonly [string, (m: Metrics) => string][] = [
  ['total return', (m) => pct(m.totalReturn)],
  ['annualized return', (m) => pct(m.annualizedReturn)],
  ['sharpe', (m) => num(m.sharpe)],
  ['sortino', (m) => num(m.sortino)],
  ['max drawdown', (m) => pct(m.maxDrawdown)],
  ['max drawdown duration (s)', (m) => num(m.maxDrawdownDurationSeconds, 0)],
  ['calmar', (m) => num(m.calmar)],
  ['win rate', (m) => pct(m.winRate)],
  ['profit factor', (m) => num(m.profitFactor)],
  ['exposure', (m) => pct(m.exposure)],
  ['turnover', (m) => num(m.turnover)],
  ['fees', (m) => m.fees],
  ['trades', (m) => String(m.trades)],
];

function printResult(ctx: CommandContext, b: Detail): void {
  if (ctx.out.json) {
    ctx.out.data(b);
    return;
  }
  ctx.out.record({
    id: b.id,
    name: b.name,
    status: b.status,
    error: b.error,
    created: b.createdAt,
    finished: b.finishedAt,
    ticks: b.result?.ticks ?? b.progress?.ticks ?? null,
    signals: b.result?.signals ?? null,
    model: b.result?.modelVersion ?? null,
    digest: b.result?.digest ?? null,
  });
  const r = b.result;
  if (!r) return;
  process.stdout.write('\n');
  ctx.out.table(
    METRIC_ROWS.map(([name, f]) => ({ name, strategy: f(r.metrics), benchmark: f(r.benchmark) })),
    [
      { header: 'metric', value: (row) => row.name },
      { header: 'strategy', value: (row) => row.strategy, align: 'right' },
      { header: 'buy & hold', value: (row) => row.benchmark, align: 'right' },
    ],
  );
  if (r.attribution.length > 0) {
    process.stdout.write('\n');
    ctx.out.table(r.attribution, [
      { header: 'pattern', value: (a) => a.pattern },
      { header: 'signals', value: (a) => a.signals, align: 'right' },
      { header: 'trades', value: (a) => a.trades, align: 'right' },
      { header: 'win rate', value: (a) => pct(a.winRate), align: 'right' },
      { header: 'p&l', value: (a) => a.pnl, align: 'right' },
    ]);
  }
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
function progressPrinter() {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  return {
    update(e: ProgressEvent) {
      const p = e.progress;
      if (!p) {
        if (!tty) process.stderr.write(`backtest ${e.status}\n`);
        return;
      }
      const width = 30;
      const filled = Math.round(p.fraction * width);
      const eta = p.etaSeconds === null ? '' : `, ETA ${Math.ceil(p.etaSeconds)}s`;
      const line =
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.fraction * 100).toFixed(0).padStart(3)}%  ` +
        `${p.ticks.toLocaleString('en-US')} ticks  sim ${p.simTime ?? '-'}  ` +
        `${Math.round(p.ticksPerSecond).toLocaleString('en-US')}/s${eta}`;
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else {
        const decile = Math.floor(p.fraction * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${line}\n`);
        }
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** How often the fallback polls when the live stream is unavailable. */
const POLL_MS = 1000;

/**
 * Follows the backtest's progress until its final status: live (SSE), or by polling `get` once a
 * second when the stream cannot be used (a proxy that buffers SSE, say). Ctrl-C cancels it.
 */
function waitForEnd(ctx: CommandContext, client: AegisClient, id: string): Promise<void> {
  const bar = progressPrinter();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      sub.unsubscribe();
      bar.end();
      if (err === undefined) resolve();
      else reject(err);
    };
    const poll = async () => {
      while (!settled) {
        const b = await client.backtests.get.query({ id });
        bar.update({ id, status: b.status, progress: b.progress, error: b.error });
        if (TERMINAL.has(b.status)) return finish();
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    const sub = client.backtests.progress.subscribe(
      { id },
      {
        onData(event) {
          bar.update(event.data);
          if (TERMINAL.has(event.data.status)) finish();
        },
        onError(err) {
          // Authorization and input errors end the command; anything else falls back to polling.
          const code = (err as { data?: { code?: string } }).data?.code;
          if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'NOT_FOUND') return finish(err);
          ctx.warn(`live progress unavailable (${err.message}); polling`);
          sub.unsubscribe();
          poll().catch((e: unknown) => finish(e));
        },
      },
    );
    ctx.interrupted.addEventListener(
      'abort',
      () => {
        ctx.warn('\ninterrupted: cancelling the backtest');
        client.backtests.cancel.mutate({ id }).then(
          () => {},
          (err: unknown) => finish(err),
        );
      },
      { once: true },
    );
  });
}

/** Waits this many times at most for the server's rate limit during one upload. */
const MAX_RATE_WAITS = 60;
let rateWaits = 0;

/**
 * A large file is more chunks than the server's mutation rate limit allows per minute: when it
 * answers TOO_MANY_REQUESTS, wait the Retry-After it gives and send the same call again (a call
 * refused by the limiter was not executed).
 */
async function withRateLimitRetry<T>(ctx: CommandContext, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const data = (err as { data?: { code?: string; details?: { retryAfterSeconds?: number } | null } })
        .data;
      const wait = data?.details?.retryAfterSeconds;
      if (data?.code !== 'TOO_MANY_REQUESTS' || wait === undefined || ++rateWaits > MAX_RATE_WAITS) throw err;
      ctx.warn(`rate limited by the server: waiting ${wait}s`);
      await new Promise((r) => setTimeout(r, Math.max(1, wait) * 1000));
    }
  }
}

async function uploadFile(ctx: CommandContext, client: AegisClient, path: string, bytes: Buffer) {
  const scan = scanTickFile(bytes);
  const started = await withRateLimitRetry(ctx, () =>
    client.backtests.uploadStart.mutate({
      name: basename(path).slice(0, 200),
      format: scan.format,
      sizeBytes: bytes.length,
      sha256: scan.sha256,
    }),
  );
  const chunk = started.maxChunkBytes;
  const chunks = Math.ceil(bytes.length / chunk);
  for (let seq = 0; seq < chunks; seq++) {
    const data = bytes.subarray(seq * chunk, (seq + 1) * chunk).toString('base64');
    await withRateLimitRetry(ctx, () =>
      client.backtests.uploadChunk.mutate({ uploadId: started.id, seq, data }),
    );
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Kuploading ${seq + 1}/${chunks}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  await withRateLimitRetry(ctx, () => client.backtests.uploadFinish.mutate({ uploadId: started.id }));
  ctx.warn(
    `uploaded ${basename(path)} (${bytes.length.toLocaleString('en-US')} bytes, sha-256 ${scan.sha256.slice(0, 12)}…)`,
  );
  return { uploadId: started.id, symbols: scan.symbols };
}

function parseIntOption(values: Record<string, unknown>, name: string): number | undefined {
  const raw = optString(values as never, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer`);
  return n;
}

export const backtestCommands: CommandGroup = {
  name: 'backtest',
  summary: 'run backtests on tick files and read their results',
  commands: {
    run: {
      summary:
        'upload a tick file (.ticks or CSV), run a backtest on it with a live progress bar on stderr, print the metrics against buy-and-hold (--json: the backtest with its full result)',
      usage: '<file> [--instruments A,B] [--name n] [--capital 100000] [--seed 1] [--spec extra.json]',
      positionals: ['file'],
      options: {
        instruments: { type: 'string', multiple: true },
        name: { type: 'string' },
        capital: { type: 'string' },
        seed: { type: 'string' },
        spec: { type: 'string' },
        'no-wait': { type: 'boolean' },
      },
      async run(ctx, { values, positionals }) {
        const path = positionals[0]!;
        const size = await stat(path).then(
          (s) => s.size,
          () => {
            throw new CliError(`${path}: cannot read the file`, ExitCode.FAILURE);
          },
        );
        if (size === 0) throw new CliError(`${path}: empty file`, ExitCode.REJECTED);
        if (size > MAX_FILE_BYTES)
          throw new CliError(`${path}: over the 256 MiB upload limit`, ExitCode.REJECTED);
        // Extra spec fields (agent, execution, detectors, limits …) from a JSON file.
        let extra: Partial<BacktestSpecInput> = {};
        const specPath = optString(values, 'spec');
        if (specPath) {
          try {
            extra = JSON.parse(await readFile(specPath, 'utf8')) as Partial<BacktestSpecInput>;
          } catch {
            throw new CliError(`--spec ${specPath}: not a readable JSON file`);
          }
        }
        const client = ctx.client();
        const bytes = await readFile(path);
        const { uploadId, symbols } = await uploadFile(ctx, client, path, bytes);
        const instruments = optStrings(values, 'instruments');
        const chosen = instruments.length > 0 ? instruments : symbols.slice(0, 1000);
        if (chosen.length === 0) throw new CliError('no instruments: pass --instruments A,B');
        const seed = parseIntOption(values, 'seed');
        const spec: BacktestSpecInput = {
          ...extra,
          name: optString(values, 'name') ?? extra.name ?? basename(path).slice(0, 120),
          instruments: chosen,
          data: { kind: 'upload', uploadId },
          ...(optString(values, 'capital') ? { capital: optString(values, 'capital')! } : {}),
          ...(seed !== undefined ? { seed } : {}),
        };
        if (spec.agent?.decider === 'openai') {
          const cost = await client.backtests.estimate.query(spec);
          ctx.warn(
            `LLM decider: up to $${cost.usd ?? `${cost.usdPerSimulatedHour}/simulated hour`} (${cost.basis})`,
          );
        }
        // Refused by the limiter means not executed: sending it again cannot create two.
        const created = await withRateLimitRetry(ctx, () => client.backtests.create.mutate(spec));
        ctx.warn(`backtest ${created.id} queued (${chosen.length} instrument(s))`);
        if (optBool(values, 'no-wait')) {
          if (ctx.out.json) ctx.out.data(created);
          else ctx.out.record({ id: created.id, status: created.status });
          return ExitCode.OK;
        }
        await waitForEnd(ctx, client, created.id);
        const done = await client.backtests.get.query({ id: created.id });
        printResult(ctx, done);
        if (done.status !== 'succeeded') {
          ctx.warn(`backtest ${done.status}${done.error ? `: ${done.error}` : ''}`);
          return ExitCode.FAILURE;
        }
        return ExitCode.OK;
      },
    },
    list: {
      summary: "the desk's backtests, newest first",
      usage: '[--status running] [--limit 50]',
      options: { status: { type: 'string' }, limit: { type: 'string' } },
      async run(ctx, { values }) {
        const status = optString(values, 'status') as View['status'] | undefined;
        const limit = parseIntOption(values, 'limit') ?? 50;
        const page = await ctx.client().backtests.list.query({ limit, ...(status ? { status } : {}) });
        ctx.out.table(page.items, listColumns);
        return ExitCode.OK;
      },
    },
    show: {
      summary: 'one backtest: status, progress, and its metrics against buy-and-hold once it has succeeded',
      usage: '<id>',
      positionals: ['id'],
      async run(ctx, { positionals }) {
        printResult(ctx, await ctx.client().backtests.get.query({ id: positionals[0]! }));
        return ExitCode.OK;
      },
    },
    cancel: {
      summary: 'cancel a queued or running backtest (a running one stops at its next progress report)',
      usage: '<id>',
      positionals: ['id'],
      async run(ctx, { positionals }) {
        const b = await ctx.client().backtests.cancel.mutate({ id: positionals[0]! });
        if (ctx.out.json) ctx.out.data(b);
        else ctx.out.record({ id: b.id, status: b.status === 'running' ? 'cancel requested' : b.status });
        return ExitCode.OK;
      },
    },
  },
};
