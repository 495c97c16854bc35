-- The account an approved proposal is executed through (issue 11): chosen by the person who
-- approves it, kept on the proposal so a resumed execution (after a crash between approval and
-- placement) places the same order through the same connection. NULL: the desk's paper account.
ALTER TABLE proposals ADD COLUMN IF NOT EXISTS broker_connection_id uuid
  REFERENCES broker_connections(id) ON DELETE RESTRICT;
