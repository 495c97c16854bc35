import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible HTTP server for tests: `POST /v1/chat/completions` and
 * `POST /v1/embeddings`, answering from a script of replies (the last one repeats). Speaks the
 * documented response shapes, so the real `openai` client is what the tests exercise.
 */
export type ChatReply =
  | { kind: 'content'; content: string; delayMs?: number; promptTokens?: number; completionTokens?: number }
  | { kind: 'refusal'; refusal: string }
  | { kind: 'status'; status: number; body?: unknown }
  /** Compute the content from the request (e.g. echo a lesson id given in the context). */
  | { kind: 'dynamic'; build: (request: ChatRequest) => string };

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: {
    type: string;
    json_schema?: { name: string; strict: boolean; schema: Record<string, unknown> };
  };
  temperature?: number;
  stream?: boolean;
}

export class FakeOpenAI {
  readonly requests: ChatRequest[] = [];
  readonly embeddingRequests: unknown[] = [];
  #script: ChatReply[] = [];
  /** Text pieces a streamed chat completion (`stream: true`) sends, one chunk each. */
  streamChunks: string[] = ['The stop ', 'sits below ', 'the breakout level.'];
  #server: Server | null = null;
  url = '';

  script(...replies: ChatReply[]): void {
    this.#script = replies;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        ({ status, body, delayMs, stream }) => {
          if (stream) {
            // Server-sent events, as the API streams chat completions.
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            for (const [i, text] of stream.entries()) {
              const chunk = {
                id: 'chatcmpl-stream',
                object: 'chat.completion.chunk',
                created: Math.floor(Date.now() / 1000),
                model: 'fake',
                choices: [
                  {
                    index: 0,
                    delta: i === 0 ? { role: 'assistant', content: text } : { content: text },
                    finish_reason: null,
                  },
                ],
              };
              res.write(`data: ${JSON.stringify(chunk)}\n\n`);
            }
            res.write(
              `data: ${JSON.stringify({ id: 'chatcmpl-stream', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
            );
            res.end('data: [DONE]\n\n');
            return;
          }
          const send = () => {
            if (res.destroyed) return;
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
          };
          if (delayMs) setTimeout(send, delayMs).unref();
          else send();
        },
        () => {
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async #handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; delayMs?: number | undefined; stream?: string[] }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    if (req.headers.authorization !== 'Bearer sk-test') {
      return { status: 401, body: { error: { message: 'bad key', type: 'invalid_request_error' } } };
    }
    if (req.url === '/v1/embeddings') {
      this.embeddingRequests.push(body);
      // A deterministic 8-dimensional vector from the text's characters (not normalized).
      const text = String((body as { input: string }).input);
      const v = Array.from({ length: 8 }, (_, i) => [...text].filter((_, j) => j % 8 === i).length + 1);
      return {
        status: 200,
        body: {
          object: 'list',
          // The SDK asks for base64 (little-endian float32) unless told otherwise.
          data: [
            {
              object: 'embedding',
              index: 0,
              embedding:
                (body as { encoding_format?: string }).encoding_format === 'base64'
                  ? Buffer.from(new Float32Array(v).buffer).toString('base64')
                  : v,
            },
          ],
          model: (body as { model: string }).model,
          usage: { prompt_tokens: 5, total_tokens: 5 },
        },
      };
    }
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      return { status: 404, body: { error: { message: 'not found' } } };
    }
    const request = body as ChatRequest;
    this.requests.push(request);
    if (request.stream) return { status: 200, body: null, stream: this.streamChunks };
    const reply = this.#script.length > 1 ? this.#script.shift()! : this.#script[0];
    if (!reply) return { status: 500, body: { error: { message: 'no script' } } };
    if (reply.kind === 'status')
      return { status: reply.status, body: reply.body ?? { error: { message: 'scripted' } } };
    const message =
      reply.kind === 'refusal'
        ? { role: 'assistant', content: null, refusal: reply.refusal }
        : {
            role: 'assistant',
            content: reply.kind === 'dynamic' ? reply.build(request) : reply.content,
            refusal: null,
          };
    return {
      status: 200,
      delayMs: reply.kind === 'content' ? reply.delayMs : undefined,
      body: {
        id: `chatcmpl-${this.requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [{ index: 0, message, finish_reason: 'stop', logprobs: null }],
        usage: {
          prompt_tokens: reply.kind === 'content' ? (reply.promptTokens ?? 420) : 420,
          completion_tokens: reply.kind === 'content' ? (reply.completionTokens ?? 180) : 180,
          total_tokens: 600,
        },
      },
    };
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A valid proposal answer for a signal (buy at `price`). */
export function validAnswer(
  over: Record<string, unknown> = {},
  price = 50010.5,
  instrument = 'BTC-USD',
): string {
  return JSON.stringify({
    instrument,
    side: 'buy',
    quantity: '0.05',
    orderType: 'limit',
    limitPrice: String(price),
    stopPrice: String(Math.round(price * 0.99 * 100) / 100),
    targetPrice: String(Math.round(price * 1.02 * 100) / 100),
    timeHorizon: 'hours',
    confidence: 0.72,
    riskScore: 35,
    rationale: {
      marketContext: 'Bid-side imbalance with rising short EMA.',
      signalEvidence: 'Breakout scored 0.83.',
      riskView: 'Small size, 1% stop.',
      lessonsApplied: [],
    },
    ...over,
  });
}
