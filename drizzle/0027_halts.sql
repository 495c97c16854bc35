-- One word for stopping trading: the table, its constraints and its policies are called after
-- the halt the console, the CLI, the API (halt.engage / halt.release) and the engine already
-- name. Grants and row-level security follow the table through a rename. Rows that were
-- recorded under the old words keep them: the audit rows' target_type 'kill_switch' and the
-- governor's rule 'kill_switch' in stored verdicts are history, not renamed.
ALTER TABLE IF EXISTS kill_switches RENAME TO halts;
--> statement-breakpoint
ALTER INDEX IF EXISTS kill_switches_pkey RENAME TO halts_pkey;
--> statement-breakpoint
ALTER INDEX IF EXISTS kill_switches_scope_key RENAME TO halts_scope_key;
--> statement-breakpoint
ALTER TABLE halts RENAME CONSTRAINT kill_switches_scope_check TO halts_scope_check;
--> statement-breakpoint
ALTER POLICY kill_switch_read ON halts RENAME TO halt_read;
--> statement-breakpoint
ALTER POLICY kill_switch_write ON halts RENAME TO halt_write;
