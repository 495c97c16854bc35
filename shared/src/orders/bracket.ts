import { type Dec, dec, decStr, ZERO } from '../accounting/decimal.ts';
import { AppError, ErrorCode } from '../errors.ts';

/**
 * Bracket orders (an entry with a protective stop and a profit target, the two in one OCO group),
 * as IBKR and Alpaca run them. Pure rules, shared by the paper broker, the execution service and
 * the backtester, so every path sizes and cancels the legs the same way:
 *
 * - The legs exist from the moment the entry is accepted but hold nothing until the entry fills:
 *   each leg's quantity is always its own filled quantity plus what the bracket still protects,
 *   `protected = entry filled − Σ legs filled`. A partial fill of the entry grows both legs; a
 *   fill of one leg shrinks the other (one-cancels-other, reduced rather than cancelled while
 *   something is still open).
 * - The stop leg is a stop (market) order, the target a limit order, both on the side opposite
 *   the entry and reduce-only: neither can ever open or grow a position.
 * - Once a leg has filled, the exit has begun: the entry's unfilled remainder is cancelled (no
 *   re-entry behind a stop-out) and, when nothing is left protected, the other leg is cancelled.
 * - An entry that ends (cancelled, rejected, expired) with nothing filled takes its legs with it;
 *   one that ends after a partial fill leaves the legs protecting what did fill.
 */
export type BracketRole = 'stop' | 'target';
export const BRACKET_ROLES: readonly BracketRole[] = ['stop', 'target'];

export interface BracketLevels {
  readonly stopPrice?: string | null;
  readonly targetPrice?: string | null;
}

export interface BracketLegSpec {
  readonly role: BracketRole;
  readonly side: 'buy' | 'sell';
  readonly orderType: 'stop' | 'limit';
  readonly stopPrice: string | null;
  readonly limitPrice: string | null;
}

export const oppositeSide = (side: 'buy' | 'sell'): 'buy' | 'sell' => (side === 'buy' ? 'sell' : 'buy');

const bad = (field: string, message: string): never => {
  throw new AppError(ErrorCode.BAD_INPUT, `${field}: ${message}`, { field });
};

/**
 * The legs a bracket on this entry becomes, after checking the levels make sense: for a buy the
 * stop lies below the target (and below a limit entry's price, the target above it); a sell
 * mirrors that. At least one level. Throws BAD_INPUT naming the field.
 */
export function bracketLegs(
  entry: { readonly side: 'buy' | 'sell'; readonly limitPrice?: string | null },
  levels: BracketLevels,
): BracketLegSpec[] {
  const stop = levels.stopPrice ? dec(levels.stopPrice) : null;
  const target = levels.targetPrice ? dec(levels.targetPrice) : null;
  if (!stop && !target) bad('bracket', 'needs a stopPrice, a targetPrice or both');
  if (stop && !stop.gt(0)) bad('bracket.stopPrice', 'must be greater than zero');
  if (target && !target.gt(0)) bad('bracket.targetPrice', 'must be greater than zero');
  const long = entry.side === 'buy';
  if (stop && target && (long ? !stop.lt(target) : !stop.gt(target)))
    bad('bracket.stopPrice', `must be ${long ? 'below' : 'above'} the target for a ${entry.side}`);
  const entryPx = entry.limitPrice ? dec(entry.limitPrice) : null;
  if (entryPx && stop && (long ? !stop.lt(entryPx) : !stop.gt(entryPx)))
    bad('bracket.stopPrice', `must be ${long ? 'below' : 'above'} the entry's limit price`);
  if (entryPx && target && (long ? !target.gt(entryPx) : !target.lt(entryPx)))
    bad('bracket.targetPrice', `must be ${long ? 'above' : 'below'} the entry's limit price`);
  const side = oppositeSide(entry.side);
  const legs: BracketLegSpec[] = [];
  if (stop) legs.push({ role: 'stop', side, orderType: 'stop', stopPrice: decStr(stop), limitPrice: null });
  if (target)
    legs.push({ role: 'target', side, orderType: 'limit', stopPrice: null, limitPrice: decStr(target) });
  return legs;
}

/** What the rules need to know of one order of the bracket. */
export interface BracketMember {
  /** Still working (may fill): not filled, cancelled, rejected, expired or denied. */
  readonly open: boolean;
  readonly quantity: string;
  readonly filledQuantity: string;
}

export interface BracketLegState extends BracketMember {
  readonly role: BracketRole;
}

export interface BracketState {
  readonly entry: BracketMember;
  readonly legs: readonly BracketLegState[];
}

/** What must happen to bring the bracket in line with its rules; empty when it already is. */
export interface BracketActions {
  /** Legs whose quantity becomes `quantity` (FIX restated): grown by entry fills, reduced by OCO. */
  readonly resize: readonly { readonly role: BracketRole; readonly quantity: string }[];
  /** Legs to cancel (OCO: the other leg closed the position; or the entry died unfilled). */
  readonly cancelLegs: readonly { readonly role: BracketRole; readonly reason: string }[];
  /** The entry's unfilled remainder is cancelled: a leg has filled, the exit has begun. */
  readonly cancelEntry: string | null;
}

const sum = (xs: readonly Dec[]) => xs.reduce((a, x) => a.plus(x), ZERO);

/** Quantity the bracket still protects: entry filled less everything the legs filled (≥ 0). */
export function protectedQuantity(s: BracketState): Dec {
  const p = dec(s.entry.filledQuantity).minus(sum(s.legs.map((l) => dec(l.filledQuantity))));
  return p.gt(0) ? p : ZERO;
}

/** The quantity a leg should carry now: its own fills plus what the bracket protects. */
export const legQuantity = (leg: Pick<BracketMember, 'filledQuantity'>, protect: Dec): Dec =>
  dec(leg.filledQuantity).plus(protect);

/**
 * The one decision function: given the entry and its legs as they are, what to resize and what
 * to cancel. Idempotent: applying the actions and asking again yields no actions.
 */
export function bracketActions(s: BracketState): BracketActions {
  const entryFilled = dec(s.entry.filledQuantity);
  const legFilled = s.legs.some((l) => dec(l.filledQuantity).gt(0));
  const openLegs = s.legs.filter((l) => l.open);
  if (!s.entry.open && entryFilled.isZero()) {
    return {
      resize: [],
      cancelLegs: openLegs.map((l) => ({ role: l.role, reason: 'bracket entry ended unfilled' })),
      cancelEntry: null,
    };
  }
  const protect = protectedQuantity(s);
  const cancelEntry = legFilled && s.entry.open ? 'bracket exit filled: entry remainder cancelled' : null;
  // With the entry still open and nothing filled by a leg, more may arrive: a leg at zero waits.
  const exitDone = legFilled && protect.isZero();
  const resize: { role: BracketRole; quantity: string }[] = [];
  const cancelLegs: { role: BracketRole; reason: string }[] = [];
  for (const l of openLegs) {
    const want = legQuantity(l, protect);
    if (exitDone) {
      cancelLegs.push({ role: l.role, reason: 'oco: the other leg closed the position' });
    } else if (!want.eq(dec(l.quantity))) {
      resize.push({ role: l.role, quantity: decStr(want) });
    }
  }
  return { resize, cancelLegs, cancelEntry };
}

/** A working order as the risk context counts it (leaves quantity, OCO group when a bracket leg). */
export interface WorkingLeaves {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly leavesQty: string;
  readonly limitPrice: string | null;
  readonly ocoGroup?: string | null;
}

/**
 * The working orders the governor should count: the legs of one OCO group can never both fill,
 * so a group counts once, at its largest leaves quantity, instead of once per leg.
 */
export function collapseOcoGroups<T extends WorkingLeaves>(working: readonly T[]): T[] {
  const out: T[] = [];
  const groups = new Map<string, number>();
  for (const w of working) {
    if (!w.ocoGroup) {
      out.push(w);
      continue;
    }
    const at = groups.get(w.ocoGroup);
    if (at === undefined) {
      groups.set(w.ocoGroup, out.length);
      out.push(w);
    } else if (dec(w.leavesQty).gt(dec(out[at]!.leavesQty))) {
      out[at] = w;
    }
  }
  return out;
}
