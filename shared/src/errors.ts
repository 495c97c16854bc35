/**
 * One error class for domain code, with a string code from one const map. The server maps each
 * code to a tRPC error code in one place; errors crossing a thread boundary carry the code.
 * Failures that share a code but that a caller must tell apart (a broker call's timeout from a
 * database timeout) carry a `reason` in their details and a small typed predicate next to where
 * they are thrown, built on `isAppErrorFor`. A subclass is kept only where the error carries a
 * contract of its own (BrokerError in server/src/brokers/types.ts): its AppError code is derived
 * from that contract, so the server's one mapping still applies.
 */
export const ErrorCode = {
  BAD_INPUT: 'BAD_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  RISK_DENIED: 'RISK_DENIED',
  HALTED: 'HALTED',
  ILLEGAL_TRANSITION: 'ILLEGAL_TRANSITION',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

/** True for an AppError; with `code`, only for an AppError with that code. */
export const isAppError = (e: unknown, code?: ErrorCode): e is AppError =>
  e instanceof AppError && (code === undefined || e.code === code);

/**
 * True for an AppError with this code whose `details.reason` is `reason`: how callers tell apart
 * failures that share a code without a class per failure.
 */
export const isAppErrorFor = (e: unknown, code: ErrorCode, reason: string): e is AppError =>
  isAppError(e, code) && e.details?.reason === reason;
