import { randomBytes } from 'node:crypto';
import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startEngine } from '../../src/index.ts';
import { loadModelFile } from '../../src/model/model-file.ts';
import { registerActiveModel, registryEntryOf } from '../../src/model/registry.ts';
import { replayFixtureEnv } from '../support/replay-env.ts';

/**
 * The model registry against real PostgreSQL (a fresh migrated database; the engine writes as the
 * application role, like in production): the engine records the model it loaded as the one active
 * model, with its training data hash, params, metrics and test-split evaluation.
 */
const log = createLogger({ name: 'registry-test', level: 'silent' });

let db: MigratedTestDatabase;
let owner: postgres.Sql;
let app: postgres.Sql;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  owner = postgres(db.url, { max: 2, onnotice: () => {} });
  app = postgres(db.appUrl, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await app?.end();
  await owner?.end();
  await db?.drop();
});

interface Row {
  version: string;
  training_data_hash: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  evaluation: unknown;
  active: boolean;
}

describe('model registry', () => {
  it('the engine registers the model it scores with as the active one on start', async () => {
    const { file } = await loadModelFile();
    const config = loadEngineConfig(
      replayFixtureEnv({
        DATABASE_URL: db.appUrl,
        ENGINE_STREAM_PREFIX: `registry-${randomBytes(3).toString('hex')}:`,
      }),
    );
    const engine = await startEngine({ config, bus: new MemoryBus(), log });
    try {
      const rows = await owner<Row[]>`select * from signal_models`;
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.version).toBe(file.version);
      expect(row.active).toBe(true);
      expect(row.training_data_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.training_data_hash).toBe(file.training.trainingDataHash);
      expect(row.params).toMatchObject({ patterns: config.patternParams, inputNames: file.inputNames });
      expect(row.metrics).toHaveProperty('test');
      const evaluation = signalEvaluationSchema.parse(row.evaluation);
      expect(evaluation.modelVersion).toBe(file.version);
      expect(evaluation.split).toBe('test');
    } finally {
      await engine.stop();
    }
  });

  it('a newer model becomes the only active one; re-registering is idempotent', async () => {
    const { file } = await loadModelFile();
    const older = { ...registryEntryOf(file), version: 'signal-mlp-older', evaluation: null };
    await registerActiveModel(app, older);
    await registerActiveModel(app, registryEntryOf(file));
    await registerActiveModel(app, registryEntryOf(file));
    const rows = await owner<Pick<Row, 'version' | 'active'>[]>`
      select version, active from signal_models order by version`;
    expect(rows).toEqual([
      { version: file.version, active: true },
      { version: 'signal-mlp-older', active: false },
    ]);
  });
});
