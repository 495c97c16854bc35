import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FORWARDER_HEADER, proxyToServer } from './trpc-proxy.ts';

/**
 * The /trpc forwarder against a real local HTTP upstream: what the browser relies on (cookies
 * both ways, Origin, streamed SSE, disconnects reaching the server) and what it must not leak.
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let upstream: Server;
let upstreamUrl: string;
let handler: Handler = (_req, res) => res.end();

beforeAll(async () => {
  upstream = createServer((req, res) => handler(req, res));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream.closeAllConnections();
  upstream.close();
});

const options = () => ({ serverUrl: upstreamUrl, clientAddress: '203.0.113.7', headersTimeoutMs: 2_000 });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => resolve(body));
  });
}

describe('proxyToServer', () => {
  test('forwards method, batched path and query, body, Cookie and Origin; returns each Set-Cookie', async () => {
    let seen: { url?: string; method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = async (req, res) => {
      seen = { url: req.url, method: req.method, headers: req.headers, body: await readBody(req) };
      res.setHeader('set-cookie', ['aegis_session=abc; Path=/; HttpOnly; SameSite=Lax', 'other=1; Path=/']);
      res.setHeader('content-type', 'application/json');
      res.setHeader('connection', 'close');
      res.end('{"ok":true}');
    };
    const request = new Request('http://console.test:3000/trpc/auth.login,keys.list?batch=1', {
      method: 'POST',
      headers: {
        cookie: 'aegis_session=old',
        origin: 'http://console.test:3000',
        'content-type': 'application/json',
        'trpc-accept': 'application/jsonl',
      },
      body: '{"0":{"email":"a@b.c"}}',
    });
    const response = await proxyToServer(request, options());

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"ok":true}');
    expect(response.headers.getSetCookie()).toEqual([
      'aegis_session=abc; Path=/; HttpOnly; SameSite=Lax',
      'other=1; Path=/',
    ]);
    expect(response.headers.has('connection')).toBe(false);

    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/trpc/auth.login,keys.list?batch=1');
    expect(seen.body).toBe('{"0":{"email":"a@b.c"}}');
    expect(seen.headers?.cookie).toBe('aegis_session=old');
    expect(seen.headers?.origin).toBe('http://console.test:3000');
    expect(seen.headers?.['trpc-accept']).toBe('application/jsonl');
    expect(seen.headers?.['x-forwarded-for']).toBe('203.0.113.7');
    expect(seen.headers?.['x-forwarded-host']).toBe('console.test:3000');
    expect(seen.headers?.['x-forwarded-proto']).toBe('http');
    // The upstream sees its own host, not the console's.
    expect(seen.headers?.host).toBe(new URL(upstreamUrl).host);
  });

  test('proves itself with the forwarder secret; a browser-sent forwarder header never passes', async () => {
    let seen: IncomingMessage['headers'] = {};
    handler = (req, res) => {
      seen = req.headers;
      res.end('{}');
    };
    const secret = 's'.repeat(43);
    const forged = () =>
      new Request('http://console.test:3000/trpc/auth.me', {
        headers: { [FORWARDER_HEADER]: 'guessed-by-the-browser', 'x-forwarded-for': '10.0.0.1' },
      });
    await proxyToServer(forged(), { ...options(), forwarderSecret: secret });
    expect(seen[FORWARDER_HEADER]).toBe(secret);
    expect(seen['x-forwarded-for']).toBe('10.0.0.1, 203.0.113.7');
    await proxyToServer(forged(), options());
    expect(seen[FORWARDER_HEADER]).toBeUndefined();
  });

  test('passes the server status and error body through unchanged', async () => {
    handler = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"data":{"code":"UNAUTHORIZED"}}}');
    };
    const response = await proxyToServer(new Request('http://console.test/trpc/auth.me'), options());
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { data: { code: 'UNAUTHORIZED' } } });
  });

  test('streams Server-Sent Events event by event and aborts upstream when the client leaves', async () => {
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    let sendNext: (() => void) | undefined;
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      sendNext = () => res.write(`data: ${n++}\n\n`);
      sendNext();
      req.on('close', () => upstreamClosed());
    };
    const client = new AbortController();
    const response = await proxyToServer(
      new Request('http://console.test/trpc/signals.onSignal', { signal: client.signal }),
      options(),
    );
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    // The first event arrives while the upstream response is still open: no buffering.
    expect(decoder.decode((await reader.read()).value)).toBe('data: 0\n\n');
    sendNext?.();
    expect(decoder.decode((await reader.read()).value)).toBe('data: 1\n\n');

    client.abort();
    await reader.cancel().catch(() => {});
    await closed;
  });

  test('answers 502 in tRPC error shape when the server is unreachable', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const closedPort = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const response = await proxyToServer(new Request('http://console.test/trpc/auth.me'), {
      ...options(),
      serverUrl: `http://127.0.0.1:${closedPort}`,
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe('BAD_GATEWAY');
    expect(body.error.message).toMatch(/unreachable/);
  });

  test('answers 504 when the server sends no headers in time', async () => {
    handler = () => {
      // never answers
    };
    const response = await proxyToServer(new Request('http://console.test/trpc/auth.me'), {
      ...options(),
      headersTimeoutMs: 200,
    });
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('GATEWAY_TIMEOUT');
  });
});
