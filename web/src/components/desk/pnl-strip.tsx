import { For } from 'solid-js';
import { formatDecimal, pnlClass } from '../../lib/decimal-format.ts';
import { createQuery } from '../../lib/query.ts';
import { type RouterOutputs, trpc } from '../../lib/trpc.ts';

type Pnl = RouterOutputs['pnl']['summary'];

/** Headline numbers of the desk: equity, P&L, exposure. */
export function PnlStrip() {
  const pnl = createQuery(() => trpc.pnl.summary.query(), { pollMs: 5_000 });
  const value = (pick: (p: Pnl) => string, signed = false) => {
    const s = pnl.state();
    return s.status === 'ready'
      ? formatDecimal(pick(s.data), 2, { sign: signed })
      : s.status === 'error'
        ? 'n/a'
        : '…';
  };
  const tone = (pick: (p: Pnl) => string) => {
    const s = pnl.state();
    return s.status === 'ready' ? pnlClass(pick(s.data)) : '';
  };
  const items: { label: string; pick: (p: Pnl) => string; signed?: boolean }[] = [
    { label: 'Equity', pick: (p) => p.equity },
    { label: 'Daily P&L', pick: (p) => p.dailyPnl, signed: true },
    { label: 'Net P&L', pick: (p) => p.netPnl, signed: true },
    { label: 'Unrealized', pick: (p) => p.unrealizedPnl, signed: true },
    { label: 'Realized', pick: (p) => p.realizedPnl, signed: true },
    { label: 'Fees', pick: (p) => p.fees },
    { label: 'Gross exposure', pick: (p) => p.grossExposure },
    { label: 'Net exposure', pick: (p) => p.netExposure, signed: true },
  ];
  return (
    <dl class="kpi-strip" aria-label="Desk P&L summary" title={failureTitle(pnl.state())}>
      <For each={items}>
        {(item) => (
          <div class="kpi">
            <dt>{item.label}</dt>
            <dd class={item.signed ? tone(item.pick) : ''}>{value(item.pick, item.signed)}</dd>
          </div>
        )}
      </For>
    </dl>
  );
}

function failureTitle(state: { status: string; message?: string }): string | undefined {
  return state.status === 'error' ? state.message : undefined;
}
