/** Branded id types: an id of one kind cannot be passed where another is expected. */
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
export type ClientOrderId = Brand<string, 'ClientOrderId'>;
export type FillId = Brand<string, 'FillId'>;
export type ExecutionId = Brand<string, 'ExecutionId'>;
export type LessonId = Brand<string, 'LessonId'>;
