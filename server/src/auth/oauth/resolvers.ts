import { withTenant } from '@aegis/shared/db/client';
import type { ConnectionResolvers } from '../../execution/types.ts';
import { credentialSourceFor } from './credentials.ts';
import type { OAuthDeps } from './link-service.ts';
import { endpointsFor } from './providers.ts';

/** What the execution dispatcher builds a linked connection's adapter from (brokers/factory.ts). */
export function oauthConnectionResolvers(deps: OAuthDeps): ConnectionResolvers {
  return {
    credentialsFor: (row) => credentialSourceFor(deps, row),
    endpointsFor: (row) => withTenant(deps.db, row.tenantId, (tx) => endpointsFor(deps.config, tx, row)),
  };
}
