import { describe, expect, it } from 'vitest';
import { addressAllowed, checkTargetUrl, guardedLookup, isTargetRefused } from './target-guard.ts';

const PROD = { allowLocalhost: false, allowPrivateAddresses: false };
const DEV = { allowLocalhost: true, allowPrivateAddresses: false };

describe('webhook target guard', () => {
  it('accepts https to public hosts and refuses everything else in production', () => {
    expect(checkTargetUrl('https://hooks.slack.com/services/T/B/x', PROD).hostname).toBe('hooks.slack.com');
    for (const url of [
      'http://hooks.example.com/x',
      'ftp://example.com/x',
      'https://user:pw@example.com/x',
      'https://localhost/x',
      'http://127.0.0.1:8080/x',
      'https://127.0.0.1/x',
      'https://10.0.0.8/x',
      'https://172.20.1.1/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/x',
      'https://0.0.0.0/x',
      'https://[::1]/x',
      'https://[fd12::1]/x',
      'https://[fe80::1]/x',
      'https://[::ffff:10.0.0.1]/x',
      'not a url',
    ])
      expect(isTargetRefused(thrown(() => checkTargetUrl(url, PROD))), url).toBe(true);
  });

  it('allows http to loopback only when configured, and still no other private address', () => {
    expect(checkTargetUrl('http://127.0.0.1:9999/hook', DEV).port).toBe('9999');
    expect(checkTargetUrl('http://localhost:9999/hook', DEV).hostname).toBe('localhost');
    expect(isTargetRefused(thrown(() => checkTargetUrl('http://10.0.0.1/hook', DEV)))).toBe(true);
    expect(isTargetRefused(thrown(() => checkTargetUrl('http://example.com/hook', DEV)))).toBe(true);
    // A loopback host name must resolve to loopback; a public name may not resolve to loopback.
    expect(addressAllowed('127.0.0.1', true, DEV)).toBe(true);
    expect(addressAllowed('10.0.0.1', true, DEV)).toBe(false);
    expect(addressAllowed('127.0.0.1', false, DEV)).toBe(false);
    expect(addressAllowed('93.184.215.14', false, PROD)).toBe(true);
    expect(addressAllowed('2606:4700::1111', false, PROD)).toBe(true);
    expect(addressAllowed('::ffff:192.168.0.1', false, PROD)).toBe(false);
    expect(addressAllowed('::ffff:a00:1', false, PROD)).toBe(false);
    expect(addressAllowed('::ffff:5db8:d70e', false, PROD)).toBe(true);
  });

  it('refuses at connect time a name that resolves to a private address', async () => {
    const lookup = guardedLookup(PROD, false);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(isTargetRefused(err)).toBe(true);
  });
});

/** What `f` throws (undefined when it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}
