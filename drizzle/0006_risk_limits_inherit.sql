-- Risk limits deny by default (issue 9, findings 2 and 3): a NULL limit column now means
-- "inherit" (platform default for the desk row, the desk value for an instrument row), never
-- "no limit". Only an explicit, audited removal switches a limit off; it is recorded here.
-- Existing NULLs are deliberately read as "inherit" from now on: they were written by partial
-- updates that never meant to switch protections off.
ALTER TABLE "risk_limits" ADD COLUMN "removed_limits" jsonb DEFAULT '{}'::jsonb NOT NULL;
