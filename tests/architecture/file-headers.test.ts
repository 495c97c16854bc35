/**
 * A file over 400 lines says why in its header: the first thing in it is a comment (before any
 * import), so a reader knows whether its length is one mechanism or several waiting to be split.
 * Generated and vendored files are not in git's tree (dist, node_modules), so they are not read.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMIT = 400;

/** The tracked TypeScript files, as git lists them. */
function trackedSources(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.tsx'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\0').filter((p) => p.length > 0);
}

/** True when the first non-blank line opens a comment (`//` or `/*`). */
function startsWithComment(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim().length > 0);
  return first !== undefined && /^\s*(\/\/|\/\*)/.test(first);
}

describe('file headers', () => {
  it('startsWithComment tells a header comment from code', () => {
    expect(startsWithComment('\n// why\nimport x from "y";')).toBe(true);
    expect(startsWithComment('/**\n * why\n */\nexport {}')).toBe(true);
    expect(startsWithComment('import x from "y";\n// later')).toBe(false);
  });

  it(`every file over ${LIMIT} lines starts with a comment that says why`, () => {
    const missing: string[] = [];
    for (const path of trackedSources()) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, path), 'utf8');
      } catch {
        continue; // deleted in the working tree, not yet committed
      }
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > LIMIT && !startsWithComment(text)) missing.push(`${path} (${lines} lines)`);
    }
    expect(missing, 'add a header comment saying why the file is one piece (or split it)').toEqual([]);
    // Reads every tracked source file: give it room on a machine busy with other test files.
  }, 60_000);
});
