import type { BrokerConnectionStatus } from '@aegis/shared/schemas/broker';

/**
 * How the console words a linked connection's state and a failed OAuth link. Pure, so the
 * brokers page, the overview panel and the account selectors say the same thing.
 */
export const STATUS_LABEL: Record<BrokerConnectionStatus, string> = {
  active: 'active',
  needs_relink: 'needs relink',
  reauth_required: 'sign-in required',
  revoked: 'revoked',
  error: 'error',
};

export const STATUS_TONE: Record<BrokerConnectionStatus, string> = {
  active: 'tag-ok',
  needs_relink: 'tag-warn',
  reauth_required: 'tag-warn',
  revoked: '',
  error: 'tag-bad',
};

/**
 * The action that brings a connection back, if a person can take one: `needs_relink` (the
 * broker refused our tokens: link again, same connection) or `reauth_required` (the broker
 * wants its user to sign in again).
 */
export function recoveryAction(status: BrokerConnectionStatus): 'Relink' | 'Re-authenticate' | null {
  if (status === 'needs_relink') return 'Relink';
  if (status === 'reauth_required') return 'Re-authenticate';
  return null;
}

/**
 * `/brokers?link_error=<code>`: the OAuth callback's reason, in words. The code comes from the
 * URL (anyone can craft one), so it is only ever looked up or shown as text.
 */
const START_AGAIN = 'Start the link again from this page.';
const LINK_ERRORS: Record<string, string> = {
  // The server's refusals (server/src/auth/oauth/link-service.ts LinkErrorCode).
  no_session: `Your console session was not found when the broker sent you back (signed out, or another browser). Sign in and ${START_AGAIN.toLowerCase()}`,
  missing_state: `The broker sent you back without the link's state. ${START_AGAIN}`,
  unknown_state: `This link attempt is unknown to the server. ${START_AGAIN}`,
  foreign_state: `This link was started by another session or person. ${START_AGAIN}`,
  expired_state: `The link attempt expired (10 minutes) before the broker sent you back. ${START_AGAIN}`,
  reused_state: `This link attempt was already used. ${START_AGAIN}`,
  provider_mismatch: `The broker that answered is not the one this link was started for. ${START_AGAIN}`,
  issuer_mismatch: `The authorization server that answered is not the broker's (issuer mismatch). Nothing was linked. ${START_AGAIN}`,
  missing_code: `The broker sent you back without an authorization code. ${START_AGAIN}`,
  access_denied: 'The broker sign-in was cancelled or access was refused. Nothing was linked.',
  provider_error: `The broker reported an error during sign-in. ${START_AGAIN}`,
  token_exchange_failed: `The broker refused to exchange the authorization code for tokens. ${START_AGAIN}`,
  account_unreadable: 'Tokens were issued, but the broker account could not be read. Try again later.',
};

export function linkErrorMessage(code: string): string {
  if (Object.hasOwn(LINK_ERRORS, code)) return LINK_ERRORS[code]!;
  return `Linking failed (${code.slice(0, 64)}). Nothing was linked; start the link again.`;
}

/** "Alpaca · Treasury", or just "Alpaca" when the label is the provider's name (the default). */
export function connectionName(c: { providerName: string; label: string }): string {
  return c.label && c.label !== c.providerName ? `${c.providerName} · ${c.label}` : c.providerName;
}
