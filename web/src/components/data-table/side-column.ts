import type { Column } from './data-table.tsx';

/** The order side as written ('buy', 'sell'), green for a buy and red for a sell. */
export function sideColumn<T>(side: (row: T) => string): Column<T> {
  return {
    id: 'side',
    header: 'Side',
    class: (row) => (side(row) === 'buy' ? 'pos' : 'neg'),
    cell: (row) => side(row),
  };
}
