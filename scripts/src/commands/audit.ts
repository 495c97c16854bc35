import { writeFileSync } from 'node:fs';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, type OptionValues, optBool, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type AuditEntry = Awaited<ReturnType<AegisClient['audit']['list']['query']>>['items'][number];

const columns: Column<AuditEntry>[] = [
  // A platform-chain row (a member's sign-in, a global halt) carries that chain's seq.
  { header: 'seq', value: (r) => (r.chain === 'platform' ? `${r.seq} (platform)` : r.seq) },
  { header: 'time (utc)', value: (r) => r.ts },
  { header: 'action', value: (r) => r.action },
  { header: 'outcome', value: (r) => r.outcome },
  { header: 'actor', value: (r) => r.actorName, maxWidth: 48 },
  {
    header: 'target',
    value: (r) => (r.targetType ? `${r.targetType}:${r.targetId ?? ''}` : null),
    maxWidth: 48,
  },
  { header: 'ip', value: (r) => r.ip },
  { header: 'details', value: (r) => r.details, maxWidth: 50 },
];

const OUTCOMES = ['ok', 'denied', 'failed'] as const;
const POLL_MS = 2_000;

function parseLimit(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 200)
    throw new CliError('--limit must be an integer from 1 to 200');
  return n;
}

function parseTime(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined) return undefined;
  // Relative times are handy at a terminal: 15m, 2h, 7d ago.
  const rel = /^(\d+)([smhd])$/.exec(raw);
  if (rel) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(rel[1]) * unit).toISOString();
  }
  const t = new Date(raw);
  if (Number.isNaN(t.getTime()))
    throw new CliError(
      `--${name} must be an ISO time (2026-01-31T09:00:00Z) or a duration ago (15m, 2h, 7d)`,
    );
  return t.toISOString();
}

/** The filter options `tail` and `export` share. */
const FILTER_OPTIONS = {
  action: { type: 'string' },
  actor: { type: 'string' },
  target: { type: 'string' },
  outcome: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  platform: { type: 'boolean' },
} as const;

/** The row filters of FILTER_OPTIONS, checked (--outcome, times), as the audit procedures take them. */
function filtersOf(values: OptionValues) {
  const outcome = optString(values, 'outcome');
  if (outcome !== undefined && !OUTCOMES.includes(outcome as (typeof OUTCOMES)[number])) {
    throw new CliError(`--outcome must be one of ${OUTCOMES.join(', ')}`);
  }
  const since = parseTime(optString(values, 'since'), 'since');
  const until = parseTime(optString(values, 'until'), 'until');
  return {
    ...(optString(values, 'action') ? { action: optString(values, 'action') } : {}),
    ...(optString(values, 'actor') ? { actorId: optString(values, 'actor') } : {}),
    ...(optString(values, 'target') ? { targetId: optString(values, 'target') } : {}),
    ...(outcome ? { outcome: outcome as (typeof OUTCOMES)[number] } : {}),
    ...(since ? { from: since } : {}),
    ...(until ? { to: until } : {}),
  };
}

export const auditCommands: CommandGroup = {
  name: 'audit',
  summary: "read and verify the desk's tamper-evident audit log (desk admins)",
  commands: {
    tail: {
      summary: 'newest audit entries (oldest first), with filters; --follow keeps printing new ones',
      usage:
        '[--limit n] [--action a|prefix.] [--actor id] [--target id] [--outcome ok|denied|failed] [--since 2h] [--follow] [--members] [--platform]',
      options: {
        limit: { type: 'string', short: 'n' },
        ...FILTER_OPTIONS,
        follow: { type: 'boolean', short: 'f' },
        members: { type: 'boolean' },
      },
      async run(ctx, { values }) {
        const filters = filtersOf(values);
        const follow = optBool(values, 'follow');
        const client = ctx.client();
        // --platform: the platform chain (sign-ins, desks), platform administrators only.
        // Without it: the desk's chain; --members merges in the platform events that concern
        // the desk (its members' sign-ins and password changes, global halts), as the console does.
        const source = optBool(values, 'platform') ? client.audit.platformList : client.audit.list;
        const deskChainOnly = !optBool(values, 'platform') && !optBool(values, 'members');
        const page = await source.query({
          ...filters,
          ...(deskChainOnly ? { chain: 'desk' as const } : {}),
          limit: parseLimit(optString(values, 'limit'), 20),
        });
        const rows = [...page.items].reverse();
        if (!follow) {
          ctx.out.table(rows, columns);
          return ExitCode.OK;
        }
        // Follow: print what exists, then poll for rows newer than the last seq seen. With --json
        // each entry is one JSON line (NDJSON), so a program can read the stream line by line.
        const emit = (entries: AuditEntry[]) => {
          if (entries.length === 0) return;
          if (ctx.out.json) for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
          else ctx.out.table(entries, columns);
        };
        emit(rows);
        // sinceSeq follows one chain (the desk's; with --platform the platform's): remember its
        // newest seq, not that of a merged platform row.
        const ownChain = optBool(values, 'platform') ? 'platform' : 'desk';
        const head = await source.query({ limit: 1, chain: ownChain });
        let lastSeq = head.items[0]?.seq ?? 0;
        while (!ctx.interrupted.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            ctx.interrupted.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
          if (ctx.interrupted.aborted) break;
          const fresh = await source.query({ ...filters, sinceSeq: lastSeq, limit: 200 });
          const newest = [...fresh.items].reverse();
          emit(newest);
          if (newest.length > 0) lastSeq = newest[newest.length - 1]!.seq;
        }
        return ExitCode.OK;
      },
    },
    export: {
      summary: 'the filtered audit view as CSV (actor names, chain, seq, hash) to --out or standard output',
      usage:
        '[--action a|prefix.] [--actor id] [--target id] [--outcome ok|denied|failed] [--since 2h] [--until t] [--platform] [--out file.csv]',
      options: {
        ...FILTER_OPTIONS,
        out: { type: 'string', short: 'o' },
      },
      async run(ctx, { values }) {
        const filters = filtersOf(values);
        const api = ctx.client().audit;
        const file = await (optBool(values, 'platform') ? api.platformExport : api.export).query(filters);
        const out = optString(values, 'out');
        if (out) {
          writeFileSync(out, file.csv);
          ctx.warn(
            `wrote ${file.rows} rows to ${out}${file.truncated ? ' (truncated: narrow the filters)' : ''}`,
          );
        } else {
          process.stdout.write(file.csv);
          ctx.warn(`${file.rows} rows${file.truncated ? ' (truncated: narrow the filters)' : ''}`);
        }
        return ExitCode.OK;
      },
    },
    verify: {
      summary: "walk the desk's hash chain and report the first broken entry (exit 7 if broken)",
      usage: '[--anchor <seq>:<hash>] [--background] [--platform]',
      options: { anchor: { type: 'string' }, platform: { type: 'boolean' }, background: { type: 'boolean' } },
      async run(ctx, { values }) {
        const anchorRaw = optString(values, 'anchor');
        let anchor: { seq: number; hash: string } | undefined;
        if (anchorRaw !== undefined) {
          const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(anchorRaw);
          if (!m) throw new CliError('--anchor must be <seq>:<64 hex hash>, as printed by an earlier verify');
          anchor = { seq: Number(m[1]), hash: m[2]! };
        }
        const api = ctx.client().audit;
        const platform = optBool(values, 'platform');
        let result: Awaited<ReturnType<typeof api.verify.query>>;
        if (optBool(values, 'background')) {
          // Long chains: the server walks the chain in the background; progress goes to stderr.
          const start = platform ? api.platformVerifyStart : api.verifyStart;
          const progress = platform ? api.platformVerifyProgress : api.verifyProgress;
          const { jobId } = await start.mutate(anchor ? { anchor } : {});
          let job = await progress.query({ jobId });
          while (job.status === 'running' && !ctx.interrupted.aborted) {
            ctx.warn(`verifying: ${job.checked} of ${job.total} rows`);
            await new Promise((r) => setTimeout(r, 1_000));
            job = await progress.query({ jobId });
          }
          if (!job.result) {
            throw new CliError(`audit verify job ${jobId} ${job.status}${job.error ? `: ${job.error}` : ''}`);
          }
          result = { ...job.result, tenantId: job.tenantId };
        } else {
          const verify = platform ? api.platformVerify : api.verify;
          result = await verify.query(anchor ? { anchor } : {});
        }
        if (result.ok) {
          ctx.out.record(
            { status: 'intact', entries: result.rows, head: `${result.head.seq}:${result.head.hash}` },
            result,
          );
          ctx.out.note(
            'Keep the head (seq:hash) somewhere write-once; pass it as --anchor later to detect a truncated tail.',
          );
          return ExitCode.OK;
        }
        ctx.out.record(
          {
            status: 'BROKEN',
            'verified entries': result.rows,
            'first broken seq': result.brokenAtSeq,
            reason: result.reason,
          },
          result,
        );
        ctx.warn(`aegis: audit chain broken at seq ${result.brokenAtSeq} (${result.reason})`);
        return ExitCode.INTEGRITY;
      },
    },
  },
};
