import { formatDecimal, pnlClass, utcTime } from '../../lib/decimal-format.ts';
import { formatQuantity } from '../../lib/instrument-sizes.ts';
import type { RouterOutputs } from '../../lib/trpc.ts';
import { type Column, DataTable } from '../data-table/data-table.tsx';
import { pnlColumn } from '../data-table/pnl-column.ts';
import { priceColumn } from '../data-table/price-column.ts';

type Position = RouterOutputs['positions']['list'][number];

const positionColumns: readonly Column<Position>[] = [
  { id: 'symbol', header: 'Symbol', class: 'mono', cell: (p) => p.symbol },
  {
    id: 'quantity',
    header: 'Quantity',
    numeric: true,
    class: (p) => pnlClass(p.quantity),
    cell: (p) => formatQuantity(p.quantity, p.symbol, { sign: true }),
  },
  priceColumn(
    'avgCost',
    'Avg cost',
    (p) => p.avgCost,
    (p) => p.symbol,
    2,
  ),
  priceColumn(
    'mark',
    'Mark',
    (p) => p.mark,
    (p) => p.symbol,
  ),
  {
    id: 'value',
    header: 'Market value',
    numeric: true,
    priority: 3,
    cell: (p) => formatDecimal(p.marketValue),
  },
  pnlColumn('unrealized', 'Unrealized', (p) => p.unrealizedPnl),
  pnlColumn('realized', 'Realized', (p) => p.realizedPnl, 2),
  {
    id: 'fees',
    header: 'Fees',
    numeric: true,
    priority: 3,
    class: 'dim',
    cell: (p) => formatDecimal(p.fees),
  },
  {
    id: 'updated',
    header: 'Updated (UTC)',
    priority: 3,
    class: 'mono dim',
    cell: (p) => utcTime(p.updatedAt),
  },
];

export function PositionsTable(props: { positions: readonly Position[]; fill?: boolean }) {
  return (
    <DataTable
      label="Positions"
      rows={props.positions}
      columns={positionColumns}
      empty="No positions on this desk"
      fill={props.fill ?? false}
    />
  );
}
