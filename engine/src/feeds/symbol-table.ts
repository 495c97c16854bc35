import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * Symbol string <-> dense id (0, 1, 2, …). Ids index the per-symbol feature state and pick the
 * shard (`id % shards`), so they are dense and never reused. The capacity is fixed at start: the
 * feature state in SharedArrayBuffer is sized for it. Lookups on the hot path use `idOf` on an
 * already interned string (a Map hit, no allocation).
 */
export class SymbolTable {
  readonly capacity: number;
  readonly shards: number;
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];

  constructor(options: { capacity: number; shards: number }) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'symbol table: capacity must be a positive integer');
    }
    if (!Number.isInteger(options.shards) || options.shards < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'symbol table: shards must be a positive integer');
    }
    this.capacity = options.capacity;
    this.shards = options.shards;
  }

  get size(): number {
    return this.#names.length;
  }

  /** The id of a symbol, interning it if new; -1 when the table is full or the name invalid. */
  intern(symbol: string): number {
    const id = this.#ids.get(symbol);
    if (id !== undefined) return id;
    if (this.#names.length >= this.capacity || !isValidSymbol(symbol)) return -1;
    const next = this.#names.length;
    this.#ids.set(symbol, next);
    this.#names.push(symbol);
    return next;
  }

  /** The id of a known symbol, or -1. */
  idOf(symbol: string): number {
    return this.#ids.get(symbol) ?? -1;
  }

  symbolOf(id: number): string {
    const name = this.#names[id];
    if (name === undefined) throw new AppError(ErrorCode.NOT_FOUND, `symbol table: unknown id ${id}`);
    return name;
  }

  shardOf(id: number): number {
    return id % this.shards;
  }

  /** Symbol names in id order (for the writer's text encoding and the binary file dictionary). */
  names(): readonly string[] {
    return this.#names;
  }
}

/** 1–32 printable ASCII characters without separators (`,` `"` whitespace) — safe in CSV/COPY. */
export function isValidSymbol(symbol: string): boolean {
  return /^[A-Za-z0-9._:/^-]{1,32}$/.test(symbol);
}
