import { z } from 'zod';
import type {
  ApiKeyId,
  ComboId,
  InstrumentId,
  OrderId,
  ProposalId,
  SignalId,
  TenantId,
  UserId,
} from '../ids.ts';

/**
 * Id inputs at the edge: each parses a uuid exactly as `z.uuid()` does (same check, same error
 * message) and yields the branded id, so a router's handler gets an `OrderId` from its input with
 * no `asOrderId(...)` cast. The input type stays `string` for clients (web, scripts).
 */
export const tenantIdSchema = z.uuid().transform((s) => s as TenantId);
export const userIdSchema = z.uuid().transform((s) => s as UserId);
export const orderIdSchema = z.uuid().transform((s) => s as OrderId);
export const comboIdSchema = z.uuid().transform((s) => s as ComboId);
export const proposalIdSchema = z.uuid().transform((s) => s as ProposalId);
export const signalIdSchema = z.uuid().transform((s) => s as SignalId);
export const apiKeyIdSchema = z.uuid().transform((s) => s as ApiKeyId);
export const instrumentIdSchema = z.uuid().transform((s) => s as InstrumentId);
