import type { WriterCheckpoint } from './timescale-writer.ts';

/** Startup data of the writer thread (validated by the thread with zod at startup). */
export interface WriterStartup {
  readonly databaseUrl: string;
  readonly tickRings: readonly SharedArrayBuffer[];
  /** SymbolTable.namesSab: ids -> names without messages (see symbol-table.ts). */
  readonly symbolNamesSab: SharedArrayBuffer;
  readonly consumer: number;
  readonly featureStateSab: SharedArrayBuffer | null;
  readonly featureSampleMs: number;
  readonly flushMs: number;
  readonly batchRows: number;
  readonly stats: SharedArrayBuffer;
  readonly logLevel: string;
  /** engine_cursors row of this writer's flush token (`writer:<engine consumer>`). */
  readonly tokenName: string;
  /** A flush (or the lookup of one in doubt) not answered within this is abandoned. */
  readonly flushTimeoutMs: number;
  /** Connect and lock timeout of the writer's connection. */
  readonly dbTimeoutMs: number;
}

export type MainToWriter =
  | { readonly type: 'checkpoint'; readonly checkpoint: WriterCheckpoint }
  | { readonly type: 'stop'; readonly deadlineMs: number };

export type WriterToMain =
  | { readonly type: 'ready' }
  | { readonly type: 'committed'; readonly checkpointId: number; readonly rows: number }
  | { readonly type: 'fatal'; readonly code: string; readonly message: string }
  | { readonly type: 'stopped'; readonly lost: number; readonly inDoubt: number };
