/**
 * The configuration reference, generated: docs/configuration.md is rendered from the zod schemas
 * each app parses its environment with, so a variable added, removed or re-defaulted in a schema
 * changes the document (and `tools/config-reference.test.ts` fails until it is regenerated).
 *
 *   node tools/config-reference.ts           print the reference
 *   node tools/config-reference.ts --write   write docs/configuration.md
 *
 * The schemas give the names, defaults and accepted values; the descriptions live in DESCRIPTIONS
 * below, one per variable per app (the test fails when one is missing or names no variable).
 */

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { APPS, type AppName, type AppSource, DESCRIPTIONS, type Description } from './config-descriptions.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUTPUT = 'docs/configuration.md';

// ---- reading a zod schema ---------------------------------------------------------------------

/** The parts of zod 4's runtime definitions this file reads (`schema._zod.def`). */
interface ZodDefLike {
  readonly type: string;
  readonly innerType?: ZodLike;
  readonly in?: ZodLike;
  readonly out?: ZodLike;
  readonly shape?: Record<string, ZodLike>;
  readonly entries?: Record<string, string | number>;
  readonly defaultValue?: unknown;
  readonly coerce?: boolean;
  readonly checks?: readonly ZodLike[];
  readonly check?: string;
  readonly format?: string;
  readonly pattern?: RegExp | string;
  readonly value?: number;
  readonly minimum?: number;
  readonly error?: (issue?: unknown) => unknown;
}
interface ZodLike {
  readonly _zod: { readonly def: ZodDefLike };
}

export interface VariableInfo {
  readonly name: string;
  /** As written in the table: `` `4000` ``, `unset`, `**required**`, `empty`. */
  readonly default: string;
  readonly accepts: string;
}

const BOOL_VALUES = ['true', 'false', '1', '0', 'yes', 'no'];

/** The object schema at the root of an app's schema (through `.refine` / `.transform`). */
export function objectShape(schema: z.ZodType): Record<string, ZodLike> {
  let node = schema as unknown as ZodLike;
  for (;;) {
    const def = node._zod.def;
    if (def.type === 'object' && def.shape) return def.shape;
    if (def.type === 'pipe' && def.in) node = def.in;
    else throw new Error(`not an object schema: ${def.type}`);
  }
}

export function variablesOf(schema: z.ZodType): VariableInfo[] {
  return Object.entries(objectShape(schema)).map(([name, field]) => describeField(name, field));
}

function describeField(name: string, field: ZodLike): VariableInfo {
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  const refinements: string[] = [];
  let node: ZodLike | undefined = field;
  let accepts: string | null = null;
  while (node && accepts === null) {
    const def: ZodDefLike = node._zod.def;
    refinements.push(...refinementMessages(def));
    switch (def.type) {
      case 'default':
        if (!hasDefault) {
          hasDefault = true;
          defaultValue = def.defaultValue;
        }
        node = def.innerType;
        break;
      case 'optional':
        optional = true;
        node = def.innerType;
        break;
      case 'pipe':
        // `.transform()` is a pipe into a transform (read its input); `z.preprocess()` a pipe from
        // one (read its output).
        node = def.out?._zod.def.type === 'transform' ? def.in : def.out;
        break;
      case 'transform':
        accepts = 'text';
        break;
      case 'enum':
        accepts = enumText(Object.values(def.entries ?? {}).map(String));
        break;
      case 'number':
        accepts = numberText(def);
        break;
      case 'string':
        accepts = stringText(def);
        break;
      case 'boolean':
        accepts = 'boolean';
        break;
      default:
        throw new Error(`${name}: zod type ${def.type} is not rendered; teach tools/config-reference.ts`);
    }
  }
  // A refinement's message says more than "text" (`must be a postgres:// URL`).
  const all =
    accepts === 'text' && refinements.length > 0 ? refinements : [accepts ?? 'text', ...refinements];
  return {
    name,
    default: hasDefault ? defaultText(defaultValue) : optional ? 'unset' : '**required**',
    accepts: all.join('; '),
  };
}

function enumText(values: string[]): string {
  if (values.length === BOOL_VALUES.length && BOOL_VALUES.every((v) => values.includes(v)))
    return 'boolean: `true`/`false` (also `1`/`0`, `yes`/`no`)';
  return `one of ${values.map((v) => `\`${v}\``).join(', ')}`;
}

function numberText(def: ZodDefLike): string {
  let integer = false;
  let min: number | undefined;
  let max: number | undefined;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32')) integer = true;
    if (c.check === 'greater_than') min = c.value;
    if (c.check === 'less_than') max = c.value;
  }
  const kind = integer ? 'integer' : 'number';
  const hasMax = max !== undefined && max < Number.MAX_SAFE_INTEGER;
  if (min !== undefined && hasMax) return `${kind} ${num(min)} to ${num(max as number)}`;
  if (min !== undefined) return `${kind} ≥ ${num(min)}`;
  if (hasMax) return `${kind} ≤ ${num(max as number)}`;
  return kind;
}

/** Bounds of a range: 600000 → `600,000` (defaults stay as they would be typed). */
const num = (n: number) => (Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(n));

function stringText(def: ZodDefLike): string {
  const parts: string[] = [];
  let minLength = 0;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'string_format' && c.format === 'url') parts.unshift('URL');
    else if (c.check === 'string_format' && c.format === 'regex' && c.pattern !== undefined)
      parts.push(`matching \`${patternText(c.pattern)}\``);
    else if (c.check === 'min_length') minLength = c.minimum ?? 0;
  }
  if (parts.length === 0) parts.push(minLength > 0 ? 'non-empty text' : 'text');
  return parts.join(' ');
}

/** A regex as written in the schema, without the `\/` escapes RegExp#source adds. */
const patternText = (p: RegExp | string) => (p instanceof RegExp ? p.source : p).replaceAll('\\/', '/');

/** Messages of `.refine()` checks, which say in words what the rule accepts. */
function refinementMessages(def: ZodDefLike): string[] {
  const out: string[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check !== 'custom' || typeof c.error !== 'function') continue;
    const message = c.error();
    if (typeof message === 'string' && message.length > 0) out.push(message);
  }
  return out;
}

function defaultText(value: unknown): string {
  if (value === '') return 'empty';
  return `\`${String(value)}\``;
}

// ---- rendering ------------------------------------------------------------------------------------

export interface LoadedApp {
  readonly source: AppSource;
  /** null: the module does not export its schema under `source.exportName`. */
  readonly schema: z.ZodType | null;
}

export async function loadApps(apps: readonly AppSource[] = APPS): Promise<LoadedApp[]> {
  const loaded: LoadedApp[] = [];
  for (const source of apps) {
    const mod = (await import(join(ROOT, source.file))) as Record<string, unknown>;
    const schema = mod[source.exportName];
    loaded.push({ source, schema: schema === undefined ? null : (schema as z.ZodType) });
  }
  return loaded;
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function descriptionOf(app: AppName, name: string): Exclude<Description, string> {
  const d = DESCRIPTIONS[app][name];
  if (d === undefined) return { text: '' };
  return typeof d === 'string' ? { text: d } : d;
}

export function renderReference(apps: readonly LoadedApp[]): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    "<!-- Generated by `node tools/config-reference.ts --write` from the apps' zod schemas; do not edit",
    '     by hand (tools/config-reference.test.ts fails when this file differs from the schemas). -->',
    '',
    'Every app reads its environment in one file, parses it once at start with zod and freezes the',
    'result; a missing or malformed variable stops the process before it listens, with a message',
    'naming every bad variable and never its value. Numbers are written in decimal; booleans accept',
    '`true`/`false`, `1`/`0`, `yes`/`no`. "unset" means the variable is optional and its absence has',
    'the meaning the description gives. The most used variables are summarised in the README',
    '("Configuration").',
    '',
  ];
  for (const { source, schema } of apps) {
    lines.push(
      `## ${source.title}`,
      '',
      `Schema: \`${source.file}\` (\`${source.exportName}\`). ${source.intro}`,
      '',
    );
    if (schema === null) {
      lines.push(
        `Not generated: \`${source.file}\` does not export \`${source.exportName}\` yet; its`,
        'variables are read there.',
        '',
      );
      continue;
    }
    lines.push('| variable | default | accepts | description |', '|---|---|---|---|');
    for (const v of variablesOf(schema)) {
      const d = descriptionOf(source.app, v.name);
      const row = [`\`${v.name}\``, d.default ?? v.default, d.accepts ?? v.accepts, d.text];
      lines.push(`| ${row.map(cell).join(' | ')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Variables with no description, and descriptions of no variable (checked for loaded apps). */
export function descriptionProblems(apps: readonly LoadedApp[]): string[] {
  const problems: string[] = [];
  for (const { source, schema } of apps) {
    if (schema === null) continue;
    const names = new Set(Object.keys(objectShape(schema)));
    const described = DESCRIPTIONS[source.app];
    for (const name of names)
      if (!described[name]) problems.push(`${source.app}: ${name} has no description`);
    for (const name of Object.keys(described))
      if (!names.has(name))
        problems.push(`${source.app}: description of ${name}, which the schema does not define`);
  }
  return problems;
}

async function main(argv: readonly string[]): Promise<void> {
  const apps = await loadApps();
  const problems = descriptionProblems(apps);
  if (problems.length > 0) {
    process.stderr.write(`config-reference: ${problems.join('\n  ')}\n`);
    process.exitCode = 1;
    return;
  }
  const text = renderReference(apps);
  if (argv.includes('--write')) {
    writeFileSync(join(ROOT, OUTPUT), text);
    process.stdout.write(`wrote ${OUTPUT}\n`);
  } else {
    process.stdout.write(text);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
