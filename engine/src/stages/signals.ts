import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { EngineConfig } from '../config.ts';
import { ownConnection } from '../db/owned-connection.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { HaltListener } from '../halt/halt-listener.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { spinBudgetUs } from '../ring/spin-wait.ts';
import { type SignalOut, SignalPublisher } from '../signals/signal-publisher.ts';

export interface EngineSignals {
  readonly halt: HaltListener;
  readonly signals: SignalPublisher;
}

/**
 * Stage 5: the halt listener, then the signal publisher on the scored ring. The listener
 * starts first so a switch engaged while the engine was down is known before the first signal.
 */
export async function startSignals(options: {
  config: EngineConfig;
  bus: Bus;
  sql: Sql | undefined;
  log: Logger;
  scoredRing: RingBuffer;
  symbolTable: SymbolTable;
  modelVersion: string;
  haltChannel?: string | undefined;
  onSignal?: ((s: SignalOut) => void) | undefined;
}): Promise<EngineSignals> {
  const { config, bus, sql, log } = options;
  // Each gets its own connection, so a deadline can drop it without cutting a query of the other
  // or of the readiness probe; a client the caller gave (no URL) is used as it is.
  const url = sql ? config.databaseUrl : undefined;
  const client = (applicationName: string) =>
    url
      ? { connect: () => ownConnection(url, { applicationName, dbTimeoutMs: config.dbTimeoutMs }) }
      : { sql };
  const halt = new HaltListener({
    bus,
    ...client('aegis-engine-halt'),
    dbTimeoutMs: config.dbTimeoutMs,
    pollMs: config.haltPollMs,
    log,
    ...(options.haltChannel ? { channel: options.haltChannel } : {}),
  });
  await halt.start();
  // The same spin budget as the threads (measured once per process, ring/spin-wait.ts).
  const { spinUs } = await spinBudgetUs();
  const signals = new SignalPublisher({
    scoredRing: options.scoredRing,
    consumer: 0,
    symbolTable: options.symbolTable,
    bus,
    stream: `${config.streamPrefix}signals`,
    maxLen: config.signalsMaxLen,
    minScore: config.signalMinScore,
    modelVersion: options.modelVersion,
    ...client('aegis-engine-signals'),
    dbTimeoutMs: config.dbTimeoutMs,
    log,
    halted: () => halt.isHalted(),
    spinUs,
    ...(options.onSignal ? { onSignal: options.onSignal } : {}),
  });
  signals.start();
  return { halt, signals };
}
