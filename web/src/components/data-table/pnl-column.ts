import { formatDecimal, pnlClass } from '../../lib/decimal-format.ts';
import type { Column, ColumnPriority } from './data-table.tsx';

/** A profit-and-loss column: right-aligned, signed, to the cent, coloured by its sign. */
export function pnlColumn<T>(
  id: string,
  header: string,
  pnl: (row: T) => string | null | undefined,
  priority?: ColumnPriority,
): Column<T> {
  return {
    id,
    header,
    numeric: true,
    ...(priority ? { priority } : {}),
    class: (row) => pnlClass(pnl(row)),
    cell: (row) => formatDecimal(pnl(row), 2, { sign: true }),
  };
}
