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
 * `--count` events. With --json every signal is one JSON line (NDJSON).
 *
 * No gap, no repeat: the live stream is opened first and the server confirms it before the
 * recent signals are listed, so a signal stored while the command starts is either in the listing
 * or arrives live (printed once). After the listing the command says so on stderr ("live: …");
 * every signal stored after that line is printed, so a program that starts the tail and then
 * causes a signal waits for it. A dropped connection is resumed by the client from the last event
 * id. `--count n` counts the signals stored after the live stream opened, whether they were
 * printed in the listing or as they arrived.
 */
export const signalCommands: CommandGroup = {
  name: 'signals',
  summary: 'recent and live signals of the desk',
  commands: {
    tail: {
      summary:
        'print the latest signals, then follow new ones live (stderr says "live:" once none can be missed; --count n exits after n new ones)',
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
        if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count >= 1))) {
          throw new CliError('--count must be a positive integer');
        }
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
        await new Promise<void>((resolve, reject) => {
          let started = false;
          let settled = false;
          // Live signals that arrive while the listing is read wait here (null once it is printed).
          let held: SignalRow[] | null = [];
          const listed = new Set<string>();
          let seen = 0;
          const finish = (err?: unknown) => {
            if (settled) return;
            settled = true;
            sub.unsubscribe();
            if (err === undefined) resolve();
            else reject(err);
          };
          const onLive = (row: SignalRow) => {
            if (!listed.has(row.id)) emit([row]);
            if (++seen >= count) finish();
          };
          const sub = client.signals.onNew.subscribe(filter, {
            onStarted() {
              // Called again after a reconnect; the listing belongs to the first start only.
              if (started) return;
              started = true;
              const listing =
                last > 0 ? client.signals.list.query({ ...filter, limit: last }) : Promise.resolve(null);
              listing.then(
                (page) => {
                  if (settled) return;
                  const rows = [...(page?.items ?? [])].reverse();
                  for (const r of rows) listed.add(r.id);
                  emit(rows);
                  // After the listing: whatever is stored from here on is printed as it arrives.
                  ctx.warn(
                    count === Number.POSITIVE_INFINITY
                      ? 'live: following new signals (Ctrl-C to stop)'
                      : `live: waiting for ${count} new signal(s)`,
                  );
                  const waiting = held ?? [];
                  held = null;
                  for (const r of waiting) if (!settled) onLive(r);
                },
                (err: unknown) => finish(err),
              );
            },
            onData(event) {
              if (settled) return;
              if (held) held.push(event.data);
              else onLive(event.data);
            },
            onError(err) {
              finish(err);
            },
          });
          ctx.interrupted.addEventListener('abort', () => finish());
        });
        return ExitCode.OK;
      },
    },
  },
};
