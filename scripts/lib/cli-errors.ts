import { configIssuesOf } from '@aegis/shared/config';
import { TRPCClientError } from '@trpc/client';

/**
 * Errors for the terminal: one clear line and an exit code a shell script can branch on.
 * Never a stack trace (a stack helps nobody running `aegis keys list`; it can leak paths).
 */
export const ExitCode = {
  OK: 0,
  /** Anything unexpected (server error, bug). */
  FAILURE: 1,
  /** Wrong command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** Not authenticated: no key, expired or revoked key. */
  AUTH: 3,
  /** Authenticated but not allowed, or the target does not exist (or is not yours). */
  DENIED: 4,
  /** Rejected input or a conflict (validation, already exists, illegal transition). */
  REJECTED: 5,
  /** Rate limited or the server/its dependencies unavailable: retry later. */
  UNAVAILABLE: 6,
  /** Integrity failure (e.g. `audit verify` found a broken chain). */
  INTEGRITY: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the CLI raises itself (usage mistakes, missing configuration). Kept as its own class
 * rather than folded into AppError: the CLI is an app edge whose contract is the exit code a
 * shell script branches on, and that code cannot be derived from an AppError code (a usage
 * mistake and a rejected input would both be BAD_INPUT, and INTEGRITY has no AppError code). It
 * never crosses a thread or reaches the server's mapping; `describeError` below is its one reader.
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.USAGE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const EXIT_BY_TRPC_CODE: Record<string, ExitCode> = {
  UNAUTHORIZED: ExitCode.AUTH,
  FORBIDDEN: ExitCode.DENIED,
  NOT_FOUND: ExitCode.DENIED,
  BAD_REQUEST: ExitCode.REJECTED,
  PARSE_ERROR: ExitCode.REJECTED,
  CONFLICT: ExitCode.REJECTED,
  PRECONDITION_FAILED: ExitCode.REJECTED,
  UNPROCESSABLE_CONTENT: ExitCode.REJECTED,
  PAYLOAD_TOO_LARGE: ExitCode.REJECTED,
  TOO_MANY_REQUESTS: ExitCode.UNAVAILABLE,
  SERVICE_UNAVAILABLE: ExitCode.UNAVAILABLE,
  TIMEOUT: ExitCode.UNAVAILABLE,
  GATEWAY_TIMEOUT: ExitCode.UNAVAILABLE,
};

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The server's error `data` (server/src/trpc.ts ErrorData), read defensively. */
interface ErrorData {
  code?: string;
  httpStatus?: number;
  requestId?: string | null;
  appCode?: string | null;
  details?: { retryAfterSeconds?: number; reason?: string } | null;
  fields?: { path: string; message: string }[] | null;
}

/** Renders any error as `{ line, exitCode }`. */
export function describeError(error: unknown, serverUrl?: string): { line: string; exitCode: ExitCode } {
  if (error instanceof CliError)
    return { line: `aegis: ${oneLine(error.message)}`, exitCode: error.exitCode };
  const configIssues = configIssuesOf(error);
  if (configIssues) {
    // Names every bad variable, never a value (the API key is a secret).
    return { line: `aegis: invalid environment: ${configIssues.join('; ')}`, exitCode: ExitCode.USAGE };
  }
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as ErrorData;
    const code = data.code ?? (error.shape as { data?: { code?: string } } | undefined)?.data?.code;
    if (!code) {
      // No tRPC error shape: the request never reached a tRPC server (network, proxy, timeout).
      const cause = error.cause as (Error & { code?: string; cause?: { code?: string } }) | undefined;
      const sys = cause?.cause?.code ?? cause?.code;
      if (cause?.name === 'TimeoutError' || cause?.name === 'AbortError') {
        return {
          line: `aegis: request to ${serverUrl ?? 'the server'} timed out`,
          exitCode: ExitCode.UNAVAILABLE,
        };
      }
      const reason = sys === 'ECONNREFUSED' ? 'connection refused' : oneLine(error.message);
      return {
        line: `aegis: cannot reach ${serverUrl ?? 'the server'}: ${reason}`,
        exitCode: ExitCode.UNAVAILABLE,
      };
    }
    let message = oneLine(error.message);
    if (data.fields && data.fields.length > 0) {
      message = `invalid input: ${data.fields.map((f) => `${f.path}: ${oneLine(f.message)}`).join('; ')}`;
    }
    const extras: string[] = [];
    const retry = data.details?.retryAfterSeconds;
    if (typeof retry === 'number' && !message.includes('retry')) extras.push(`retry after ${retry}s`);
    if (code === 'INTERNAL_SERVER_ERROR' && data.requestId && !message.includes(data.requestId)) {
      extras.push(`request id ${data.requestId}`);
    }
    const suffix = extras.length ? ` (${extras.join(', ')})` : '';
    return {
      line: `aegis: ${code.toLowerCase().replace(/_/g, ' ')}: ${message}${suffix}`,
      exitCode: EXIT_BY_TRPC_CODE[code] ?? ExitCode.FAILURE,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { line: `aegis: ${oneLine(message)}`, exitCode: ExitCode.FAILURE };
}
