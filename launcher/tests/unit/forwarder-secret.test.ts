import { createHash } from 'node:crypto';
import { loadServerConfig } from '@aegis/server/env';
import { describe, expect, it } from 'vitest';
import { appEnvironment, newForwarderSecret } from '../../src/start/env.ts';

/** `npm start` wiring of the console forwarder's per-start secret (launcher/src/start.ts). */
describe('forwarder secret', () => {
  it('is fresh for every start and long enough for the server to accept', () => {
    const a = newForwarderSecret();
    const b = newForwarderSecret();
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(43);
  });

  it('overrides whatever the caller’s environment says, and the server takes it', () => {
    const secret = newForwarderSecret();
    const env = appEnvironment({
      FORWARDER_SECRET: secret,
      DATABASE_URL: 'postgres://aegis_app@127.0.0.1:5432/aegis',
    });
    expect(env.FORWARDER_SECRET).toBe(secret);
    const config = loadServerConfig(env);
    expect(config.forwarderSecretDigest?.equals(createHash('sha256').update(secret).digest())).toBe(true);
  });
});
