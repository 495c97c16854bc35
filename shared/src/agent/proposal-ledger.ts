import {
  consumeToken,
  type DeskGateView,
  type GateSignal,
  type GateState,
  type GateVerdict,
  gateProposal,
  type ProposalGateSettings,
  type Side,
} from './proposal-gate.ts';

/**
 * The proposal gate's view of one desk kept in memory, for callers without the server's
 * PostgreSQL rows (a backtest on its simulated clock). It holds the same facts the server reads
 * from `proposals`, `fills`, `positions` and the desk's bucket (server/src/agent/gate-view.ts),
 * with the same meaning: pending = not decided and not expired; the last proposal counts
 * whatever became of it; a close counts only after that proposal's entry filled. The rules
 * themselves stay in proposal-gate.ts.
 */
interface Tracked {
  readonly id: string;
  readonly symbol: string;
  readonly side: Side;
  readonly atMs: number;
  readonly expiresAtMs: number;
  readonly stopPrice: number | null;
  readonly targetPrice: number | null;
  pending: boolean;
  filledAtMs: number | null;
}

const HOUR_MS = 3_600_000;

export class ProposalLedger {
  #state: GateState = null;
  readonly #byId = new Map<string, Tracked>();
  readonly #last = new Map<string, Tracked>();
  readonly #closedAt = new Map<string, number>();
  /** Creation times of the trailing hour, oldest first. */
  #times: number[] = [];

  readonly settings: ProposalGateSettings;

  constructor(settings: ProposalGateSettings) {
    this.settings = settings;
  }

  get state(): GateState {
    return this.#state;
  }

  /** The gate's verdict for a signal at `nowMs` (nothing changes; call `proposed` after storing). */
  check(signal: GateSignal, nowMs: number): GateVerdict {
    return gateProposal(this.#state, this.settings, signal, this.view(signal.symbol, nowMs), nowMs);
  }

  view(symbol: string, nowMs: number): DeskGateView {
    this.#prune(nowMs);
    const pending = [...this.#byId.values()]
      .filter((p) => p.symbol === symbol && p.pending && p.expiresAtMs > nowMs)
      .map((p) => ({ id: p.id, side: p.side }));
    const last = this.#last.get(symbol);
    const closed = this.#closedAt.get(symbol) ?? null;
    return {
      proposalsLastHour: this.#times.filter((t) => t > nowMs - HOUR_MS && t <= nowMs).length,
      instrument: {
        pending,
        lastProposal: last
          ? {
              side: last.side,
              atMs: last.atMs,
              filledAtMs: last.filledAtMs,
              stopPrice: last.stopPrice,
              targetPrice: last.targetPrice,
            }
          : null,
        positionClosedAtMs: last?.filledAtMs == null ? null : closed,
      },
    };
  }

  /** A proposal was stored: it is pending, it is the instrument's last, it took a token. */
  proposed(p: {
    id: string;
    symbol: string;
    side: Side;
    atMs: number;
    expiresAtMs: number;
    stopPrice: number | null;
    targetPrice: number | null;
  }): void {
    const tracked: Tracked = { ...p, pending: true, filledAtMs: null };
    this.#byId.set(p.id, tracked);
    this.#last.set(p.symbol, tracked);
    this.#times.push(p.atMs);
    this.#state = consumeToken(this.#state, this.settings.maxProposalsPerHour, p.atMs);
  }

  /** Approved, rejected, expired, denied: no longer pending. */
  decided(id: string): void {
    const p = this.#byId.get(id);
    if (p) p.pending = false;
  }

  /** The proposal's order (last) filled at `atMs`. */
  filled(id: string, atMs: number): void {
    const p = this.#byId.get(id);
    if (p) {
      p.pending = false;
      p.filledAtMs = Math.max(p.filledAtMs ?? atMs, atMs);
    }
  }

  /** The position on `symbol` went flat at `atMs` (a bracket leg, or any close). */
  positionFlat(symbol: string, atMs: number): void {
    this.#closedAt.set(symbol, atMs);
  }

  #prune(nowMs: number): void {
    const from = nowMs - HOUR_MS;
    let k = 0;
    while (k < this.#times.length && this.#times[k]! <= from) k++;
    if (k > 0) this.#times = this.#times.slice(k);
    // Decided or expired proposals that are no longer any instrument's last are not needed again
    // (a long backtest keeps only what the gate can still ask about).
    for (const [id, p] of this.#byId) {
      if ((!p.pending || p.expiresAtMs <= nowMs) && this.#last.get(p.symbol) !== p) this.#byId.delete(id);
    }
  }
}
