import { createHash } from 'node:crypto';

/**
 * The model registry's training data hash: sha-256 of the canonical JSON (keys sorted at every
 * level) of the training data's description — generator, seeds, ticks, feature and pattern
 * params — so two models trained on the same data carry the same hash whatever the key order.
 */
export function trainingDataHash(description: unknown): string {
  return createHash('sha256').update(canonicalJson(description)).digest('hex');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
