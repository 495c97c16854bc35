import type { Bus } from '@aegis/shared/bus/types';
import { AppError } from '@aegis/shared/errors';

/**
 * A bus pub/sub channel as an async iterator, for SSE subscriptions. Messages arriving while the
 * client is slow are buffered up to `maxBuffered`; past that the iterator fails instead of
 * dropping silently, and the client reconnects with its last event id and catches up from the
 * database (every live stream here is resumable).
 */
export interface ChannelFeed extends AsyncIterable<string> {
  close(): Promise<void>;
}

export async function openChannelFeed(
  bus: Bus,
  channel: string,
  options: { signal?: AbortSignal | undefined; maxBuffered?: number } = {},
): Promise<ChannelFeed> {
  const max = options.maxBuffered ?? 10_000;
  const buffer: string[] = [];
  let wake: (() => void) | null = null;
  let overflow = false;
  let closed = false;
  const unsubscribe = await bus.subscribe(channel, (message) => {
    if (closed) return;
    if (buffer.length >= max) overflow = true;
    else buffer.push(message);
    wake?.();
  });
  const onAbort = () => {
    closed = true;
    wake?.();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const close = async () => {
    if (!closed) closed = true;
    wake?.();
    options.signal?.removeEventListener('abort', onAbort);
    await unsubscribe().catch(() => {});
  };

  return {
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (overflow) throw new AppError('UNAVAILABLE', 'live stream fell behind; reconnect to resume');
          const next = buffer.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          if (closed) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      } finally {
        await close();
      }
    },
  };
}
