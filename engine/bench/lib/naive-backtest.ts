import { type Dec, dec, ZERO } from '@aegis/shared/accounting/decimal';
import { FeatureStepper } from '../../src/features/feature-stepper.ts';
import { coefficients, DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../../src/features/params.ts';
import { FeatureState } from '../../src/features/state.ts';
import type { TickRecord, TickSink } from '../../src/feeds/tick.ts';
import { FEATURE_COUNT } from '../../src/ring/layout.ts';

/**
 * The baseline: a backtest loop written the obvious way, as many backtesters are — every tick
 * copied into a fresh object kept in an event list, the book held in exact decimals made per tick,
 * the desk's equity marked in decimals on every tick, a features object per tick. The same
 * feature math (FeatureStepper) so that only the shape differs. It trades nothing: it is the
 * floor such a loop pays before any decision is made.
 */
interface BookSide {
  bid: Dec;
  ask: Dec;
  bidSize: Dec;
  askSize: Dec;
}

export class NaiveBacktestSink implements TickSink {
  ticks = 0;
  readonly #stepper: FeatureStepper;
  readonly #books = new Map<number, BookSide>();
  readonly #events: object[] = [];
  #equity: Dec = ZERO;
  readonly #limit: number;
  readonly #onLimit: () => void;

  constructor(symbols: number, limit: number, onLimit: () => void) {
    this.#stepper = new FeatureStepper(
      FeatureState.create(symbols),
      coefficients(DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS),
    );
    this.#limit = limit;
    this.#onLimit = onLimit;
  }

  publish(t: TickRecord): boolean {
    if (++this.ticks >= this.#limit) this.#onLimit();
    const e = { ...t };
    this.#events.push(e);
    if (this.#events.length > 4096) this.#events.length = 0;
    const book: BookSide = {
      bid: dec(String(e.bid)),
      ask: dec(String(e.ask)),
      bidSize: dec(String(e.bidSize)),
      askSize: dec(String(e.askSize)),
    };
    this.#books.set(e.symbolId, book);
    this.#equity = dec('100000').plus(book.bid.plus(book.ask).div(2).times(ZERO));
    const d = this.#stepper.applyTick(e.symbolId, e);
    const features = { detection: d, values: new Float64Array(FEATURE_COUNT) };
    this.#stepper.state.snapshot(e.symbolId, features.values);
    return true;
  }

  get equity(): Dec {
    return this.#equity;
  }
}
