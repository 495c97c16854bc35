import type { ProposalView } from '@aegis/shared/schemas/proposal';
import type { SignalView } from '@aegis/shared/schemas/signal';
import type OpenAI from 'openai';

/**
 * Answers a trader's question about a signal or a proposal, as a stream of text chunks. With a
 * model configured the answer is the model's (streamed chat completion, grounded in the stored
 * facts); without one it is a deterministic explanation assembled from the same facts.
 */
export interface ChatSubject {
  readonly signal: SignalView | null;
  readonly proposal: ProposalView | null;
}

export function factsOf(s: ChatSubject): string {
  const lines: string[] = [];
  if (s.signal) {
    const sig = s.signal;
    lines.push(
      `Signal ${sig.id}: ${sig.pattern} ${sig.direction} on ${sig.symbol} at ${sig.price ?? 'n/a'}, score ${sig.score.toFixed(2)} (model ${sig.modelVersion}, ${sig.tsSignal}).`,
    );
    const f = Object.entries(sig.features)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${k}=${(v as number).toPrecision(3)}`);
    if (f.length > 0) lines.push(`Features: ${f.join(', ')}.`);
  }
  if (s.proposal) {
    const p = s.proposal;
    lines.push(
      `Proposal ${p.id} (${p.status}, by ${p.decider}${p.model ? ` ${p.model}` : ''}): ${p.side} ${p.quantity} ${p.instrument} ${p.orderType}` +
        `${p.limitPrice ? ` @ ${p.limitPrice}` : ''}, stop ${p.stopPrice ?? 'none'}, target ${p.targetPrice ?? 'none'}, horizon ${p.timeHorizon}, confidence ${p.confidence}, risk score ${p.riskScore}/100, expires ${p.expiresAt}.`,
      `Market context: ${p.rationale.marketContext}`,
      `Signal evidence: ${p.rationale.signalEvidence}`,
      `Risk view: ${p.rationale.riskView}`,
    );
    for (const l of p.rationale.lessonsApplied) lines.push(`Lesson ${l.lessonId}: ${l.how}`);
    if (p.riskVerdict) {
      const failed = p.riskVerdict.rules.filter((r) => !r.passed);
      lines.push(
        failed.length === 0
          ? `Risk governor: all ${p.riskVerdict.rules.length} rules passed when proposed.`
          : `Risk governor denied: ${failed.map((r) => `${r.rule}${r.code ? ` (${r.code}${r.limit ? `, limit ${r.limit}` : ''}${r.requested ? `, requested ${r.requested}` : ''})` : ''}`).join('; ')}.`,
      );
    }
  }
  return lines.join('\n');
}

/** Deterministic answer: the facts, framed by the question, in word-sized chunks. */
export async function* ruleAnswer(question: string, subject: ChatSubject): AsyncGenerator<string> {
  const q = question.toLowerCase();
  const p = subject.proposal;
  const parts: string[] = [];
  if (p && /risk|stop|loss|size|why/.test(q)) parts.push(`On risk: ${p.rationale.riskView}`);
  if (p && /lesson|learn|past/.test(q)) {
    parts.push(
      p.rationale.lessonsApplied.length > 0
        ? `Lessons applied: ${p.rationale.lessonsApplied.map((l) => l.how).join(' ')}`
        : 'No past lesson matched this situation closely enough to change the proposal.',
    );
  }
  parts.push(`Here is what I know:\n${factsOf(subject)}`);
  const text = parts.join('\n\n');
  for (const chunk of text.match(/\S+\s*/g) ?? []) yield chunk;
}

export async function* modelAnswer(
  client: OpenAI,
  model: string,
  question: string,
  subject: ChatSubject,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const stream = await client.chat.completions.create(
    {
      model,
      stream: true,
      temperature: 0.2,
      messages: [
        {
          role: 'system',
          content:
            "You explain a trading desk agent's signals and proposals to a professional trader. Answer only from the facts given; say so when they do not cover the question. Be brief.",
        },
        { role: 'user', content: `Facts:\n${factsOf(subject)}\n\nQuestion: ${question}` },
      ],
    },
    signal ? { signal } : {},
  );
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) yield delta;
  }
}
