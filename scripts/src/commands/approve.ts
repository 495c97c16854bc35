import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import { withPersonSession } from '../../lib/person-session.ts';

/**
 * `aegis approve <proposal-id> --email you@desk`: approvals are for people, never API keys. The
 * CLI signs in with the password (read without echo, or from stdin when piped), confirms it
 * again as the approval's re-authentication, approves, and signs out: the session lives only
 * for this command.
 */
export const approveCommand: CommandGroup = {
  name: 'approve',
  summary: 'approve a proposal as yourself (password sign-in; executes the order)',
  commands: {
    '': {
      summary: 'sign in, re-authenticate, approve the proposal, sign out',
      usage: '<proposal-id> --email <you@desk> [--desk <desk-id>] [--reason "…"]',
      positionals: ['proposal-id'],
      options: { email: { type: 'string' }, desk: { type: 'string' }, reason: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const proposalId = positionals[0];
        if (!proposalId || !/^[0-9a-f-]{36}$/i.test(proposalId))
          throw new CliError('approve: a proposal id is required');
        const reason = optString(values, 'reason');
        const who = { email: optString(values, 'email'), desk: optString(values, 'desk') };
        return withPersonSession(ctx, 'approve', who, async (session) => {
          const res = await session.approvals.approve.mutate({ proposalId, ...(reason ? { reason } : {}) });
          ctx.out.record(
            {
              proposal: res.proposal.id,
              status: res.proposal.status,
              trade: `${res.proposal.side} ${res.proposal.quantity} ${res.proposal.instrument}`,
              order: res.order?.id ?? null,
              orderStatus: res.order?.status ?? null,
            },
            res,
          );
          return ExitCode.OK;
        });
      },
    },
  },
};
