import { createServer } from 'node:net';
import { configError } from '@aegis/shared/config';

/**
 * The single-machine start checks each port it is about to listen on BEFORE starting anything, so
 * a taken port is one line naming the variable that moves it, not a stack trace from deep inside
 * PostgreSQL or the HTTP server. The check binds and releases the port at once; a race with
 * another program in between is still reported by the component itself.
 */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** The first free port after `port` (up to `span` further), or null. */
export async function nextFreePort(port: number, host = '127.0.0.1', span = 50): Promise<number | null> {
  for (let p = port + 1; p <= Math.min(65_535, port + span); p++) if (await portIsFree(p, host)) return p;
  return null;
}

/** Throws a one-line configError naming `variable` (and a free port to use) when `port` is taken. */
export async function ensurePortFree(variable: string, port: number, host = '127.0.0.1'): Promise<void> {
  if (await portIsFree(port, host)) return;
  const free = await nextFreePort(port, host);
  throw configError('aegis', [
    `${variable}: port ${port} on ${host} is in use by another program — set ${variable} to a free port` +
      (free ? ` (e.g. ${variable}=${free} npm start)` : ''),
  ]);
}
