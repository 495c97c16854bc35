import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Architecture rule: nothing reaches a broker except through the execution service. Only
 * `server/src/execution/**` (and the adapters themselves) may import `server/src/brokers/**`,
 * with two exceptions: modules that carry no way to send an order (the type-only `brokers/types.ts`
 * and `brokers/connection.ts`, the call policy `brokers/resilience.ts`, the market-data
 * `brokers/quote-book.ts`), and tests (`<package>/tests/**`, `*.test.ts`), which drive adapters
 * against local fake brokers: production code never lives there.
 * Scans every TypeScript file of every package.
 */
const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const PACKAGES = ['shared', 'server', 'engine', 'scripts', 'web'];
const ALLOWED_IMPORTERS = [
  `server${sep}src${sep}execution${sep}`,
  `server${sep}src${sep}brokers${sep}`,
  `server${sep}tests${sep}integration${sep}support${sep}`,
];
const TEST_FILE_RE = /^[a-z]+[\\/]tests[\\/]|\.test\.tsx?$/;
// Interfaces and pure helpers that place no order: types, the resilience policy, the price book,
// ccxt's exchange list and its number → decimal conversion (the instrument loader reads markets).
const HARMLESS = new Set([
  'types',
  'connection',
  'resilience',
  'quote-book',
  'ccxt/catalogue',
  'ccxt/decimals',
]);

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist' || name === '.output') continue;
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) yield* files(p);
    else if (/\.(ts|tsx|mts)$/.test(name)) yield p;
  }
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The broker module a specifier points at (`paper`, `types`, …), or null. */
function brokerModule(fromFile: string, spec: string): string | null {
  let target: string | null = null;
  if (spec.startsWith('@aegis/server/brokers/')) target = spec.slice('@aegis/server/brokers/'.length);
  else if (spec.startsWith('.')) {
    const abs = resolve(fromFile, '..', spec);
    const brokersDir = join(ROOT, 'server', 'src', 'brokers') + sep;
    if (abs.startsWith(brokersDir)) target = abs.slice(brokersDir.length);
  }
  return target === null ? null : target.replace(/\.ts$/, '');
}

export function findViolations(): string[] {
  const out: string[] = [];
  for (const pkg of PACKAGES) {
    let dir: string;
    try {
      dir = join(ROOT, pkg);
      statSync(dir);
    } catch {
      continue;
    }
    for (const f of files(dir)) {
      const rel = relative(ROOT, f);
      if (ALLOWED_IMPORTERS.some((a) => rel.startsWith(a)) || TEST_FILE_RE.test(rel)) continue;
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2]!;
        const mod = brokerModule(f, spec);
        if (mod !== null && !HARMLESS.has(mod)) out.push(`${rel} imports ${spec}`);
      }
    }
  }
  return out;
}

describe('architecture: broker adapters', () => {
  it('only the execution service imports a broker adapter', () => {
    expect(findViolations()).toEqual([]);
  });

  it('the scan sees an adapter import (self-check)', () => {
    const self = join(ROOT, 'server', 'src', 'routers', 'x.ts');
    expect(brokerModule(self, '../brokers/paper.ts')).toBe('paper');
    expect(brokerModule(self, '@aegis/server/brokers/paper')).toBe('paper');
    expect(brokerModule(self, '../execution/runtime.ts')).toBeNull();
  });
});
