-- Filled in by its change; until then it does nothing.
SELECT 1;
