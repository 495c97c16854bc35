import type { API_KEY_SCOPES, ROLES } from '@aegis/shared/db';

/**
 * The permission matrix: every action a procedure can perform, who may perform it, and how.
 * This module is the only place that answers "may this principal do that?"; procedures name an
 * action in their `meta.permission` and the authorization middleware (trpc.ts) asks here.
 *
 *   level     where the action applies:
 *             'self'      the caller's own account/session (no desk needed)
 *             'desk'      inside one desk (tenant); the caller's role on that desk decides
 *             'platform'  platform administration (users.is_platform_admin)
 *   roles     desk roles allowed (level 'desk' only)
 *   scope     the API-key scope a key needs (keys carry explicit scopes; sessions have none)
 *   humanOnly never through an API key, only a human session
 *   reauth    the session re-entered its password within REAUTH_WINDOW_MINUTES
 */
export type Role = (typeof ROLES)[number];
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export type PermissionLevel = 'self' | 'desk' | 'platform';

export interface PermissionRule {
  readonly level: PermissionLevel;
  readonly roles: readonly Role[];
  readonly scope: ApiKeyScope;
  readonly humanOnly: boolean;
  readonly reauth: boolean;
  readonly description: string;
}

const ALL: readonly Role[] = ['admin', 'trader', 'viewer'];
const TRADERS: readonly Role[] = ['admin', 'trader'];
const ADMINS: readonly Role[] = ['admin'];

function rule(
  level: PermissionLevel,
  roles: readonly Role[],
  scope: ApiKeyScope,
  description: string,
  flags: { humanOnly?: boolean; reauth?: boolean } = {},
): PermissionRule {
  // Re-authentication is a property of a human session, so it implies humanOnly.
  const reauth = flags.reauth ?? false;
  return Object.freeze({
    level,
    roles,
    scope,
    description,
    humanOnly: reauth || (flags.humanOnly ?? false),
    reauth,
  });
}

export const PERMISSIONS = Object.freeze({
  // Own account and session.
  'session.read': rule('self', ALL, 'read', 'who am I, my desks'),
  'session.manage': rule('self', ALL, 'read', 'log out, switch desk', { humanOnly: true }),
  'session.reauthenticate': rule('self', ALL, 'read', 're-enter password', { humanOnly: true }),
  'password.change': rule('self', ALL, 'admin', 'change own password', { humanOnly: true }),

  // Platform administration.
  'desks.create': rule('platform', [], 'admin', 'create a desk (creator becomes its admin)'),
  'users.disable': rule('platform', [], 'admin', 'disable a user everywhere, end their sessions and keys'),
  'users.find': rule('platform', [], 'admin', 'find users by email across desks: desks, roles, last sign-in'),
  'audit.platform': rule(
    'platform',
    [],
    'admin',
    'read and verify the platform audit chain (sign-ins, desks)',
  ),
  // Instruments are reference data every desk shares: a desk admin's edit would change every
  // other desk's orders, so only platform administrators edit them.
  'instruments.manage': rule('platform', [], 'admin', 'create, edit, halt and load instruments'),

  // Inside a desk.
  'desk.read': rule('desk', ALL, 'read', 'read signals, proposals, orders, fills, positions, equity'),
  'users.list': rule('desk', ADMINS, 'admin', "list the desk's members"),
  'users.create': rule('desk', ADMINS, 'admin', 'create a user with a role on the desk'),
  'users.setRole': rule('desk', ADMINS, 'admin', 'grant, change or revoke a role on the desk'),
  'keys.read': rule('desk', ALL, 'read', 'list API keys (own; admins: all of the desk)'),
  'keys.create': rule('desk', ALL, 'admin', 'create an API key (scopes bounded by own role)'),
  'keys.revoke': rule('desk', ALL, 'admin', 'revoke an API key (own; admins: any of the desk)'),
  'orderflow.ingest': rule('desk', TRADERS, 'trade', 'ingest order-flow events'),
  'signals.decide': rule('desk', TRADERS, 'trade', 'accept, reject or annotate a signal'),
  'trades.record': rule('desk', TRADERS, 'trade', 'record the outcome of a closed trade'),
  'proposals.create': rule('desk', TRADERS, 'trade', 'propose a trade'),
  'proposals.approve': rule('desk', TRADERS, 'trade', 'approve a proposal', { reauth: true }),
  'proposals.reject': rule('desk', TRADERS, 'trade', 'reject a proposal'),
  'orders.place': rule('desk', TRADERS, 'trade', 'place an order'),
  'orders.cancel': rule('desk', TRADERS, 'trade', 'cancel an order'),
  'halt.engage': rule('desk', TRADERS, 'trade', 'halt trading (the safe direction)'),
  'halt.release': rule('desk', ADMINS, 'admin', 'resume trading after a halt', { reauth: true }),
  'risk.update': rule('desk', ADMINS, 'admin', 'change risk limits', { reauth: true }),
  'agent.configure': rule('desk', ADMINS, 'admin', 'change decision-agent settings'),
  'desk.setMode': rule('desk', ADMINS, 'admin', 'switch confirmation/autonomous mode', { reauth: true }),
  'brokers.link': rule('desk', ADMINS, 'admin', 'link a broker account or configure an OAuth broker', {
    reauth: true,
  }),
  'brokers.manage': rule('desk', ADMINS, 'admin', 'unlink a broker account', { humanOnly: true }),
  'brokers.sync': rule('desk', ALL, 'read', "read a linked account's balances from its broker"),
  'backtests.run': rule('desk', TRADERS, 'trade', 'run a backtest'),
  'audit.read': rule('desk', ADMINS, 'admin', 'read and verify the audit log'),
  'watchlists.manage': rule('desk', ALL, 'read', 'create, edit and remove own watchlists'),
  'options.recommend': rule('desk', ALL, 'read', 'ask for option recommendations and save own presets'),
  'hedging.manage': rule('desk', ADMINS, 'admin', 'configure the delta-neutral hedger'),
  'alerts.manage': rule(
    'desk',
    ADMINS,
    'admin',
    'configure alert webhooks and thresholds, read delivery logs',
  ),
} satisfies Record<string, PermissionRule>);

export type Permission = keyof typeof PERMISSIONS;

export const isPermission = (value: unknown): value is Permission =>
  typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);

/** Key scopes a role may grant to a key it creates: never more than the role itself can use. */
export const GRANTABLE_SCOPES: Readonly<Record<Role, readonly ApiKeyScope[]>> = Object.freeze({
  admin: ['read', 'trade', 'admin'],
  trader: ['read', 'trade', 'admin'],
  viewer: ['read', 'admin'],
});
// Why traders and viewers may hold 'admin' scope: 'admin' scope is what key management and
// password-level self actions need; the role still bounds what the key can do (a viewer's key
// with 'admin' scope can manage the viewer's own keys, never users or risk limits).

export type AuthorizationDenial =
  | 'not_a_member'
  | 'role'
  | 'scope'
  | 'human_only'
  | 'reauth_required'
  | 'platform_admin_required';

export interface AuthorizationSubject {
  readonly kind: 'session' | 'api_key';
  readonly isPlatformAdmin: boolean;
  /** Role on the desk the request acts on (level 'desk'), null when not a member. */
  readonly role: Role | null;
  /** API key scopes (kind 'api_key'). */
  readonly scopes: readonly ApiKeyScope[];
  /** When the session last re-entered its password (kind 'session'). */
  readonly reauthenticatedAt: Date | null;
}

/** Pure decision: null when allowed, else the reason. */
export function authorize(
  permission: Permission,
  subject: AuthorizationSubject,
  now: Date,
  reauthWindowMs: number,
): AuthorizationDenial | null {
  const r: PermissionRule = PERMISSIONS[permission];
  if (r.humanOnly && subject.kind !== 'session') return 'human_only';
  if (subject.kind === 'api_key' && !subject.scopes.includes(r.scope)) return 'scope';
  if (r.level === 'platform' && !subject.isPlatformAdmin) return 'platform_admin_required';
  if (r.level === 'desk') {
    if (subject.role === null) return 'not_a_member';
    if (!r.roles.includes(subject.role)) return 'role';
  }
  if (r.reauth) {
    const at = subject.reauthenticatedAt;
    if (!at || now.getTime() - at.getTime() > reauthWindowMs || at.getTime() > now.getTime() + 60_000) {
      return 'reauth_required';
    }
  }
  return null;
}

/** The matrix as a Markdown table (README, issue notes, a test prints it). */
export function formatPermissionMatrix(): string {
  const lines = [
    '| action | level | admin | trader | viewer | key scope | human only | reauth |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, r] of Object.entries(PERMISSIONS) as [Permission, PermissionRule][]) {
    const cell = (role: Role) =>
      r.level === 'desk'
        ? r.roles.includes(role)
          ? 'yes'
          : '—'
        : r.level === 'self'
          ? 'yes'
          : 'platform admin';
    lines.push(
      `| ${name} | ${r.level} | ${cell('admin')} | ${cell('trader')} | ${cell('viewer')} | ${r.humanOnly ? 'never' : r.scope} | ${r.humanOnly ? 'yes' : ''} | ${r.reauth ? 'yes' : ''} |`,
    );
  }
  return lines.join('\n');
}
