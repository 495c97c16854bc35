import { describe, expect, it } from 'vitest';
import {
  checkFile,
  checkRepository,
  importsOf,
  placeOfImport,
  REPOSITORY_ROOT,
  type Violation,
} from './dependency-direction.ts';

/**
 * Imports that break the direction today, each to be removed by moving or rewriting the file
 * named (the test fails when an entry is no longer needed, so this list only shrinks). Keyed by
 * file and import specifier: a new forbidden import in the same file still fails.
 */
const PENDING: readonly {
  readonly reason: string;
  readonly imports: readonly (readonly [string, string])[];
}[] = [];

const pendingKey = (file: string, specifier: string) => `${file} → ${specifier}`;
const show = (v: Violation) => `${v.file}:${v.line} imports '${v.specifier}' (${v.rule})`;

describe('dependency direction of the repository', () => {
  const violations = checkRepository(REPOSITORY_ROOT);
  const pending = new Set(PENDING.flatMap((p) => p.imports.map(([f, s]) => pendingKey(f, s))));

  it('has no import against the direction beyond the pending list', () => {
    expect(violations.filter((v) => !pending.has(pendingKey(v.file, v.specifier))).map(show)).toEqual([]);
  });

  it('lists no pending import that is already gone (remove its entry)', () => {
    const seen = new Set(violations.map((v) => pendingKey(v.file, v.specifier)));
    expect([...pending].filter((k) => !seen.has(k))).toEqual([]);
  });
});

describe('the dependency checker', () => {
  it('catches every form of import of server code from the engine, types included', () => {
    const source = [
      "import { Halts } from '../../server/src/execution/halt.ts';",
      "import type { AppRouter } from '@aegis/server/router';",
      "export { startServer } from '@aegis/server/http';",
      "import '../../server/src/env.ts';",
      "const m = await import('@aegis/server/audit/service');",
      "const r = require('../../server/src/http.ts');",
      "type T = import('@aegis/server/router').AppRouter;",
      // Not imports: a string and a comment that look like one.
      "const s = \"import { x } from '@aegis/server/http'\"; // import('@aegis/server/http')",
      "import { z } from 'zod';",
      "import { RingBuffer } from '../src/ring/ring-buffer.ts';",
    ].join('\n');
    const v = checkFile('engine/bench/example.ts', source);
    expect(v.map((x) => [x.line, x.specifier])).toEqual([
      [1, '../../server/src/execution/halt.ts'],
      [2, '@aegis/server/router'],
      [3, '@aegis/server/http'],
      [4, '../../server/src/env.ts'],
      [5, '@aegis/server/audit/service'],
      [6, '../../server/src/http.ts'],
      [7, '@aegis/server/router'],
    ]);
    expect(new Set(v.map((x) => x.rule))).toEqual(new Set(['the engine imports nothing of the server']));
  });

  it("lets web and scripts import the server's types only", () => {
    const source = [
      "import type { AppRouter } from '@aegis/server/router';",
      "export type { RouterInputs } from '@aegis/server/router';",
      // Loads the module at runtime under verbatimModuleSyntax: not type-only.
      "import { type AppRouter as R } from '@aegis/server/router';",
      "const { audit } = await import('@aegis/server/audit/service');",
    ].join('\n');
    expect(checkFile('web/src/lib/example.ts', source).map((x) => x.line)).toEqual([3, 4]);
    expect(checkFile('scripts/src/commands/example.ts', source).map((x) => x.line)).toEqual([3, 4]);
  });

  it('forbids shared from importing any app, and leaves the top level free', () => {
    const source = [
      "import { startEngine } from '../../engine/src/index.ts';",
      "import type { AppRouter } from '@aegis/server/router';",
      "import { x } from '../../web/src/lib/trpc.ts';",
      "import { y } from '@aegis/scripts/lib/client';",
      "import { z } from './schemas/order.ts';",
    ].join('\n');
    expect(checkFile('shared/src/example.ts', source).map((x) => x.rule)).toEqual([
      'shared imports no app (engine)',
      'shared imports no app (server)',
      'shared imports no app (web)',
      'shared imports no app (scripts)',
    ]);
    expect(checkFile('tests/e2e/example.test.ts', source)).toEqual([]);
    expect(checkFile('launcher/src/start.ts', source)).toEqual([]);
  });

  it('resolves relative imports by where they land, not by how they are spelled', () => {
    // web's own folder named `server` is web.
    expect(placeOfImport('web/src/routes/trpc/[...path].ts', '../../server/trpc-proxy.ts')).toBe('web');
    expect(placeOfImport('web/src/routes/x.ts', '../../../server/src/http.ts')).toBe('server');
    expect(placeOfImport('engine/src/index.ts', './stages/feeds.ts')).toBe('engine');
    expect(placeOfImport('engine/tests/x.ts', '../../tests/e2e/helper.ts')).toBe('top-level');
    expect(placeOfImport('web/src/app.tsx', '~/lib/trpc')).toBe('web');
    expect(placeOfImport('engine/src/x.ts', 'node:fs')).toBe('external');
  });

  it('reads imports from TSX', () => {
    const refs = importsOf(
      'web/src/x.tsx',
      "import { A } from './a.tsx';\nexport default function X() { return <div>{import.meta.env.MODE}</div>; }",
    );
    expect(refs).toEqual([{ specifier: './a.tsx', typeOnly: false, line: 1 }]);
  });
});
