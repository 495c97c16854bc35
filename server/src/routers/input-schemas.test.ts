import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { appRouter } from './_app.ts';

/**
 * Generated from the router, so a new procedure cannot forget: every object inside every
 * procedure's input refuses unknown keys (strict), and every string inside it refuses NUL and
 * other control characters (shared/src/schemas/text.ts). Walks zod 4's schema definitions.
 */
type Def = { type: string } & Record<string, unknown>;
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

interface Finding {
  readonly path: string;
  readonly problem: string;
}

/** Clean values of the shapes string inputs take: text, email, symbol, uuid, instant, hex, key. */
const PROBES = [
  'abcd',
  'trader@example.com',
  'BTC-USD',
  '0a6f2c1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  '2026-01-02T03:04:05Z',
  'a'.repeat(64),
  'aegis_0123456789abcdef',
];

function walk(schema: unknown, path: string, out: Finding[], seen = new Set<unknown>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = defOf(schema);
  const child = (s: unknown, p = path) => walk(s, p, out, seen);
  switch (def.type) {
    case 'object': {
      const catchall = def.catchall === undefined ? undefined : defOf(def.catchall).type;
      if (catchall !== 'never')
        out.push({ path, problem: 'object accepts unknown keys (use z.strictObject)' });
      for (const [k, v] of Object.entries(def.shape as Record<string, unknown>)) child(v, `${path}.${k}`);
      return;
    }
    case 'string': {
      // Every clean probe the field accepts must be refused with a control character inside it.
      const accepts = (v: string) => (schema as z.ZodType).safeParse(v).success;
      const bad = PROBES.filter(accepts)
        .flatMap((probe) => [`${probe.slice(0, 1)}\u0000${probe.slice(1)}`, `${probe}\u001b`])
        .find(accepts);
      if (bad !== undefined) out.push({ path, problem: `accepts ${JSON.stringify(bad)} (use safeText)` });
      return;
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      child(def.innerType);
      return;
    case 'pipe':
      child(def.in);
      child(def.out);
      return;
    case 'array':
      child(def.element, `${path}[]`);
      return;
    case 'union':
      for (const o of def.options as unknown[]) child(o);
      return;
    case 'intersection':
      child(def.left);
      child(def.right);
      return;
    case 'record':
      child(def.keyType, `${path}{key}`);
      child(def.valueType, `${path}{}`);
      return;
    case 'tuple':
      (def.items as unknown[]).forEach((s, i) => {
        child(s, `${path}[${i}]`);
      });
      if (def.rest) child(def.rest, `${path}[]`);
      return;
    case 'lazy':
      child((def.getter as () => unknown)());
      return;
    default:
      // Leaves (enum, literal, number, boolean, unknown, transform …) hold no text or keys.
      return;
  }
}

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { inputs: unknown[] } }>,
);

describe('procedure inputs are strict edges', () => {
  it('finds the procedures', () => {
    expect(procedures.length).toBeGreaterThan(40);
  });

  it('every procedure declares its input (noInput when it takes none), so nothing sent is ignored', () => {
    expect(procedures.filter(([, p]) => p._def.inputs.length === 0).map(([name]) => name)).toEqual([]);
  });

  it('every object refuses unknown keys and every string refuses control characters', () => {
    const findings: Finding[] = [];
    for (const [name, p] of procedures) for (const input of p._def.inputs) walk(input, name, findings);
    expect(findings.map((f) => `${f.path}: ${f.problem}`)).toEqual([]);
  });
});
