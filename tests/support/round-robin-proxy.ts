import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small load balancer for tests that run several server processes: round robin over its
 * upstreams, bodies and responses streamed (SSE flows event by event), and failover: a request
 * whose upstream refuses the connection (or a read whose upstream drops it before answering) goes
 * to the next upstream, and that upstream is skipped for `downForMs`; a write dropped before its
 * answer is a 502 to the client, who retries it (the server may have acted on it). A request may name the upstream it prefers with
 * the `x-upstream` header (its index); it still fails over when that one is down. Once an
 * upstream has started answering, a broken response is the client's to retry (like any proxy:
 * the request may have had its effect).
 */
export const UPSTREAM_HEADER = 'x-upstream';

export interface RoundRobinProxy {
  readonly url: string;
  /** Requests answered per upstream index (headers received from it). */
  readonly answered: number[];
  /** Requests moved to another upstream because theirs was unreachable. */
  readonly failovers: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export async function startRoundRobinProxy(
  upstreams: readonly string[],
  options: { downForMs?: number } = {},
): Promise<RoundRobinProxy> {
  const downForMs = options.downForMs ?? 2_000;
  const downUntil = upstreams.map(() => 0);
  const answered = upstreams.map(() => 0);
  let next = 0;
  let failovers = 0;

  const order = (preferred: number | null): number[] => {
    const start = preferred ?? next++ % upstreams.length;
    const all = upstreams.map((_, i) => (start + i) % upstreams.length);
    const now = Date.now();
    // Healthy ones first in round-robin order; ones marked down last (they may be back).
    return [...all.filter((i) => downUntil[i]! <= now), ...all.filter((i) => downUntil[i]! > now)];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Bodies here are small tRPC calls: buffered so they can be sent again on failover.
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const raw = req.headers[UPSTREAM_HEADER];
    const asked = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) % upstreams.length : null;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP_BY_HOP.has(k) && k !== UPSTREAM_HEADER && k !== 'host') headers[k] = v;
    if (body.length > 0) headers['content-length'] = String(body.length);

    const candidates = order(asked);
    for (const [n, i] of candidates.entries()) {
      const target = new URL(req.url ?? '/', upstreams[i]);
      const outcome = await new Promise<'answered' | 'unreachable' | 'broken'>((resolve) => {
        const up = httpRequest(target, { method: req.method, headers, agent: false }, (upRes) => {
          answered[i]!++;
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(upRes.headers))
            if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
          res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
          res.flushHeaders();
          upRes.on('data', (d: Buffer) => res.write(d));
          upRes.on('end', () => res.end());
          // The upstream died mid-response: the client sees its connection cut, as it would.
          upRes.on('error', () => res.destroy());
          upRes.on('aborted', () => res.destroy());
          resolve('answered');
        });
        up.on('error', (err: NodeJS.ErrnoException) => {
          if (res.headersSent) res.destroy();
          // Never connected, or a read: safe to send elsewhere. A write the upstream may have
          // acted on is answered 502 (the client retries it with its idempotency key).
          else if (err.code === 'ECONNREFUSED' || req.method === 'GET' || req.method === 'HEAD')
            resolve('unreachable');
          else resolve('broken');
        });
        // The client went away: so does the upstream request (ends an SSE generator).
        res.on('close', () => up.destroy());
        up.end(body);
      });
      if (outcome === 'answered') return;
      downUntil[i] = Date.now() + downForMs;
      if (outcome === 'broken') break;
      if (n < candidates.length - 1) failovers++;
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: {
          message: 'no upstream reachable',
          code: -32603,
          data: { code: 'BAD_GATEWAY', httpStatus: 502 },
        },
      }),
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answered,
    get failovers() {
      return failovers;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
