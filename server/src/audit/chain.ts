import { createHash } from 'node:crypto';
import type { TenantId } from '@aegis/shared/ids';

/**
 * The pure half of the audit log: canonical JSON, payload digests and the per-chain row hash.
 * Everything here is deterministic so `verify` can recompute, byte for byte, what `record` wrote.
 *
 * Chain rule (one chain per tenant, tenant null = the platform chain):
 *   hash(row) = sha256_hex( prev_hash || canonical(fields(row)) )
 *   prev_hash(row with seq 1) = GENESIS_HASH, prev_hash(seq n) = hash(seq n-1)
 * `seq` is inside the hashed fields, so renumbering or reordering rows breaks the chain, and
 * `prev_hash` links each row to its predecessor, so removing a row breaks the next one.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** Version of the hashed field layout; bump it (and keep the old one for verify) if fields change. */
export const CHAIN_FORMAT_VERSION = 1;

export const AUDIT_ACTOR_TYPES = ['user', 'api_key', 'agent', 'system'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The row fields covered by the hash, exactly as they are stored (ts in UTC, millisecond ISO). */
export interface ChainedFields {
  tenantId: TenantId | null;
  seq: number;
  ts: string;
  actorType: AuditActorType;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: AuditOutcome;
  requestId: string | null;
  ip: string | null;
  payloadDigest: string;
  details: string | null;
}

/**
 * Canonical JSON in the spirit of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, numbers in ECMAScript shortest form, `undefined` members dropped. Dates become ISO
 * strings and bigints decimal strings so application payloads hash without preprocessing.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, new Set());
}

function serialize(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: cannot serialize ${typeof value}`);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (seen.has(value)) throw new TypeError('canonicalJson: circular structure');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((v) => (v === undefined ? 'null' : serialize(v, seen))).join(',')}]`;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${serialize(obj[k], seen)}`).join(',')}}`;
  } finally {
    seen.delete(value);
  }
}

/**
 * Keys whose values never enter the digest. A digest of a low-entropy secret (a password, a short
 * token) can be brute-forced offline, so the value is dropped, not hashed.
 */
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|authorization|cookie|verifier|credential|private[-_]?key|^key$|^otp$|^pin$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `payload` without secret-named members (at any depth). */
export function stripSecrets(payload: unknown): unknown {
  if (Array.isArray(payload)) return payload.map(stripSecrets);
  if (payload && typeof payload === 'object' && !(payload instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(payload)) {
      if (!isSecretKey(k)) out[k] = stripSecrets(v);
    }
    return out;
  }
  return payload;
}

export function sha256Hex(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('hex');
}

/** SHA-256 (hex) of the canonical JSON of the payload with secrets removed; `null` payload digests "null". */
export function payloadDigest(payload: unknown): string {
  return sha256Hex(canonicalJson(stripSecrets(payload ?? null)));
}

/** The hashed representation of a row: a fixed, versioned field list (names are part of the format). */
export function canonicalRow(fields: ChainedFields): string {
  return canonicalJson({
    v: CHAIN_FORMAT_VERSION,
    tenantId: fields.tenantId,
    seq: fields.seq,
    ts: fields.ts,
    actorType: fields.actorType,
    actorId: fields.actorId,
    action: fields.action,
    targetType: fields.targetType,
    targetId: fields.targetId,
    outcome: fields.outcome,
    requestId: fields.requestId,
    ip: fields.ip,
    payloadDigest: fields.payloadDigest,
    details: fields.details,
  });
}

export function rowHash(prevHash: string, fields: ChainedFields): string {
  return sha256Hex(prevHash + canonicalRow(fields));
}

export type ChainBreakReason = 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch';

export interface StoredChainRow extends ChainedFields {
  prevHash: string;
  hash: string;
}

export interface ChainCursor {
  /** seq of the last row checked (0 before the first). */
  seq: number;
  /** hash of the last row checked (GENESIS_HASH before the first). */
  hash: string;
}

/**
 * Checks a run of consecutive rows (ordered by seq) against the state left by the previous run.
 * Returns the first break or the new cursor. Pure, so verify can stream rows page by page.
 */
export function checkChainRows(
  start: ChainCursor,
  rows: readonly StoredChainRow[],
): { ok: true; cursor: ChainCursor } | { ok: false; seq: number; reason: ChainBreakReason } {
  let cursor = start;
  for (const row of rows) {
    const expectedSeq = cursor.seq + 1;
    // A missing seq (deleted row) or a repeated/reordered seq: the chain no longer counts 1, 2, 3 …
    if (row.seq !== expectedSeq) return { ok: false, seq: expectedSeq, reason: 'seq_gap' };
    if (row.prevHash !== cursor.hash) return { ok: false, seq: row.seq, reason: 'prev_hash_mismatch' };
    if (rowHash(row.prevHash, row) !== row.hash) return { ok: false, seq: row.seq, reason: 'hash_mismatch' };
    cursor = { seq: row.seq, hash: row.hash };
  }
  return { ok: true, cursor };
}
