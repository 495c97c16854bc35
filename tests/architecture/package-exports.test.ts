import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGES, REPOSITORY_ROOT } from './dependency-direction.ts';
import { exportsOf, packageImportsOf, unexportedImports } from './package-exports.ts';

describe("each package's exports name its public surface", () => {
  it('names every subpath imported by package name (add it to the exports, or import what is)', () => {
    expect(
      unexportedImports(REPOSITORY_ROOT).map(
        (i) =>
          `${i.file}:${i.line} imports '${i.specifier}': ${i.target}/package.json exports no '${i.subpath}'`,
      ),
    ).toEqual([]);
    // It reads every source file of the repository: 6.5 s once in a CI run beside the
    // integration files (the 5 s default failed it), ~1 s on an idle machine.
  }, 60_000);

  it('names each subpath on its own (no pattern), each pointing at a file that exists', () => {
    for (const pkg of PACKAGES) {
      for (const [subpath, target] of Object.entries(exportsOf(REPOSITORY_ROOT, pkg))) {
        expect(subpath, `${pkg}: ${subpath}`).not.toContain('*');
        expect(existsSync(join(REPOSITORY_ROOT, pkg, target)), `${pkg}: ${subpath} → ${target}`).toBe(true);
      }
    }
  });

  it('refuses a deep import of a module the package does not export', () => {
    const require = createRequire(join(REPOSITORY_ROOT, 'tests', 'architecture', 'x.ts'));
    expect(require.resolve('@aegis/server/router')).toBe(join(REPOSITORY_ROOT, 'server/src/routers/_app.ts'));
    expect(() => require.resolve('@aegis/server/auth/api-keys')).toThrow(
      expect.objectContaining({ code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }),
    );
    expect(() => require.resolve('@aegis/engine/ring/ring-buffer')).toThrow(
      expect.objectContaining({ code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }),
    );
  });
});

describe('the exports checker', () => {
  it('reads the subpath of every import by package name, types and dynamic imports included', () => {
    const source = [
      "import { a } from '@aegis/shared';",
      "import type { AppRouter } from '@aegis/server/router';",
      "const m = await import('@aegis/engine/jobs/backtest-jobs');",
      "export { b } from '@aegis/shared/schemas/order';",
      // Not ours, and not a package name.
      "import { z } from 'zod';",
      "import { c } from '@aegis/unknown/thing';",
      "import { d } from '../server/src/http.ts';",
    ].join('\n');
    expect(packageImportsOf('tests/e2e/x.ts', source).map((i) => [i.line, i.target, i.subpath])).toEqual([
      [1, 'shared', '.'],
      [2, 'server', './router'],
      [3, 'engine', './jobs/backtest-jobs'],
      [4, 'shared', './schemas/order'],
    ]);
  });
});
