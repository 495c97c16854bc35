import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * Canonical JSON: object keys sorted (code-unit order), no whitespace, arrays in order, numbers
 * as JSON.stringify writes them (shortest round-trip text, the same on every machine), undefined
 * members dropped. Two equal values always give the same bytes, whatever order their keys were
 * built in; that is what the backtest's `digest` hashes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new AppError(ErrorCode.INTERNAL, 'canonical JSON: a number is not finite', {
        value: String(value),
      });
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new AppError(ErrorCode.INTERNAL, `canonical JSON: cannot encode a ${typeof value}`);
}

/** sha-256 (hex) of the canonical JSON of `value`. */
export function canonicalDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
