import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { TRPCClientError } from '@trpc/client';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';

/**
 * `aegis ingest <file.jsonl|file.csv>`: streams order-flow events to `orderflow.ingest` in
 * batches (the file is never read whole), with progress on stderr. JSON Lines: one event object
 * per line. CSV: a header row naming the event fields (kind, instrument, venue, tsEvent, source,
 * sequence, price, size, side, bid, ask, bidSize, askSize); empty cells are omitted; depth
 * events need JSON Lines. A rejected batch stops the run with each problem's file line; batches
 * before it stay stored, and re-running the file is safe (duplicates are recognised).
 */
const MAX_BATCH = 5000;

interface Line {
  readonly lineNo: number;
  readonly event: unknown;
}

async function* readEvents(path: string, format: 'jsonl' | 'csv'): AsyncGenerator<Line> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let header: string[] | null = null;
  for await (const raw of rl) {
    lineNo++;
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (format === 'jsonl') {
      try {
        yield { lineNo, event: JSON.parse(line) };
      } catch {
        throw new CliError(`${path}:${lineNo}: not valid JSON`);
      }
      continue;
    }
    const cells = splitCsv(line);
    if (!header) {
      header = cells;
      continue;
    }
    const event: Record<string, unknown> = {};
    header.forEach((name, i) => {
      const v = cells[i];
      if (v === undefined || v === '') return;
      event[name] = name === 'sequence' && /^\d+$/.test(v) ? Number(v) : v;
    });
    yield { lineNo, event };
  }
}

/** One CSV line: commas, double-quoted cells with "" escapes. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

export const ingestCommand: CommandGroup = {
  name: 'ingest',
  summary: 'stream order-flow events from a .jsonl or .csv file (trade-scoped key)',
  commands: {
    '': {
      summary: 'send the file in batches; prints totals, duplicates and sequence gaps',
      usage: '<file.jsonl|file.csv> [--batch 1000] [--format jsonl|csv]',
      positionals: ['file'],
      options: { batch: { type: 'string' }, format: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const path = positionals[0];
        if (!path) throw new CliError('ingest: a file is required');
        const size = (await stat(path).catch(() => null))?.size;
        if (size === undefined) throw new CliError(`ingest: cannot read ${path}`);
        const formatOpt = optString(values, 'format');
        const format = formatOpt ?? (/\.csv$/i.test(path) ? 'csv' : 'jsonl');
        if (format !== 'jsonl' && format !== 'csv') throw new CliError('--format must be jsonl or csv');
        const batchSize = Number(optString(values, 'batch') ?? 1000);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
          throw new CliError(`--batch must be an integer from 1 to ${MAX_BATCH}`);
        }
        const client = ctx.client();
        const totals = { events: 0, inserted: 0, duplicates: 0, conflicts: 0, batches: 0 };
        const gaps: { source: string; fromSequence: number; toSequence: number; missing: number }[] = [];
        const started = Date.now();
        let batch: Line[] = [];

        const flush = async () => {
          if (batch.length === 0) return;
          const lines = batch;
          batch = [];
          try {
            const res = await client.orderflow.ingest.mutate({ events: lines.map((l) => l.event) });
            totals.batches++;
            totals.events += lines.length;
            totals.inserted += res.inserted;
            totals.duplicates += res.results.filter((r) => r.status === 'duplicate').length;
            totals.conflicts += res.results.filter((r) => r.status === 'conflict').length;
            gaps.push(...res.gaps);
          } catch (err) {
            const problems = (err instanceof TRPCClientError ? err.data?.details?.problems : undefined) as
              | { index: number; field: string; message: string }[]
              | undefined;
            if (problems) {
              for (const p of problems.slice(0, 20)) {
                ctx.warn(`${path}:${lines[p.index]?.lineNo ?? '?'}: ${p.field}: ${p.message}`);
              }
              if (problems.length > 20) ctx.warn(`… and ${problems.length - 20} more`);
              throw new CliError(
                `ingest: batch ${totals.batches + 1} rejected (${problems.length} problem(s)); ${totals.events} event(s) before it were stored`,
                ExitCode.REJECTED,
              );
            }
            throw err;
          }
          const secs = (Date.now() - started) / 1000;
          ctx.warn(
            `ingest: ${totals.events} events (${totals.inserted} new, ${totals.duplicates} duplicate) ` +
              `${Math.round(totals.events / Math.max(secs, 0.001))}/s`,
          );
        };

        for await (const line of readEvents(path, format)) {
          if (ctx.interrupted.aborted) break;
          batch.push(line);
          if (batch.length >= batchSize) await flush();
        }
        if (!ctx.interrupted.aborted) await flush();
        ctx.out.record(
          {
            file: path,
            events: totals.events,
            inserted: totals.inserted,
            duplicates: totals.duplicates,
            conflicts: totals.conflicts,
            batches: totals.batches,
            gaps:
              gaps.length === 0
                ? 'none'
                : gaps.map((g) => `${g.source} ${g.fromSequence}..${g.toSequence}`).join(', '),
          },
          { ...totals, file: path, gaps },
        );
        return ExitCode.OK;
      },
    },
  },
};
