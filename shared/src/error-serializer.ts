/**
 * The pino serializer for errors (`err`, `error`). Database errors carry what a request sent:
 * drizzle's DrizzleQueryError puts the SQL and every bind value into its message and its
 * `params`; the `postgres` driver attaches `query`, `parameters` and `args` to the error, and
 * PostgreSQL's `detail` repeats key values ("Key (email)=(…) already exists"). pino's standard
 * serializer copies all of that, messages and stacks of the cause chain included, so a typed
 * email or a note reached the log. This one keeps what diagnoses a failure — the error type, the
 * SQLSTATE, the statement's operation and table, constraint and column names, stack frames — and
 * drops the values.
 */

/** Properties that hold request data, on any error in the chain. */
const VALUE_KEYS = new Set([
  'query',
  'params',
  'parameters',
  'args',
  'types',
  'detail',
  'where',
  'hint',
  'internal_query',
  'internalQuery',
  'sql',
  'values',
  'input',
  'body',
]);
const MAX_DEPTH = 5;

/** `select users`, `insert signal_decisions`: the operation and its first table, no values. */
export function statementOf(sqlText: string): string {
  const op = /^\s*\(?\s*([A-Za-z]+)/.exec(sqlText)?.[1]?.toLowerCase() ?? 'query';
  const target = /\b(?:from|into|update|join)\s+(?:"?[A-Za-z_][\w$]*"?\.)?"?([A-Za-z_][\w$]*)"?/i.exec(
    sqlText,
  );
  return target ? `${op} ${target[1]}` : op;
}

/** SQLSTATE classes whose messages quote the offending value (22 data exception, P0 raise). */
const QUOTES_VALUES = /^(22|P0)/;

function safeMessage(e: Record<string, unknown>, statement: string | null): string {
  const message = typeof e.message === 'string' ? e.message : '';
  // DrizzleQueryError: "Failed query: <sql>\nparams: <values>".
  if (message.startsWith('Failed query:')) return `Failed query${statement ? ` (${statement})` : ''}`;
  if (e.name === 'PostgresError' && typeof e.code === 'string' && QUOTES_VALUES.test(e.code)) {
    return message.replace(/"[^"]*"/g, '"…"');
  }
  return message;
}

function queryTextOf(e: Record<string, unknown>): string | null {
  // The driver defines `query` non-enumerable; read it directly, never copy it.
  const q = e.query;
  return typeof q === 'string' ? q : null;
}

export function serializeError(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (!(value instanceof Error) && !('message' in value)) return value;
  const e = value as Record<string, unknown> & { constructor?: { name?: string } };
  const type =
    (e.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : e.name) ?? 'Error';
  const queryText = queryTextOf(e);
  const statement = queryText ? statementOf(queryText) : null;
  const message = safeMessage(e, statement);
  const out: Record<string, unknown> = { type: String(type), message };
  if (e.name === 'PostgresError' && typeof e.code === 'string') out.sqlstate = e.code;
  if (statement) out.statement = statement;
  for (const key of Object.keys(e)) {
    if (VALUE_KEYS.has(key) || key === 'cause' || key === 'stack' || key === 'message' || key in out)
      continue;
    const v = e[key];
    if (v instanceof Error) {
      if (depth < MAX_DEPTH) out[key] = serializeError(v, depth + 1);
    } else if (key === 'errors' && Array.isArray(v)) {
      if (depth < MAX_DEPTH) out.errors = v.map((x) => serializeError(x, depth + 1));
    } else if (typeof v !== 'function') {
      out[key] = v;
    }
  }
  if (typeof e.stack === 'string') {
    // The stack's first lines repeat the message (drizzle's spans lines): keep only the frames.
    const frames = e.stack.split('\n').filter((l) => /^\s+at /.test(l));
    out.stack = [`${String(type)}: ${message}`, ...frames].join('\n');
  }
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = serializeError(e.cause, depth + 1);
  return out;
}
