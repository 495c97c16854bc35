import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logging.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

describe('logger redaction', () => {
  const token = 'tok_5b2a9f1e7c3d4e8fa0b1c2d3e4f5a6b7';

  it('never writes a token, password, cookie, authorization header or key passed to a log call', () => {
    const { lines, stream } = capture();
    const log = createLogger({ name: 't', level: 'info' }, stream);
    log.info({ token, password: token, apiKey: token, user: { password: token, token } }, 'login');
    log.info({ req: { headers: { authorization: `Bearer ${token}`, cookie: `s=${token}` } } }, 'req');
    log.info(
      { headers: { authorization: `Bearer ${token}` }, body: { refreshToken: token, key: token } },
      'x',
    );
    const child = log.child({ requestId: 'r1', tenantId: 't1' });
    child.warn({ secret: token, clientSecret: token, codeVerifier: token }, 'oauth');
    const out = lines.join('');
    expect(lines.length).toBe(4);
    expect(out).not.toContain(token);
    expect(out).toContain('[redacted]');
    // Child loggers keep their bindings.
    expect(JSON.parse(lines[3] ?? '{}')).toMatchObject({ requestId: 'r1', tenantId: 't1', level: 'warn' });
  });

  it('keeps non-secret fields intact', () => {
    const { lines, stream } = capture();
    const log = createLogger({ name: 't' }, stream);
    log.info({ userId: 'u1', symbol: 'BTC-USD' }, 'hello');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      userId: 'u1',
      symbol: 'BTC-USD',
      msg: 'hello',
      name: 't',
    });
  });
});
