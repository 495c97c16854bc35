import { utcTime } from '../../lib/decimal-format.ts';
import type { RouterOutputs } from '../../lib/trpc.ts';
import { type Column, DataTable } from '../data-table/data-table.tsx';
import { priceColumn } from '../data-table/price-column.ts';

export type SignalRow = RouterOutputs['signals']['list']['items'][number];

function signalColumns(compact: boolean): readonly Column<SignalRow>[] {
  return [
    {
      id: 'time',
      header: 'Time (UTC)',
      class: 'mono',
      // On a phone the time folds into the details line: direction and score stay on screen.
      priority: 2,
      title: (s) => utcTime(s.tsSignal),
      cell: (s) => (compact ? utcTime(s.tsSignal).slice(11) : utcTime(s.tsSignal)),
    },
    { id: 'symbol', header: 'Symbol', class: 'mono', cell: (s) => s.symbol },
    {
      id: 'direction',
      header: 'Direction',
      cell: (s) => <span class={`tag ${s.direction === 'long' ? 'tag-ok' : 'tag-bad'}`}>{s.direction}</span>,
    },
    { id: 'pattern', header: 'Pattern', priority: 2, cell: (s) => s.pattern.replace('_', ' ') },
    { id: 'score', header: 'Score', numeric: true, cell: (s) => s.score.toFixed(3) },
    priceColumn(
      'price',
      'Price',
      (s) => s.price,
      (s) => s.symbol,
      2,
    ),
    ...(compact
      ? []
      : [
          {
            id: 'model',
            header: 'Model',
            class: 'mono dim',
            priority: 3 as const,
            cell: (s: SignalRow) => s.modelVersion,
          },
        ]),
  ];
}

export function SignalsTable(props: {
  signals: readonly SignalRow[];
  compact?: boolean;
  /** Row selection (the Signals page): the selected row is marked and clicking selects. */
  selectedId?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  const onSelect = props.onSelect;
  return (
    <DataTable
      label="Signals, newest first"
      rows={props.signals}
      columns={signalColumns(props.compact ?? false)}
      fill
      dense={props.compact ?? false}
      rowAttrs={(s) => ({
        'data-signal-id': s.id,
        'aria-selected': onSelect ? String(props.selectedId === s.id) : undefined,
      })}
      {...(onSelect ? { onRowClick: (s: SignalRow) => onSelect(s.id) } : {})}
    />
  );
}
