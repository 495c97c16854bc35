import { AppError } from '@aegis/shared/errors';
import { describe, expect, it } from 'vitest';
import { recheckedStream } from './subscription-recheck.ts';

/** The stream wrapper alone: an in-memory source stands in for the bus feed. */
async function* events(values: string[], thenWait: Promise<void>) {
  for (const v of values) yield v;
  await thenWait;
}

describe('recheckedStream', () => {
  it('re-checks before every event and ends with the check’s error before delivering the next', async () => {
    let checks = 0;
    let revoked = false;
    const recheck = async () => {
      checks++;
      if (revoked) throw new AppError('UNAUTHENTICATED', 'API key revoked');
    };
    const received: string[] = [];
    const stream = recheckedStream(events(['a', 'b', 'c'], new Promise(() => {})), recheck, {
      intervalMs: 60_000,
    });
    await expect(
      (async () => {
        for await (const e of stream) {
          received.push(e);
          if (e === 'b') revoked = true;
        }
      })(),
    ).rejects.toThrow('API key revoked');
    expect(received).toEqual(['a', 'b']);
    expect(checks).toBe(3);
  });

  it('re-checks an idle stream on the interval and ends it when revoked', async () => {
    let checks = 0;
    const recheck = async () => {
      checks++;
      if (checks >= 3) throw new AppError('UNAUTHENTICATED', 'Session ended');
    };
    const stream = recheckedStream(events([], new Promise(() => {})), recheck, { intervalMs: 10 });
    await expect(stream.next()).rejects.toThrow('Session ended');
    expect(checks).toBe(3);
  });

  it('stops without a check when the request is aborted', async () => {
    const ac = new AbortController();
    let checks = 0;
    const stream = recheckedStream(
      events([], new Promise(() => {})),
      async () => {
        checks++;
      },
      { intervalMs: 60_000, signal: ac.signal },
    );
    const next = stream.next();
    ac.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(checks).toBe(0);
  });
});
