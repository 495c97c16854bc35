import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';

/**
 * One HTTP request must not carry many password guesses: a tRPC batch containing a procedure
 * that verifies a password (meta `verifiesPassword`: auth.login, auth.reauthenticate,
 * auth.changePassword) is refused whole, before its context is made and before any call in it
 * runs. The throttle would bound such a batch anyway (each call counts first); refusing it keeps
 * the answer plain ("send it on its own") instead of a batch of 429s.
 */
export function passwordProcedurePaths(router: AnyRouter): ReadonlySet<string> {
  const procedures = router._def.procedures as Record<
    string,
    { _def: { meta?: { verifiesPassword?: boolean } } }
  >;
  return new Set(
    Object.entries(procedures)
      .filter(([, p]) => p._def.meta?.verifiesPassword === true)
      .map(([path]) => path),
  );
}

/** Throws BAD_REQUEST naming the procedure when a batch contains one of `paths`. */
export function refusePasswordBatch(info: TRPCRequestInfo, paths: ReadonlySet<string>): void {
  if (!info.isBatchCall || info.calls.length < 2) return;
  const found = info.calls.find((c) => paths.has(c.path));
  if (found) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `${found.path} cannot be batched: send it as a request of its own`,
    });
  }
}
