import fc from 'fast-check';
import type { z } from 'zod';

/**
 * fast-check arbitraries generated from zod 4 schemas, by walking zod's public introspection
 * (`schema._zod.def`: its `type`, inner schemas and `checks`).
 *
 * Why not `zod-fast-check`: its latest release (0.10.1) declares peers `zod ^3.18` and
 * `fast-check <4`, and it reads zod 3's `_def.typeName`, which zod 4 no longer has; this project
 * is on zod 4 and fast-check 4. The walker below covers the zod 4 kinds our routers use.
 *
 * The values are meant to be *mostly* valid: good enough that a break applied to one path is the
 * reason a call is refused. Exact validity is not needed — every case is also parsed locally and
 * the local verdict decides what the server must answer (fuzz-cases.ts).
 */
export type Schema = z.core.$ZodType;

interface Def {
  type: string;
  [k: string]: unknown;
}
interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  length?: number;
  value?: number | bigint;
  inclusive?: boolean;
}

export const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
export const checksOf = (s: Schema): CheckDef[] =>
  ((defOf(s).checks as { _zod: { def: CheckDef } }[] | undefined) ?? []).map((c) => c._zod.def);

/** Wrappers whose inner schema describes the value (the wrapper only adds undefined/null/default). */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** The schema under every wrapper and pipe input (what a value at this place must look like). */
export function unwrap(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if (WRAPPERS.has(d.type)) cur = d.innerType as Schema;
    else if (d.type === 'pipe') cur = d.in as Schema;
    else if (d.type === 'lazy') cur = (d.getter as () => Schema)();
    else return cur;
  }
  return cur;
}

/** May the key be left out of its object? */
export function isOptionalKey(s: Schema): boolean {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if (d.type === 'optional' || d.type === 'default' || d.type === 'prefault') return true;
    if (d.type === 'nullable' || d.type === 'readonly' || d.type === 'catch') cur = d.innerType as Schema;
    else if (d.type === 'pipe') cur = d.in as Schema;
    else return false;
  }
  return false;
}

export interface StringBounds {
  readonly min: number;
  readonly max: number | null;
  readonly format: string | null;
  readonly patterns: RegExp[];
}

export function stringBounds(s: Schema): StringBounds {
  const d = defOf(s);
  let min = 0;
  let max: number | null = null;
  const patterns: RegExp[] = [];
  let format = (d.format as string | undefined) ?? null;
  if (d.pattern instanceof RegExp) patterns.push(d.pattern);
  for (const c of checksOf(s)) {
    if (c.check === 'min_length') min = Math.max(min, c.minimum ?? 0);
    else if (c.check === 'max_length') max = Math.min(max ?? Number.POSITIVE_INFINITY, c.maximum ?? 0);
    else if (c.check === 'length_equals') min = max = c.length ?? 0;
    else if (c.check === 'string_format') {
      if (c.format && c.format !== 'regex') format = c.format;
      if (c.pattern instanceof RegExp) patterns.push(c.pattern);
    }
  }
  return { min, max, format, patterns };
}

export interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

export function numberBounds(s: Schema): NumberBounds {
  let min = -1e9;
  let max = 1e9;
  let integer = false;
  for (const c of checksOf(s)) {
    if (c.check === 'number_format') integer = /int/.test(c.format ?? '');
    else if (c.check === 'greater_than')
      min = Number(c.value) + (c.inclusive ? 0 : Number.EPSILON * Math.max(1, Math.abs(Number(c.value))));
    else if (c.check === 'less_than')
      max = Number(c.value) - (c.inclusive ? 0 : Number.EPSILON * Math.max(1, Math.abs(Number(c.value))));
  }
  return { min, max, integer };
}

// The project's one text schema adds this no-control-characters pattern; it needs no generating.
const isSafeTextPattern = (p: RegExp) => p.source.includes('\\p{Cc}');

/** A few realistic values per field name, so references sometimes hit what the fixture made. */
const HINTS: [RegExp, string[]][] = [
  [/^(symbol|instrument)$/i, ['BTC-USD', 'ETH-USD', 'NOPE-USD']],
  [/email/i, ['trader@example.com', 'nobody@example.org']],
];

function stringArbitrary(s: Schema, key: string): fc.Arbitrary<string> {
  const b = stringBounds(s);
  const maxLen = Math.max(b.min, Math.min(b.max ?? 24, 24));
  if (b.format === 'uuid' || b.format === 'guid') return fc.uuid({ version: [4, 7] });
  if (b.format === 'datetime')
    return fc
      .date({
        min: new Date('2020-01-01T00:00:00Z'),
        max: new Date('2030-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  if (b.format === 'email')
    return fc.constantFrom('trader@example.com', 'nobody@example.org', 'a.b@example.net');
  const hint = HINTS.find(([re]) => re.test(key));
  if (hint) return fc.constantFrom(...hint[1]);
  const pattern = b.patterns.find((p) => !isSafeTextPattern(p));
  if (pattern) {
    try {
      return fc
        .stringMatching(new RegExp(pattern.source, pattern.flags.replace('g', '')), { size: 'small' })
        .map((v) => (b.max !== null && v.length > b.max ? v.slice(0, b.max) : v));
    } catch {
      // fast-check cannot generate this pattern: printable text within the bounds instead.
    }
  }
  // Printable ASCII, no surrounding spaces (inputs are trimmed, and a blank one is refused).
  return fc
    .string({ minLength: Math.max(1, b.min), maxLength: Math.max(1, maxLen) })
    .map((v) => v.trim() || 'x'.repeat(Math.max(1, b.min)));
}

function numberArbitrary(s: Schema): fc.Arbitrary<number> {
  const b = numberBounds(s);
  if (b.integer)
    return fc.integer({
      min: Math.max(Math.ceil(b.min), Number.MIN_SAFE_INTEGER),
      max: Math.min(Math.floor(b.max), Number.MAX_SAFE_INTEGER),
    });
  return fc.double({ min: b.min, max: b.max, noNaN: true, noDefaultInfinity: true });
}

/** An arbitrary of JSON values that `schema` (zod 4) should accept; `key` names the field. */
export function arbitraryOf(schema: Schema, key = '', depth = 0): fc.Arbitrary<unknown> {
  const d = defOf(schema);
  if (depth > 8) return fc.constant(null);
  switch (d.type) {
    case 'string':
      return stringArbitrary(schema, key);
    case 'number':
      return numberArbitrary(schema);
    case 'int':
      return fc.integer({ min: -1000, max: 1000 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'literal':
      return fc.constantFrom(...(d.values as unknown[]));
    case 'enum':
      return fc.constantFrom(...Object.values(d.entries as Record<string, unknown>));
    case 'optional':
      return fc.option(arbitraryOf(d.innerType as Schema, key, depth), { nil: undefined, freq: 3 });
    case 'default':
    case 'prefault':
      return fc.option(arbitraryOf(d.innerType as Schema, key, depth), { nil: undefined, freq: 3 });
    case 'nullable':
      return fc.option(arbitraryOf(d.innerType as Schema, key, depth), { nil: null, freq: 5 });
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return arbitraryOf(d.innerType as Schema, key, depth);
    case 'pipe':
      return arbitraryOf(d.in as Schema, key, depth);
    case 'lazy':
      return arbitraryOf((d.getter as () => Schema)(), key, depth + 1);
    case 'union':
      return fc.oneof(...(d.options as Schema[]).map((o) => arbitraryOf(o, key, depth + 1)));
    case 'array': {
      const b = stringBounds(schema); // min_length / max_length checks read the same way
      const min = b.min;
      const max = Math.max(min, Math.min(b.max ?? 3, 3));
      return fc.array(arbitraryOf(d.element as Schema, key, depth + 1), { minLength: min, maxLength: max });
    }
    case 'object': {
      const shape = d.shape as Record<string, Schema>;
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [k, v] of Object.entries(shape)) {
        model[k] = arbitraryOf(v, k, depth + 1);
        if (!isOptionalKey(v)) required.push(k);
      }
      return fc
        .record(model, { requiredKeys: required })
        .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
    }
    case 'record':
      return fc.dictionary(
        fc.string({ minLength: 1, maxLength: 8 }),
        arbitraryOf(d.valueType as Schema, key, depth + 1),
        { maxKeys: 3 },
      );
    case 'tuple':
      return fc.tuple(...(d.items as Schema[]).map((i) => arbitraryOf(i, key, depth + 1)));
    default:
      // unknown, any, custom, transform: the schema says nothing; small JSON.
      return fc.jsonValue({ maxDepth: 2 });
  }
}
