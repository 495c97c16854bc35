import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { APPS } from './config-descriptions.ts';
import {
  descriptionProblems,
  type LoadedApp,
  loadApps,
  OUTPUT,
  ROOT,
  renderReference,
  variablesOf,
} from './config-reference.ts';

const apps = await loadApps();

describe('docs/configuration.md', () => {
  it('is what the schemas generate (regenerate: node tools/config-reference.ts --write)', () => {
    const committed = readFileSync(join(ROOT, OUTPUT), 'utf8');
    expect(committed).toBe(renderReference(apps));
  });

  it('describes every variable, and describes no variable the schemas lack', () => {
    expect(descriptionProblems(apps)).toEqual([]);
  });

  // The README's short table may only name variables some schema defines (checked once every
  // app's schema is exported; until then the missing apps' variables cannot be told from typos).
  it.skipIf(apps.some((a) => a.schema === null))('README table names only defined variables', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration\n'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration\n') + 1),
    );
    const named = new Set<string>();
    for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
      const firstCell = line.split('|')[1] ?? '';
      for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) named.add(m[1] as string);
    }
    const defined = new Set(apps.flatMap((a) => (a.schema ? variablesOf(a.schema).map((v) => v.name) : [])));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((n) => !defined.has(n))).toEqual([]);
  });

  it('reads the server and engine schemas (their exports exist)', () => {
    const loaded = apps.filter((a) => a.schema !== null).map((a) => a.source.app);
    expect(loaded).toEqual(expect.arrayContaining(['server', 'engine']));
  });
});

describe('reading a schema', () => {
  const envInt = (d: number, min: number, max: number) =>
    z.coerce.number().int().min(min).max(max).default(d);
  const schema = z
    .object({
      PORT: envInt(4000, 1, 65535),
      MODE: z.enum(['block', 'drop']).default('block'),
      ON: z
        .enum(['true', 'false', '1', '0', 'yes', 'no'])
        .default('false')
        .transform((v) => v === 'true'),
      URL: z.string().url().optional(),
      DB: z.string().refine((s) => s.startsWith('postgres://'), 'must be a postgres:// URL'),
      WS: z.preprocess(
        (v) => v,
        z
          .string()
          .regex(/^wss?:\/\//)
          .default('wss://x'),
      ),
      RATE: z.coerce.number().min(0).max(0.5).default(0.04),
    })
    .refine(() => true);

  it('gives each variable its default and what it accepts', () => {
    expect(variablesOf(schema)).toEqual([
      { name: 'PORT', default: '`4000`', accepts: 'integer 1 to 65,535' },
      { name: 'MODE', default: '`block`', accepts: 'one of `block`, `drop`' },
      { name: 'ON', default: '`false`', accepts: 'boolean: `true`/`false` (also `1`/`0`, `yes`/`no`)' },
      { name: 'URL', default: 'unset', accepts: 'URL' },
      { name: 'DB', default: '**required**', accepts: 'must be a postgres:// URL' },
      { name: 'WS', default: '`wss://x`', accepts: 'matching `^wss?://`' },
      { name: 'RATE', default: '`0.04`', accepts: 'number 0 to 0.5' },
    ]);
  });

  it('finds undescribed variables and descriptions of no variable', () => {
    const server = APPS.find((a) => a.app === 'server');
    if (!server) throw new Error('server app missing');
    const fake: LoadedApp = { source: server, schema: z.object({ NOT_A_SERVER_VARIABLE: z.string() }) };
    const problems = descriptionProblems([fake]);
    expect(problems).toContain('server: NOT_A_SERVER_VARIABLE has no description');
    expect(problems).toContain('server: description of DATABASE_URL, which the schema does not define');
  });

  it('escapes table cells', () => {
    const server = APPS.find((a) => a.app === 'server');
    if (!server) throw new Error('server app missing');
    const text = renderReference([
      { source: server, schema: z.object({ DATABASE_URL: z.string().regex(/^a|b$/) }) },
    ]);
    expect(text).toContain('| `DATABASE_URL` | **required** | matching `^a\\|b$` |');
  });
});
