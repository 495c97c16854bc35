/**
 * Redis stream ids `<ms>-<seq>` as numbers, for the in-process bus (which must order, compare and
 * generate them exactly like Redis) and for cursors kept outside Redis.
 */
export interface StreamId {
  readonly ms: number;
  readonly seq: number;
}

export const ZERO_ID: StreamId = { ms: 0, seq: 0 };

/** Parses `<ms>-<seq>` or `<ms>` (seq 0). Throws on anything else. */
export function parseStreamId(id: string): StreamId {
  const dash = id.indexOf('-');
  const ms = Number(dash === -1 ? id : id.slice(0, dash));
  const seq = dash === -1 ? 0 : Number(id.slice(dash + 1));
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq) || ms < 0 || seq < 0) {
    throw new Error(`invalid stream id: ${id}`);
  }
  return { ms, seq };
}

export const formatStreamId = (id: StreamId): string => `${id.ms}-${id.seq}`;

export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

/** The smallest id greater than `id` (the exclusive-start helper used by paging cursors). */
export function nextStreamId(id: StreamId): StreamId {
  return id.seq === Number.MAX_SAFE_INTEGER ? { ms: id.ms + 1, seq: 0 } : { ms: id.ms, seq: id.seq + 1 };
}
