import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optBool, optString } from '../../lib/command.ts';

type Halt = Awaited<ReturnType<AegisClient['halt']['status']['query']>>;

const show = (h: Halt) => ({
  halted: h.halted,
  'global switch': h.global.engaged
    ? `ENGAGED since ${h.global.engagedAt ?? '?'} (${h.global.reason ?? ''})`
    : 'released',
  'desk switch': h.desk.engaged
    ? `ENGAGED since ${h.desk.engagedAt ?? '?'} (${h.desk.reason ?? ''})`
    : 'released',
});

/**
 * The halt. `halt on` works with an API key that has the `trade` scope (the safe
 * direction: a script must be able to stop trading; the audit names the key). `halt off` needs a
 * person who re-entered the password recently, so the server refuses it for API keys.
 */
export const haltCommands: CommandGroup = {
  name: 'halt',
  summary: 'halt: halt the desk (or, platform admins, everything), release it, show it',
  commands: {
    status: {
      summary: 'whether new orders are halted (global and desk switch)',
      async run(ctx) {
        const h = await ctx.client().halt.status.query();
        ctx.out.record(show(h), h);
        return ExitCode.OK;
      },
    },
    on: {
      summary: 'engage: deny new orders, cancel every working order; only risk-reducing orders pass',
      usage: '--reason <text> [--global]',
      options: { reason: { type: 'string' }, global: { type: 'boolean' } },
      async run(ctx, { values }) {
        const reason = optString(values, 'reason');
        if (!reason)
          throw new CliError('halt on: --reason is required (it goes into the audit log)', ExitCode.USAGE);
        const r = await ctx
          .client()
          .halt.engage.mutate({ scope: optBool(values, 'global') ? 'global' : 'desk', reason });
        ctx.out.record({ ...show(r.state), 'cancels sent': r.cancelsQueued }, r);
        return ExitCode.OK;
      },
    },
    off: {
      summary: 'release the desk switch (or --global); a desk release never lifts the global halt',
      usage: '[--global]',
      options: { global: { type: 'boolean' } },
      async run(ctx, { values }) {
        const h = await ctx
          .client()
          .halt.release.mutate({ scope: optBool(values, 'global') ? 'global' : 'desk' });
        ctx.out.record(show(h), h);
        if (h.halted) ctx.warn('still halted: the other switch is engaged');
        return ExitCode.OK;
      },
    },
  },
};
