import type { CommandGroup } from '../../lib/command.ts';

export const whoamiCommand: CommandGroup = {
  name: 'whoami',
  summary: 'who the API key belongs to, its desk and scopes',
  commands: {
    '': {
      summary: 'show the user, desk, role and scopes behind AEGIS_API_KEY',
      async run(ctx) {
        const me = await ctx.client().auth.me.query();
        ctx.out.record(
          {
            user: `${me.user.displayName} <${me.user.email}>`,
            'user id': me.user.id,
            'platform admin': me.user.isPlatformAdmin ? 'yes' : 'no',
            via: me.kind === 'api_key' ? 'API key' : 'session',
            desk: me.activeDesk ? `${me.activeDesk.name} (${me.activeDesk.slug})` : null,
            'desk id': me.activeDesk?.id ?? null,
            role: me.activeDesk?.role ?? null,
            scopes: me.scopes ?? null,
            server: ctx.config.url,
          },
          me,
        );
        return undefined;
      },
    },
  },
};
