import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./eval-cli.ts', import.meta.url));
const dirs: string[] = [];

async function evalInto(...args: string[]): Promise<{ dir: string; stdout: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'aegis-eval-'));
  dirs.push(dir);
  const { stdout } = await run(process.execPath, [
    CLI,
    '--symbols',
    '4',
    '--ticks',
    '40000',
    '--out-dir',
    dir,
    ...args,
  ]);
  return { dir, stdout };
}

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('eval:signals CLI', () => {
  it('writes a valid SignalEvaluation and chart, byte-identical for the same arguments', async () => {
    const a = await evalInto('--split', 'validation');
    const b = await evalInto('--split', 'validation', '--json');
    const jsonA = await readFile(join(a.dir, 'signals-validation.json'), 'utf8');
    const jsonB = await readFile(join(b.dir, 'signals-validation.json'), 'utf8');
    expect(jsonA).toBe(jsonB);
    expect(await readFile(join(a.dir, 'signals-validation.svg'), 'utf8')).toBe(
      await readFile(join(b.dir, 'signals-validation.svg'), 'utf8'),
    );
    const evaluation = signalEvaluationSchema.parse(JSON.parse(jsonA));
    expect(evaluation.split).toBe('validation');
    expect(evaluation.ticks).toBe(3 * 40_000);
    expect(new Set(evaluation.rows.map((r) => r.source))).toEqual(
      new Set(['engine', 'momentum', 'mean_reversion_rule', 'random']),
    );
    // --json prints exactly the file; the table names every source and the target.
    expect(b.stdout).toBe(jsonA);
    expect(a.stdout).toContain('mean-reversion rule');
    expect(a.stdout).toMatch(/target (MET|NOT met)/);
  }, 60_000);

  it('refuses a bad argument with a usage error (status 2)', async () => {
    await expect(run(process.execPath, [CLI, '--split', 'holdout'])).rejects.toMatchObject({ code: 2 });
  });
});
