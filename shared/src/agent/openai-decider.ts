import OpenAI from 'openai';
import { z } from 'zod';
import type { Logger } from '../logging.ts';
import { proposalInconsistencies, type TradeProposal, tradeProposalSchema } from '../schemas/proposal.ts';
import type { Decider, DecisionInput, DecisionOutcome } from './decider.ts';

/**
 * The model decider: chat completions with structured outputs (`json_schema`, strict) against
 * any OpenAI-compatible server (OpenAI, vLLM, Ollama). Every answer is parsed and checked
 * against the same zod schema as the rules' output, plus coherence checks (stop and target on
 * the right side of the entry, the signal's instrument). An answer that fails is retried once
 * with the problems quoted back; a second failure discards it with a logged reason: nothing
 * unvalidated can become a proposal, let alone an order. Transport errors and timeouts are
 * retried by the SDK within `maxRetries`; token usage and latency are summed over attempts.
 */
export interface OpenAIDeciderOptions {
  readonly apiKey: string;
  readonly baseUrl?: string | undefined;
  readonly model?: string | undefined;
  /** Per-request timeout (ms). */
  readonly timeoutMs?: number;
  /** SDK retries on connection errors, timeouts, 429 and 5xx (bounded). */
  readonly maxRetries?: number;
  readonly log: Logger;
}

export const DEFAULT_MODEL = 'gpt-4o-mini';
const SCHEMA_NAME = 'trade_proposal';

/** Keywords strict structured outputs reject; zod still enforces them on the answer. */
const UNSUPPORTED = new Set(['$schema', 'minLength', 'maxLength']);

export function strictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!UNSUPPORTED.has(k)) out[k] = strip(x);
      return out;
    }
    return v;
  };
  return strip(z.toJSONSchema(schema, { target: 'draft-7', io: 'output' })) as Record<string, unknown>;
}

const PROPOSAL_JSON_SCHEMA = strictJsonSchema(tradeProposalSchema);

const SYSTEM_PROMPT = `You are the decision agent of a professional trading desk. Given one scored signal, the desk's
positions, limits, exposure and recent P&L, and lessons recalled from the desk's past trades, propose ONE trade
that respects the limits, or the smallest sensible one. Quantities and prices are decimal strings. A buy's stop
is below the entry and its target above; a sell's the reverse. For a limit order give limitPrice; for a market
order limitPrice is null. Name every lesson you used in rationale.lessonsApplied by its id and say what it changed.
Risk score: 0 = negligible, 100 = reckless. Confidence in [0, 1]. A human or the risk governor checks your answer.`;

export class OpenAIDecider implements Decider {
  readonly kind = 'openai' as const;
  readonly model: string;
  readonly #client: OpenAI;
  readonly #log: Logger;

  constructor(options: OpenAIDeciderOptions) {
    this.model = options.model ?? DEFAULT_MODEL;
    this.#log = options.log;
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs ?? 20_000,
      maxRetries: options.maxRetries ?? 1,
    });
  }

  get client(): OpenAI {
    return this.#client;
  }

  async decide(input: DecisionInput): Promise<DecisionOutcome> {
    const started = performance.now();
    let promptTokens = 0;
    let completionTokens = 0;
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: JSON.stringify(contextMessage(input)) },
    ];
    let reason = 'no answer';
    let attempts = 0;
    /** What the decision cost so far, as every outcome reports it. */
    const spent = () => ({
      decider: 'openai' as const,
      model: this.model,
      promptTokens,
      completionTokens,
      latencyMs: Math.round(performance.now() - started),
      attempts,
    });
    for (; attempts < 2; ) {
      attempts++;
      let content: string | null | undefined;
      try {
        const res = await this.#client.chat.completions.create({
          model: this.model,
          messages,
          temperature: 0,
          response_format: {
            type: 'json_schema',
            json_schema: { name: SCHEMA_NAME, strict: true, schema: PROPOSAL_JSON_SCHEMA },
          },
        });
        promptTokens += res.usage?.prompt_tokens ?? 0;
        completionTokens += res.usage?.completion_tokens ?? 0;
        const message = res.choices[0]?.message;
        if (message?.refusal) {
          reason = `model refused: ${message.refusal.slice(0, 300)}`;
          break;
        }
        content = message?.content;
      } catch (err) {
        // The SDK already retried what is retryable (timeouts, 429, 5xx) within maxRetries.
        reason = `request failed: ${errorSummary(err)}`;
        break;
      }
      const checked = checkAnswer(content, input);
      if (checked.ok) {
        return { proposal: checked.proposal, ...spent() };
      }
      reason = checked.reason;
      this.#log.warn(
        { signalId: input.signal.id, attempt: attempts, reason },
        'agent: model answer failed validation',
      );
      // One retry, telling the model what was wrong.
      messages.push(
        { role: 'assistant', content: String(content ?? '').slice(0, 4000) },
        { role: 'user', content: `That answer was rejected: ${reason}. Answer again with a valid proposal.` },
      );
    }
    this.#log.warn(
      { signalId: input.signal.id, tenantId: input.desk.tenantId, attempts, reason },
      'agent: model answer discarded; no proposal',
    );
    return { proposal: null, ...spent(), reason: `discarded: ${reason}` };
  }
}

function checkAnswer(
  content: string | null | undefined,
  input: DecisionInput,
): { ok: true; proposal: TradeProposal } | { ok: false; reason: string } {
  if (!content) return { ok: false, reason: 'empty answer' };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return { ok: false, reason: 'answer is not valid JSON' };
  }
  const parsed = tradeProposalSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`);
    return { ok: false, reason: `schema: ${problems.slice(0, 10).join('; ')}` };
  }
  const p = parsed.data;
  const problems = proposalInconsistencies(p, input.signal.price ? Number(input.signal.price) : null);
  if (p.instrument !== input.signal.symbol) problems.push(`instrument: must be ${input.signal.symbol}`);
  const known = new Set(input.lessons.map((l) => l.id));
  for (const l of p.rationale.lessonsApplied) {
    if (!known.has(l.lessonId)) problems.push(`rationale.lessonsApplied: unknown lesson ${l.lessonId}`);
  }
  return problems.length > 0
    ? { ok: false, reason: `coherence: ${problems.join('; ')}` }
    : { ok: true, proposal: p };
}

function contextMessage({ signal, desk, lessons }: DecisionInput) {
  return {
    signal: {
      id: signal.id,
      instrument: signal.symbol,
      direction: signal.direction,
      pattern: signal.pattern,
      score: signal.score,
      price: signal.price,
      tsSignal: signal.tsSignal,
      features: signal.features,
      modelVersion: signal.modelVersion,
    },
    desk: {
      riskPreset: desk.riskPreset,
      positions: desk.positions,
      limits: desk.limits,
      exposureAtCost: desk.exposure,
      recentPnl: desk.recentPnl,
      lotSize: desk.lotSize,
    },
    lessons: lessons.map((l) => ({
      id: l.id,
      kind: l.kind,
      pnl: l.pnl,
      similarity: l.similarity,
      summary: l.summary,
      tags: l.tags,
    })),
  };
}

function errorSummary(err: unknown): string {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return 'timeout';
  if (err instanceof OpenAI.APIError) return `HTTP ${err.status ?? '?'} ${err.message.slice(0, 200)}`;
  return (err as Error)?.message?.slice(0, 200) ?? String(err);
}
