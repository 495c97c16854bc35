import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type SignalRow = Awaited<ReturnType<AegisClient['signals']['list']['query']>>['items'][number];

const columns: Column<SignalRow>[] = [
  { header: 'time (utc)', value: (s) => s.tsSignal },
  { header: 'instrument', value: (s) => s.symbol },
  { header: 'pattern', value: (s) => s.pattern },
  { header: 'dir', value: (s) => s.direction },
  { header: 'score', value: (s) => s.score.toFixed(3), align: 'right' },
  { header: 'price', value: (s) => s.price, align: 'right' },
  { header: 'id', value: (s) => s.id },
];

function parseScore(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new CliError('--min-score must be a number from 0 to 1');
  return n;
}

/**
 * `aegis signals tail`: the desk's recent signals, then new ones live (SSE) until Ctrl-C or
 * `--count` events. With --json every signal is one JSON line (NDJSON). A dropped connection is
 * resumed from the last event id by the client, so no signal is skipped.
 */
export const signalCommands: CommandGroup = {
  name: 'signals',
  summary: 'recent and live signals of the desk',
  commands: {
    tail: {
      summary: 'print the latest signals, then follow new ones live',
      usage: '[--instrument BTC-USD] [--min-score 0.7] [--last 10] [--count n]',
      options: {
        instrument: { type: 'string' },
        'min-score': { type: 'string' },
        last: { type: 'string', short: 'n' },
        count: { type: 'string' },
      },
      async run(ctx, { values }) {
        const instrument = optString(values, 'instrument');
        const minScore = parseScore(optString(values, 'min-score'));
        const last = Number(optString(values, 'last') ?? 10);
        if (!Number.isInteger(last) || last < 0 || last > 500) throw new CliError('--last must be 0..500');
        const countRaw = optString(values, 'count');
        const count = countRaw === undefined ? Number.POSITIVE_INFINITY : Number(countRaw);
        if (!(count >= 1)) throw new CliError('--count must be a positive integer');
        const client = ctx.client();
        const filter = {
          ...(instrument ? { instrument } : {}),
          ...(minScore !== undefined ? { minScore } : {}),
        };
        const emit = (rows: SignalRow[]) => {
          if (rows.length === 0) return;
          if (ctx.out.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
          else
            process.stdout.write(
              `${rows.map((s) => columns.map((c) => String(c.value(s) ?? '')).join('  ')).join('\n')}\n`,
            );
        };
        if (last > 0) {
          const page = await client.signals.list.query({ ...filter, limit: last });
          emit([...page.items].reverse());
        }
        let seen = 0;
        await new Promise<void>((resolve, reject) => {
          const sub = client.signals.onNew.subscribe(filter, {
            onData(event) {
              // Tracked events: the client resumes from `id` by itself after a reconnect.
              emit([(event as unknown as { data: SignalRow }).data]);
              if (++seen >= count) {
                sub.unsubscribe();
                resolve();
              }
            },
            onError(err) {
              sub.unsubscribe();
              reject(err);
            },
          });
          ctx.interrupted.addEventListener('abort', () => {
            sub.unsubscribe();
            resolve();
          });
        });
        return ExitCode.OK;
      },
    },
  },
};
