import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild } from './logging.ts';

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

describe('lazy child loggers', () => {
  const token = 'tok_5b2a9f1e7c3d4e8fa0b1c2d3e4f5a6b7';
  const withoutTime = (line: string | undefined) => {
    const { time: _time, ...rest } = JSON.parse(line ?? '{}') as Record<string, unknown>;
    return rest;
  };

  it('write exactly what pino children write: bindings in order, redaction, levels', () => {
    const eager = capture();
    const lazy = capture();
    const a = createLogger({ name: 't', level: 'info' }, eager.stream);
    const b = createLogger({ name: 't', level: 'info' }, lazy.stream);
    const write = (log: ReturnType<typeof createLogger>) => {
      log.debug({ x: 1 }, 'below the level');
      log.warn({ token, nested: { password: token }, symbol: 'BTC-USD' }, 'refused');
      log.child({ component: 'deep' }, { level: 'debug' }).debug('own level');
      log.info('plain');
    };
    write(a.child({ requestId: 'r1' }).child({ userId: 'u1', tenantId: 't1' }));
    write(lazyChild(lazyChild(b, { requestId: 'r1' }), { userId: 'u1', tenantId: 't1' }));
    expect(lazy.lines.length).toBe(3);
    expect(lazy.lines.map(withoutTime)).toEqual(eager.lines.map(withoutTime));
    expect(lazy.lines.join('')).not.toContain(token);
    expect(Object.keys(withoutTime(lazy.lines[0]))).toEqual(Object.keys(withoutTime(eager.lines[0])));
  });

  it('make no pino child until a line is written at an enabled level', () => {
    const { lines, stream } = capture();
    const made: Record<string, unknown>[] = [];
    // pino's own hook, called for every child it makes (children inherit it).
    const log = pino({ level: 'info', onChild: (c) => made.push(c.bindings()) }, stream);
    const request = lazyChild(lazyChild(log, { requestId: 'r2' }), { userId: 'u2' });
    request.debug('nothing at info');
    request.trace({ token }, 'nor this');
    expect(made).toEqual([]);
    request.info('now');
    // Made now, in order: the request's child, then the user's child of it.
    expect(made).toEqual([{ requestId: 'r2' }, { requestId: 'r2', userId: 'u2' }]);
    request.warn('again');
    expect(made.length).toBe(2);
    expect(withoutTime(lines[0])).toMatchObject({ requestId: 'r2', userId: 'u2', msg: 'now' });
    expect(lines.length).toBe(2);
  });
});
