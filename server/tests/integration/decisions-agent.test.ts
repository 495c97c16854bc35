import { Writable } from 'node:stream';
import type { DecisionInput } from '@aegis/shared/agent/decider';
import { OpenAIDecider } from '@aegis/shared/agent/openai-decider';
import { RuleDecider } from '@aegis/shared/agent/rule-decider';
import { createLogger } from '@aegis/shared/logging';
import { DEFAULT_RISK_LIMITS } from '@aegis/shared/risk/governor';
import type { LessonView } from '@aegis/shared/schemas/lesson';
import { tradeProposalSchema } from '@aegis/shared/schemas/proposal';
import type { SignalView } from '@aegis/shared/schemas/signal';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIEmbedder } from '../../src/lessons/embedder.ts';
import { FakeOpenAI, validAnswer } from './fake-openai.ts';

/**
 * The deciders. The model decider runs the real `openai` client against a local
 * OpenAI-compatible server (FakeOpenAI): valid, malformed, schema-violating, incoherent,
 * refused and slow answers.
 */
const logs: Record<string, unknown>[] = [];
const log = createLogger(
  { name: 'agent-test', level: 'debug' },
  new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) logs.push(JSON.parse(l));
      cb();
    },
  }),
);

const signal: SignalView = {
  id: '0190f0f0-0000-7000-8000-000000000001',
  tsSignal: new Date().toISOString(),
  tsEvent: new Date().toISOString(),
  symbol: 'BTC-USD',
  direction: 'long',
  pattern: 'breakout',
  score: 0.83,
  price: '50010.5',
  features: { realizedVol: 0.0021, orderFlowImbalance: 0.42 },
  modelVersion: 'm1',
};

const lesson = (id: string, similarity: number, kind: 'loss' | 'win' = 'loss'): LessonView => ({
  id,
  outcomeId: null,
  instrument: 'BTC-USD',
  kind,
  pnl: kind === 'loss' ? '-120' : '300',
  summary: `${kind} on a breakout long`,
  tags: ['btc-usd', 'breakout'],
  embedder: 'hash-v1-256',
  createdAt: new Date().toISOString(),
  similarity,
});

const input = (lessons: LessonView[] = []): DecisionInput => ({
  signal,
  desk: {
    tenantId: '00000000-0000-4000-8000-000000000001',
    riskPreset: 'conservative',
    positions: [],
    limits: DEFAULT_RISK_LIMITS,
    exposure: { gross: '0', net: '0' },
    recentPnl: { realized24h: '0', trades24h: 0, losses24h: 0 },
    lotSize: '0.0001',
  },
  lessons,
});

describe('rule decider', () => {
  it('is deterministic, sized by preset and limits, and cuts size for similar loss lessons it names', async () => {
    const rules = new RuleDecider();
    const a = await rules.decide(input());
    const b = await rules.decide(input());
    expect(a.proposal).toEqual(b.proposal);
    const p = tradeProposalSchema.parse(a.proposal);
    expect(p).toMatchObject({
      instrument: 'BTC-USD',
      side: 'buy',
      orderType: 'limit',
      limitPrice: '50010.5',
    });
    // 5000 notional / 50010.5, rounded down to the 0.0001 lot.
    expect(p.quantity).toBe('0.0999');
    expect(Number(p.stopPrice)).toBeLessThan(50010.5);
    expect(Number(p.targetPrice)).toBeGreaterThan(50010.5);
    expect(a).toMatchObject({ decider: 'rules', model: null, promptTokens: null });

    const withLesson = await rules.decide(input([lesson('l-1', 0.8), lesson('l-far', 0.05)]));
    expect(Number(withLesson.proposal!.quantity)).toBeCloseTo(0.0749, 4);
    expect(withLesson.proposal!.rationale.lessonsApplied.map((l) => l.lessonId)).toEqual(['l-1']);
    expect(withLesson.proposal!.riskScore).toBeGreaterThan(p.riskScore);

    const weak = await rules.decide({ ...input(), signal: { ...signal, score: 0.4 } });
    expect(weak.proposal).toBeNull();
    expect(weak.reason).toMatch(/below/);
  });
});

describe('model decider (real openai client, local OpenAI-compatible server)', () => {
  const fake = new FakeOpenAI();
  const decider = (timeoutMs = 2000) =>
    new OpenAIDecider({
      apiKey: 'sk-test',
      baseUrl: fake.url,
      model: 'test-model',
      timeoutMs,
      maxRetries: 0,
      log,
    });

  beforeAll(() => fake.start());
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    logs.length = 0;
  });

  it('asks for strict JSON-schema structured output and returns the validated proposal with usage', async () => {
    fake.script({ kind: 'content', content: validAnswer(), promptTokens: 500, completionTokens: 120 });
    const out = await decider().decide(input());
    expect(out.proposal).toMatchObject({ instrument: 'BTC-USD', quantity: '0.05', riskScore: 35 });
    expect(out).toMatchObject({
      decider: 'openai',
      model: 'test-model',
      promptTokens: 500,
      completionTokens: 120,
      attempts: 1,
    });
    expect(out.latencyMs).toBeGreaterThanOrEqual(0);
    const req = fake.requests[0]!;
    expect(req.response_format?.type).toBe('json_schema');
    expect(req.response_format?.json_schema).toMatchObject({ name: 'trade_proposal', strict: true });
    const schema = req.response_format!.json_schema!.schema as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toContain('rationale');
    expect(JSON.stringify(schema)).not.toContain('minLength');
    // The context reached the model: signal, desk limits, lessons.
    const ctx = JSON.parse(req.messages[1]!.content);
    expect(ctx.signal.id).toBe(signal.id);
    expect(ctx.desk.riskPreset).toBe('conservative');
  });

  it('retries malformed JSON once, with the problem quoted back, and sums usage', async () => {
    fake.script(
      { kind: 'content', content: '{"instrument": "BTC-USD", "side": ' },
      { kind: 'content', content: validAnswer() },
    );
    const out = await decider().decide(input());
    expect(out.proposal).not.toBeNull();
    expect(out.attempts).toBe(2);
    expect(out.promptTokens).toBe(840);
    expect(fake.requests[1]!.messages.at(-1)!.content).toMatch(/not valid JSON/);
  });

  it('discards an answer that violates the schema twice, with a logged reason', async () => {
    fake.script({ kind: 'content', content: validAnswer({ quantity: 12, riskScore: 140 }) });
    const out = await decider().decide(input());
    expect(out.proposal).toBeNull();
    expect(out.attempts).toBe(2);
    expect(out.reason).toMatch(/discarded: schema: .*quantity/);
    expect(
      logs.some(
        (l) =>
          l.msg === 'agent: model answer discarded; no proposal' && String(l.reason).includes('riskScore'),
      ),
    ).toBe(true);
  });

  it('rejects incoherent answers: stop above a buy entry, another instrument, invented lessons', async () => {
    fake.script({ kind: 'content', content: validAnswer({ stopPrice: '60000' }) });
    expect((await decider().decide(input())).reason).toMatch(/stopPrice: must be below/);
    fake.script({ kind: 'content', content: validAnswer({}, 50010.5, 'ETH-USD') });
    expect((await decider().decide(input())).reason).toMatch(/instrument: must be BTC-USD/);
    fake.script({
      kind: 'content',
      content: validAnswer({
        rationale: {
          marketContext: 'x',
          signalEvidence: 'y',
          riskView: 'z',
          lessonsApplied: [{ lessonId: 'made-up', how: 'n/a' }],
        },
      }),
    });
    expect((await decider().decide(input([lesson('real-1', 0.9)]))).reason).toMatch(/unknown lesson made-up/);
  });

  it('embeds lesson text through the embeddings endpoint when configured, unit length', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
    const e = new OpenAIEmbedder(client, 'test-embed');
    const v = await e.embed('BTC-USD breakout long loss');
    expect(e.name).toBe('openai-test-embed');
    expect(v).toHaveLength(8);
    expect(v.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 12);
    expect(fake.embeddingRequests.at(-1)).toMatchObject({
      model: 'test-embed',
      input: 'BTC-USD breakout long loss',
    });
  });

  it('gives up on a slow server after the timeout and on a refusal, proposing nothing', async () => {
    fake.script({ kind: 'content', content: validAnswer(), delayMs: 1500 });
    const slow = await decider(200).decide(input());
    expect(slow.proposal).toBeNull();
    expect(slow.reason).toBe('discarded: request failed: timeout');
    fake.script({ kind: 'refusal', refusal: 'I cannot help with trading.' });
    const refused = await decider().decide(input());
    expect(refused.reason).toMatch(/model refused/);
    fake.script({ kind: 'status', status: 500 });
    expect((await decider().decide(input())).reason).toMatch(/HTTP 500/);
  });
});
