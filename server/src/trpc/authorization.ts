import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { audit } from '../audit/service.ts';
import {
  authorize,
  isPermission,
  PERMISSIONS,
  type Permission,
  type PermissionRule,
  type Role,
} from '../auth/permissions.ts';
import type { Principal } from '../auth/principal.ts';
import { principalTenantId } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { withTenant } from '../db/database.ts';
import { type ProcedureMeta, t } from './init.ts';

/**
 * Authorization against the permission matrix (auth/permissions.ts): each procedure's declared
 * rule is checked against the matrix (misdeclared ⇒ fail closed), then the caller's role,
 * scopes and re-entry; every denial is audited.
 */

/** The matrix rule for a procedure, checking its declaration. Misdeclared ⇒ fail closed. */
export function ruleFor(
  meta: ProcedureMeta | undefined,
  path: string,
  expected: 'desk' | 'not-desk',
): PermissionRule & { keysSkipReauth: boolean } {
  if (!meta || !isPermission(meta.permission)) {
    throw new AppError('INTERNAL', `procedure ${path} declares no permission`);
  }
  const rule = PERMISSIONS[meta.permission];
  if (meta.scope !== rule.scope) {
    throw new AppError(
      'INTERNAL',
      `procedure ${path} declares scope ${meta.scope}, matrix says ${rule.scope}`,
    );
  }
  if ((rule.level === 'desk') !== (expected === 'desk')) {
    throw new AppError(
      'INTERNAL',
      `procedure ${path}: permission ${meta.permission} needs a ${rule.level} procedure`,
    );
  }
  return {
    ...rule,
    humanOnly: rule.humanOnly || meta.humanOnly === true || meta.reauth === true,
    reauth: rule.reauth || meta.reauth === true || meta.reauth === 'session',
    // Only the meta's 'session' mode exempts keys; a matrix rule's reauth never does.
    keysSkipReauth: !rule.reauth && meta.reauth === 'session',
  };
}

const DENIAL_MESSAGES: Record<string, string> = {
  not_a_member: 'You have no role on this desk',
  role: 'Your role does not allow this action',
  scope: 'This API key lacks the scope for this action',
  human_only: 'This action needs a signed-in person, not an API key',
  reauth_required: 'Re-enter your password to continue',
  platform_admin_required: 'Platform administrators only',
};

/** A refused authorization; carries who was refused where (for the audit row, never sent). */
export class AccessDenied extends AppError {
  readonly actor: { type: 'user' | 'api_key'; id: string };
  readonly tenantId: TenantId | null;
  constructor(reason: string, permission: string, principal: Principal, tenantId: TenantId | null) {
    // A key without the scope is told which scope the action needs (a script's author fixes the
    // key, not the code); the details carry it for programs.
    const scope = reason === 'scope' && isPermission(permission) ? PERMISSIONS[permission].scope : null;
    super(
      'FORBIDDEN',
      scope
        ? `This API key lacks the '${scope}' scope this action needs (${permission}); create a key with --scope ${scope}`
        : (DENIAL_MESSAGES[reason] ?? 'Forbidden'),
      scope ? { reason, permission, scope } : { reason, permission },
    );
    this.actor =
      principal.kind === 'api_key'
        ? { type: 'api_key', id: principal.apiKey.id }
        : { type: 'user', id: principal.user.id };
    this.tenantId = tenantId;
  }
}

function deny(ctx: Context, path: string, permission: string, reason: string): never {
  ctx.log.warn({ path, permission, reason }, 'access denied');
  const principal = requirePrincipal(ctx);
  throw new AccessDenied(reason, permission, principal, principalTenantId(principal));
}

/** Denials are security-relevant: one audit row each, in its own transaction (the request's rolls back). */
export async function recordDenial(ctx: Context, path: string, denial: AccessDenied): Promise<void> {
  try {
    const event = {
      action: 'access.denied',
      actor: denial.actor,
      outcome: 'denied',
      tenantId: denial.tenantId,
      requestId: ctx.requestId,
      ip: ctx.ip,
      targetType: 'procedure',
      targetId: path,
      details: String(denial.details?.reason ?? ''),
    } as const;
    // A desk's denials join the desk's chain (RLS wants its tenant setting for the insert).
    if (denial.tenantId) await withTenant(ctx.db, denial.tenantId, (tx) => audit.record(tx, event));
    else await audit.record(ctx.db, event);
  } catch (err) {
    ctx.log.error({ err, path }, 'audit of access denial failed');
  }
}

function subjectOf(principal: Principal, role: Role | null) {
  return {
    kind: principal.kind,
    isPlatformAdmin: principal.user.isPlatformAdmin,
    role,
    scopes: principal.kind === 'api_key' ? principal.apiKey.scopes : [],
    reauthenticatedAt: principal.kind === 'session' ? principal.session.reauthenticatedAt : null,
  } as const;
}

export function requirePrincipal(ctx: Context): Principal {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return ctx.principal;
}

export function checkRule(
  ctx: Context,
  path: string,
  rule: PermissionRule & { keysSkipReauth?: boolean },
  permission: string,
  role: Role | null,
) {
  const principal = requirePrincipal(ctx);
  // A one-time password must be replaced before anything but the own-account actions.
  if (principal.user.mustChangePassword && rule.level !== 'self') {
    throw new AppError('PRECONDITION_FAILED', 'Change your password first', {
      reason: 'password_change_required',
    });
  }
  const denial = authorize(
    permission as Permission,
    subjectOf(principal, role),
    new Date(),
    ctx.config.session.reauthWindowMs,
  );
  // Meta can only add strictness: re-check its extra flags.
  if (denial) deny(ctx, path, permission, denial);
  if (rule.humanOnly && principal.kind !== 'session') deny(ctx, path, permission, 'human_only');
  if (rule.reauth && !(rule.keysSkipReauth && principal.kind === 'api_key')) {
    const at = principal.kind === 'session' ? principal.session.reauthenticatedAt : null;
    if (!at || Date.now() - at.getTime() > ctx.config.session.reauthWindowMs) {
      deny(ctx, path, permission, 'reauth_required');
    }
  }
}

/** Self and platform actions: no desk, no tenant transaction. */
export const authorizeAccount = t.middleware(({ ctx, meta, path, next }) => {
  const rule = ruleFor(meta, path, 'not-desk');
  checkRule(ctx, path, rule, meta!.permission, null);
  return next();
});
