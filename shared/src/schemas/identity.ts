import { z } from 'zod';
import { safeText } from './text.ts';

/**
 * Identity objects as they cross the API (tRPC outputs and inputs): users, desks, roles,
 * sessions, API keys. Web and scripts get these types through `RouterOutputs`; nothing copies them.
 */

/**
 * Timestamps cross the API as ISO-8601 UTC strings (no transformer needed by web or scripts;
 * JSON has no date type). `tsIso(date)` converts at the router.
 */
export const isoTimestampSchema = z.iso.datetime();
export const tsIso = (d: Date): string => d.toISOString();
export const tsIsoOrNull = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const roleSchema = z.enum(['admin', 'trader', 'viewer']);
export type Role = z.infer<typeof roleSchema>;

export const apiKeyScopeSchema = z.enum(['read', 'trade', 'admin']);
export type ApiKeyScope = z.infer<typeof apiKeyScopeSchema>;

/** Email as typed by a person: trimmed, bounded (RFC 5321 path limit), one @, no spaces or controls. */
export const emailSchema = safeText(254, { min: 3 }).regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');

export const displayNameSchema = safeText(100);

export const deskNameSchema = displayNameSchema;
export const uuidSchema = z.uuid();

/**
 * Password inputs: bounded before hashing, taken as typed (never trimmed); the policy (length,
 * common list) is enforced by the server. Control characters are refused: they are never typed
 * on purpose, and a NUL would be refused by nothing else before the hash.
 */
export const passwordInputSchema = safeText(1024, { trim: false });

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  isPlatformAdmin: z.boolean(),
  mustChangePassword: z.boolean(),
});
export type User = z.infer<typeof userSchema>;

export const deskSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  role: roleSchema,
});
export type Desk = z.infer<typeof deskSchema>;

export const memberSchema = z.object({
  userId: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  createdAt: isoTimestampSchema,
});
export type Member = z.infer<typeof memberSchema>;

export const sessionInfoSchema = z.object({
  kind: z.enum(['session', 'api_key']),
  user: userSchema,
  /** The desk requests act on (session: chosen desk; API key: the key's desk). */
  activeDesk: deskSchema.nullable(),
  desks: z.array(deskSchema),
  expiresAt: isoTimestampSchema.nullable(),
  reauthenticatedUntil: isoTimestampSchema.nullable(),
  scopes: z.array(apiKeyScopeSchema).nullable(),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

export const apiKeySchema = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(apiKeyScopeSchema),
  createdAt: isoTimestampSchema,
  expiresAt: isoTimestampSchema.nullable(),
  revokedAt: isoTimestampSchema.nullable(),
  lastUsedAt: isoTimestampSchema.nullable(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

/** One of the caller's own active sessions (the id is SHA-256 of its token, never the token). */
export const activeSessionSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  current: z.boolean(),
  createdAt: isoTimestampSchema,
  lastSeenAt: isoTimestampSchema,
  expiresAt: isoTimestampSchema,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
});
export type ActiveSession = z.infer<typeof activeSessionSchema>;
