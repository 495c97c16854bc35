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
const LINK_ERRORS: Record<string, string> = {
  access_denied: 'The broker sign-in was cancelled or access was refused. Nothing was linked.',
  consent_denied: 'The broker sign-in was cancelled or access was refused. Nothing was linked.',
  invalid_state: 'This link attempt is unknown, expired or was already used. Start the link again.',
  unknown_state: 'This link attempt is unknown, expired or was already used. Start the link again.',
  state_mismatch: 'This link attempt is unknown, expired or was already used. Start the link again.',
  expired: 'The link attempt expired before the broker sent you back. Start the link again.',
  transaction_expired: 'The link attempt expired before the broker sent you back. Start the link again.',
  session_mismatch:
    'The broker sent back a link started by another session. Sign in as the person who started it and try again.',
  not_signed_in: 'Your session ended while you were at the broker. Sign in and start the link again.',
  unauthenticated: 'Your session ended while you were at the broker. Sign in and start the link again.',
  invalid_request: 'The broker answered with an incomplete or malformed response. Start the link again.',
  missing_code: 'The broker answered without an authorization code. Start the link again.',
  token_exchange_failed:
    'The broker refused to exchange the authorization code for tokens. Check the provider configuration and try again.',
  invalid_grant: 'The broker refused the authorization code (expired or already used). Start the link again.',
  account_fetch_failed: 'Tokens were issued, but the broker account could not be read. Try again later.',
  account_mismatch:
    'The broker account signed in is not the one being relinked. Sign in with the same account.',
  provider_unavailable: 'The broker could not be reached. Try again later.',
  temporarily_unavailable: 'The broker is temporarily unavailable. Try again later.',
  server_error: 'The broker reported an error while signing in. Try again later.',
};

export function linkErrorMessage(code: string): string {
  if (Object.hasOwn(LINK_ERRORS, code)) return LINK_ERRORS[code]!;
  return `Linking failed (${code.slice(0, 64)}). Nothing was linked; start the link again.`;
}
