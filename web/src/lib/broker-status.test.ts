import { describe, expect, test } from 'vitest';
import { connectionName, linkErrorMessage, recoveryAction } from './broker-status.ts';

describe('broker status wording', () => {
  test('only needs_relink and reauth_required offer a recovery action', () => {
    expect(recoveryAction('needs_relink')).toBe('Relink');
    expect(recoveryAction('reauth_required')).toBe('Re-authenticate');
    expect(recoveryAction('active')).toBeNull();
    expect(recoveryAction('revoked')).toBeNull();
    expect(recoveryAction('error')).toBeNull();
  });

  test('a known link error is explained, an unknown one is named and cut short', () => {
    expect(linkErrorMessage('access_denied')).toMatch(/cancelled or access was refused/);
    expect(linkErrorMessage('foreign_state')).toMatch(/started by another session/);
    expect(linkErrorMessage('no_session')).toMatch(/^Your console session was not found/);
    expect(linkErrorMessage('weird_code')).toBe(
      'Linking failed (weird_code). Nothing was linked; start the link again.',
    );
    expect(linkErrorMessage('x'.repeat(300))).toContain(`(${'x'.repeat(64)})`);
  });

  test('a code named like an Object.prototype member is not looked up as one', () => {
    expect(linkErrorMessage('constructor')).toMatch(/^Linking failed \(constructor\)/);
  });

  test('a connection is named by its provider, with its label when it has its own', () => {
    expect(connectionName({ providerName: 'Alpaca', label: 'Alpaca' })).toBe('Alpaca');
    expect(connectionName({ providerName: 'Alpaca', label: '' })).toBe('Alpaca');
    expect(connectionName({ providerName: 'Coinbase', label: 'Treasury' })).toBe('Coinbase · Treasury');
  });
});
