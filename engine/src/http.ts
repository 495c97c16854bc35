import { createServer, type Server } from 'node:http';
import type { Logger } from '@aegis/shared/logging';

/** What the HTTP endpoints need from the engine (a subset of EngineHandle). */
export interface EngineProbe {
  isReady(): boolean;
  readiness(): Readonly<Record<string, boolean>>;
  metricsText(): string;
  /** The global halt as the engine sees it. */
  halt?(): unknown;
  /** Sharded order flow: the shards this engine owns and their lease tokens (null: unsharded). */
  shards?(): unknown;
}

/**
 * `/health` (the process is up, plus the engine's view of the global halt),
 * `/health/ready` (no hot-path ring consumer stalled past ENGINE_READY_MAX_RING_STALL_MS,
 * inference ready, database and bus reachable within
 * ENGINE_DB_TIMEOUT_MS, the writer connected and no more than ENGINE_READY_MAX_WRITER_LAG_MS
 * behind, not shutting down: 200, else 503 with the failing checks), `/metrics` (Prometheus text
 * exposition 0.0.4). Nothing else; no request bodies are read.
 */
export function startHttpServer(options: {
  engine: EngineProbe;
  host: string;
  port: number;
  log: Logger;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const { engine, log } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    try {
      if (path === '/health') {
        json(res, 200, { status: 'ok', ...(engine.halt ? { halt: engine.halt() } : {}) });
      } else if (path === '/health/ready') {
        const checks = engine.readiness();
        const ready = engine.isReady();
        const shards = engine.shards?.() ?? null;
        json(res, ready ? 200 : 503, {
          status: ready ? 'ready' : 'not_ready',
          checks,
          ...(shards ? { shards } : {}),
        });
      } else if (path === '/metrics') {
        const body = engine.metricsText();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      } else {
        json(res, 404, { error: 'NOT_FOUND' });
      }
    } catch (err) {
      log.error({ err, path }, 'engine http: handler failed');
      json(res, 500, { error: 'INTERNAL' });
    }
  });
  // A scrape must never hold the process open at shutdown.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : options.port;
      log.info({ host: options.host, port }, 'engine http: listening (/health, /health/ready, /metrics)');
      resolve({
        server,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
