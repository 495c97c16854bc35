import { defOf, isOptionalKey, numberBounds, type Schema, stringBounds, unwrap } from './fuzz-arbitrary.ts';

/**
 * Breaking a generated input: find the places in a value (its "sites", walked together with the
 * schema) and apply one break to one site. Each break knows the path it damaged, and whether the
 * server must refuse it whatever the schema says today (an unknown key, a control character, a
 * wrong type, an unbounded string — every edge refuses them with the field named).
 */

export type Path = (string | number)[];

/** A JSON token written as-is (1e400, -0, NaN-looking numbers JSON.stringify cannot produce). */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** JSON text for a value that may hold RawJson tokens and own `__proto__` keys. */
export function toJson(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : toJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const parts: string[] = [];
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) parts.push(`${JSON.stringify(k)}:${toJson(x)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface Site {
  readonly path: Path;
  /** The schema at this place, unwrapped (string, number, object, array, enum …). */
  readonly schema: Schema;
  /** The wrapped schema (optional/nullable/default) as the parent declares it. */
  readonly declared: Schema;
  readonly present: boolean;
}

/** Which option of a union a value belongs to: the first that accepts it, else the first. */
function optionFor(options: Schema[], value: unknown): Schema {
  for (const o of options) {
    if ((o as unknown as { safeParse(v: unknown): { success: boolean } }).safeParse(value).success) return o;
  }
  return options[0]!;
}

export function sitesOf(declared: Schema, value: unknown, path: Path = [], out: Site[] = []): Site[] {
  let schema = unwrap(declared);
  while (defOf(schema).type === 'union') schema = unwrap(optionFor(defOf(schema).options as Schema[], value));
  out.push({ path, schema, declared, present: value !== undefined });
  const d = defOf(schema);
  if (d.type === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, s] of Object.entries(d.shape as Record<string, Schema>)) {
      sitesOf(s, (value as Record<string, unknown>)[k], [...path, k], out);
    }
  } else if (d.type === 'array' && Array.isArray(value) && value.length > 0) {
    sitesOf(d.element as Schema, value[0], [...path, 0], out);
  }
  return out;
}

export interface Broken {
  readonly label: string;
  readonly value: unknown;
  /** The damaged place: the server's error must name it (or a place inside it). */
  readonly path: Path;
  /** An unknown key: named by the parent's path plus the key, or in the parent's message. */
  readonly extraKey?: string;
  /** Refused by the platform's input rules whatever the schema says today. */
  readonly mustRefuse: boolean;
}

/** Sets `path` in a deep copy of `root` (undefined deletes the key). */
export function setAt(root: unknown, path: Path, v: unknown): unknown {
  if (path.length === 0) return v;
  const [head, ...rest] = path;
  const base: unknown =
    root !== null && typeof root === 'object'
      ? Array.isArray(root)
        ? [...root]
        : Object.assign(Object.create(null), root)
      : typeof head === 'number'
        ? []
        : Object.create(null);
  const container = base as Record<string | number, unknown>;
  const next = setAt(container[head!], rest, v);
  if (next === undefined && !Array.isArray(container)) delete container[head!];
  else container[head!] = next;
  return container;
}

/** Adds an own key (including `__proto__`, which a plain assignment would not create). */
function withOwnKey(obj: unknown, key: string, v: unknown): unknown {
  const copy = Object.assign(Object.create(null), obj);
  Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true });
  return copy;
}

const getAt = (root: unknown, path: Path): unknown =>
  path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as never)[k] : undefined), root);

/** Control characters every string input must refuse (NUL first: PostgreSQL cannot store it). */
export const CONTROL = ['\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\ud800'];

export const EXTRA_KEYS = ['tenantId', '__proto__', 'constructor', 'isPlatformAdmin', 'x-extra'];

/** A different JSON type than the schema wants. */
function wrongTypeFor(kind: string, pick: <T>(xs: readonly T[]) => T): unknown {
  const all: Record<string, unknown[]> = {
    string: [42, true, null, [], {}, 1.5],
    number: ['NaN', '1', true, null, [], {}, 'Infinity'],
    boolean: ['true', 1, 0, null, []],
    object: ['{}', 42, [], null, true],
    // An empty object is a record's own type (a seeded run once sent `{}` as "wrong").
    record: ['{}', 42, [], null, true],
    array: ['[]', 42, {}, null, 'a,b'],
    enum: [7, true, null, {}, ['x']],
    literal: [7, false, null, {}],
  };
  return pick(all[kind] ?? [42, 'x', null, {}]);
}

export interface BreakOptions {
  /** Queries travel in the URL: keep a broken input under the server's header size. */
  readonly maxChars: number;
  readonly pick: <T>(xs: readonly T[]) => T;
  readonly chance: (p: number) => boolean;
}

/** Every break that applies to `site` of `value`. */
export function breaksFor(value: unknown, site: Site, o: BreakOptions): Broken[] {
  const { path, schema } = site;
  const d = defOf(schema);
  const kind = d.type;
  const out: Broken[] = [];
  const at = (label: string, v: unknown, mustRefuse: boolean, p: Path = path): Broken => ({
    label,
    value: setAt(value, path, v),
    path: p,
    mustRefuse,
  });

  // Wrong JSON type at this place: one the schema there refuses (null where it is nullable, or
  // `{}` for a union with an all-optional object, is not wrong).
  const wrong = wrongTypeFor(kind, o.pick);
  if (!(site.declared as unknown as { safeParse(v: unknown): { success: boolean } }).safeParse(wrong).success)
    out.push(at(`wrong type (${JSON.stringify(wrong)})`, wrong, true));

  if (kind === 'object' && site.present) {
    const key = o.pick(EXTRA_KEYS);
    const cur = getAt(value, path);
    const extraVal =
      key === '__proto__' ? { isAdmin: true, polluted: 1 } : key === 'tenantId' ? crypto.randomUUID() : 1;
    out.push({
      label: `unknown key ${key}`,
      value: setAt(value, path, withOwnKey(cur, key, extraVal)),
      path,
      extraKey: key,
      mustRefuse: true,
    });
    const shape = d.shape as Record<string, Schema>;
    const required = Object.entries(shape).filter(([, s]) => !isOptionalKey(s));
    if (required.length > 0) {
      const [k] = o.pick(required);
      out.push(at(`missing ${k}`, setAt(cur, [k], undefined), true, [...path, k]));
    }
  }

  if (kind === 'string') {
    const b = stringBounds(schema);
    const base = typeof getAt(value, path) === 'string' ? String(getAt(value, path)) : 'abc';
    const c = o.pick(CONTROL);
    const mid = Math.floor(base.length / 2);
    out.push(
      at(`control character ${JSON.stringify(c)}`, `${base.slice(0, mid)}${c}${base.slice(mid)}`, true),
    );
    // Over the bound (every input is bounded; an unbounded one gets a string past any sane size).
    const limit = b.max ?? 100_000;
    const len = limit + 1;
    if (len * 3 < o.maxChars) out.push(at(`huge string (${len})`, 'a'.repeat(len), true));
    if (b.format === 'datetime' || /At$|^from$|^to$|^before$|tsEvent/.test(String(path.at(-1)))) {
      const bad = o.pick([
        '2024-02-30T00:00:00Z',
        '2024-13-01T00:00:00Z',
        'not a date',
        '0000-00-00T00:00:00Z',
      ]);
      out.push(at(`invalid date ${bad}`, bad, true));
      const edge = o.pick(['1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z']);
      out.push(at(`boundary date ${edge}`, edge, false));
    }
    if (b.patterns.some((p) => /\\d|\[0-9\]/.test(p.source))) {
      // Decimal strings: boundary spellings.
      const dec = o.pick([
        'NaN',
        '1e308',
        '-0',
        '0.000000000000000000000000001',
        `9${'9'.repeat(60)}.99`,
        '-1',
        '1_000',
      ]);
      out.push(at(`decimal ${dec.slice(0, 20)}`, dec, false));
    }
  }

  if (kind === 'number') {
    const b = numberBounds(schema);
    const n = o.pick([
      new RawJson('1e400'),
      1e308,
      new RawJson('-0'),
      -1e308,
      new RawJson('123456789012345678901234567890'),
      b.integer ? 1.5 : Number.MIN_VALUE,
      b.max + 1,
      b.min - 1,
    ]);
    const label = n instanceof RawJson ? n.text : String(n);
    out.push(at(`number ${label}`, n, n instanceof RawJson && n.text === '1e400'));
    out.push(at('number "NaN" as string', 'NaN', true));
  }

  if (kind === 'array') {
    const b = stringBounds(schema);
    const cur = getAt(value, path);
    const item = Array.isArray(cur) && cur.length > 0 ? cur[0] : 'x';
    const len = (b.max ?? 20_000) + 1;
    if (toJson(item).length * len * 3 < o.maxChars)
      out.push(
        at(
          `huge array (${len})`,
          Array.from({ length: len }, () => item),
          true,
        ),
      );
  }

  if (kind === 'enum' || kind === 'literal') out.push(at('value outside the enum', 'zz_not_a_value', true));
  return out;
}

/** Dotted path as the server's errorFormatter writes it ('(input)' for the root). */
export const dotted = (p: Path): string => (p.length === 0 ? '(input)' : p.map(String).join('.'));

export interface ServerField {
  readonly path: string;
  readonly message: string;
}

/** Does the refusal name the damaged place? */
export function namesPath(
  fields: readonly ServerField[] | null | undefined,
  message: string,
  broken: Pick<Broken, 'path' | 'extraKey'>,
): boolean {
  const want = dotted(broken.path);
  const list = fields ?? [];
  if (broken.extraKey !== undefined) {
    const full = dotted([...broken.path, broken.extraKey]);
    return (
      list.some((f) => f.path === full || (f.path === want && f.message.includes(broken.extraKey!))) ||
      message.includes(full) ||
      (broken.path.length === 0 && message.includes(`"${broken.extraKey}"`))
    );
  }
  // The whole input was damaged: naming the input or any field inside it is precise.
  if (want === '(input)') return list.length > 0;
  if (list.some((f) => f.path === want || f.path.startsWith(`${want}.`))) return true;
  // A domain error without zod issues: the message must name the field.
  return message.includes(want);
}
