import { AppError } from '@aegis/shared/errors';
import type { ChainInput, ChainView } from '@aegis/shared/schemas/option-chain';
import type { Db, Queryable } from '../db/database.ts';
import type { ExecutionRuntime } from '../execution/runtime.ts';

/** Pricing settings of chains (server/src/env.ts OPTIONS_*). */
export interface OptionChainSettings {
  /** Continuously compounded risk-free rate. */
  readonly riskFreeRate: number;
  /** Continuous dividend yield of equity underlyings (others: 0). */
  readonly dividendYield: number;
}

export interface OptionChainContext {
  readonly db: Db;
  readonly execution?: ExecutionRuntime | undefined;
  readonly config?: { readonly options?: OptionChainSettings | undefined } | undefined;
}

export class OptionChainService {
  async chain(_db: Queryable, _input: ChainInput): Promise<ChainView> {
    throw new AppError('UNAVAILABLE', 'option chains are not available yet');
  }
}

/** The chain service of the context's runtime (one per server process and test server). */
export function optionChainOf(_ctx: OptionChainContext): OptionChainService {
  return new OptionChainService();
}
