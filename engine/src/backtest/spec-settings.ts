import { AppError, ErrorCode } from '@aegis/shared/errors';
import {
  isDecimalLimitField,
  LIMIT_FIELDS,
  type LimitField,
  type RiskLimits,
  resolveLimits,
  type StoredLimits,
} from '@aegis/shared/risk/governor';
import type { BacktestSpec } from '@aegis/shared/schemas/backtest';
import { DEFAULT_PATTERN_PARAMS, type PatternParams, patternParamsSchema } from '../features/params.ts';

/**
 * The spec's free-form settings, checked by the schemas that own them when a job starts: detector
 * thresholds by the engine's patternParamsSchema, limits by the risk module's fields. Errors name
 * the field (`detectors.<key>`, `limits.<key>`).
 */

/** The detector settings of a run: the engine's (`base`, e.g. its fitted ones) with the spec's on top. */
export function detectorParams(
  detectors: BacktestSpec['detectors'],
  base: PatternParams = DEFAULT_PATTERN_PARAMS,
): PatternParams {
  const parsed = patternParamsSchema.safeParse({ ...base, ...detectors });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['detectors', ...issue.path.map(String)].join('.');
    throw new AppError(ErrorCode.BAD_INPUT, `${field}: ${issue.message}`, { field });
  }
  return parsed.data;
}

/**
 * The simulated desk's limits: the platform defaults (a desk that configured nothing) merged with
 * the spec's values, through the same resolver as a real desk's row. A null value removes the
 * limit, as a desk admin can.
 */
export function riskLimitsOf(limits: BacktestSpec['limits']): RiskLimits {
  const values: Record<string, string | number> = {};
  const removed: StoredLimits['removed'] = {};
  for (const [key, value] of Object.entries(limits)) {
    const field = `limits.${key}`;
    if (!(LIMIT_FIELDS as readonly string[]).includes(key)) {
      throw new AppError(ErrorCode.BAD_INPUT, `${field}: not a risk limit`, { field });
    }
    const f = key as LimitField;
    if (value === null) {
      (removed as Record<string, { at: string; by: string | null }>)[f] = {
        at: '1970-01-01T00:00:00.000Z',
        by: 'backtest spec',
      };
      continue;
    }
    if (isDecimalLimitField(f)) {
      if (!/^\d+(\.\d+)?$/.test(value)) {
        throw new AppError(ErrorCode.BAD_INPUT, `${field}: must be a non-negative decimal`, { field });
      }
      values[f] = value;
    } else {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
        throw new AppError(ErrorCode.BAD_INPUT, `${field}: must be a non-negative integer`, { field });
      }
      values[f] = n;
    }
  }
  return resolveLimits({ values: values as StoredLimits['values'], restricted: false, removed });
}
