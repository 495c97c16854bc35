/**
 * Branded id types: an id of one kind cannot be passed where another is expected, so
 * `cancel(tenantId, orderId)` called with the two swapped does not compile. At run time they are
 * plain strings. An id gets its brand where it is known to be of its kind: at the edge after its
 * schema parsed it (routers), or when it is read from its own table; `asTenantId(ctx.desk.id)`,
 * `asOrderId(input.orderId)`.
 *
 * No brand for ids that are never handed from one function to another as ours: client order ids
 * and execution ids are the strings a broker echoes back (matched, never looked up by kind), and
 * fills and lessons are only listed, never fetched by id.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type TenantId = Brand<string, 'TenantId'>;
export type UserId = Brand<string, 'UserId'>;
export type SessionId = Brand<string, 'SessionId'>;
export type ApiKeyId = Brand<string, 'ApiKeyId'>;
export type InstrumentId = Brand<string, 'InstrumentId'>;
export type SignalId = Brand<string, 'SignalId'>;
export type ProposalId = Brand<string, 'ProposalId'>;
export type OrderId = Brand<string, 'OrderId'>;
export type ComboId = Brand<string, 'ComboId'>;

export const asTenantId = (id: string): TenantId => id as TenantId;
export const asOrderId = (id: string): OrderId => id as OrderId;
export const asComboId = (id: string): ComboId => id as ComboId;
export const asProposalId = (id: string): ProposalId => id as ProposalId;
export const asUserId = (id: string): UserId => id as UserId;
export const asSignalId = (id: string): SignalId => id as SignalId;
export const asInstrumentId = (id: string): InstrumentId => id as InstrumentId;
export const asSessionId = (id: string): SessionId => id as SessionId;
export const asApiKeyId = (id: string): ApiKeyId => id as ApiKeyId;

/* The zod schemas that parse an id at the edge and yield its brand (schemas/ids.ts). */
export {
  apiKeyIdSchema,
  comboIdSchema,
  instrumentIdSchema,
  orderIdSchema,
  proposalIdSchema,
  signalIdSchema,
  tenantIdSchema,
  userIdSchema,
} from './schemas/ids.ts';
