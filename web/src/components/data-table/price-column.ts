import { formatPrice } from '../../lib/instrument-sizes.ts';
import type { Column, ColumnPriority } from './data-table.tsx';

/** A price column: right-aligned, at the instrument's tick precision ('—' when there is none). */
export function priceColumn<T>(
  id: string,
  header: string,
  price: (row: T) => string | null | undefined,
  symbol: (row: T) => string,
  priority?: ColumnPriority,
): Column<T> {
  return {
    id,
    header,
    numeric: true,
    ...(priority ? { priority } : {}),
    cell: (row) => formatPrice(price(row), symbol(row)),
  };
}
