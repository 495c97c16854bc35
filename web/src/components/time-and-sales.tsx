import { formatDecimal } from '../lib/decimal-format.ts';
import { formatQuantity } from '../lib/instrument-sizes.ts';
import { createQuery } from '../lib/query.ts';
import { trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { QueryView } from './panel.tsx';
import '../market.css';

/** `HH:MM:SS.mmm` UTC of an ISO time. */
function clockMs(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23);
}

const AGGRESSOR: Record<string, { cls: string; word: string }> = {
  '1': { cls: 'pos', word: 'buyer-initiated' },
  '-1': { cls: 'neg', word: 'seller-initiated' },
  '0': { cls: '', word: 'aggressor unknown' },
};

const aggressorOf = (t: { aggressor: number }) =>
  AGGRESSOR[String(Math.sign(t.aggressor))] ?? (AGGRESSOR['0'] as { cls: string; word: string });

/**
 * Time and sales: the instrument's latest venue trades, newest first, the price coloured by the
 * aggressor (green: a buyer lifted the offer, red: a seller hit the bid). Read every second from
 * `marketData.trades` (the stored ticks; the server has no trade stream).
 */
export function TimeAndSales(props: { symbol: string; decimals: number; limit?: number }) {
  const trades = createQuery(
    () => trpc.marketData.trades.query({ symbol: props.symbol, limit: props.limit ?? 60 }),
    {
      pollMs: 1_000,
    },
  );
  return (
    <QueryView query={trades} errorTitle="Could not load trades">
      {(list) => (
        <DataTable
          label={`Time and sales, ${props.symbol}, newest first`}
          class="tape"
          tableAttrs={{ 'data-trades': String(list.length) }}
          rows={list}
          empty="No trades yet"
          fill
          rowAttrs={(t) => ({ 'data-aggressor': String(t.aggressor) })}
          columns={[
            { id: 'time', header: 'Time (UTC)', class: 'mono', cell: (t) => clockMs(t.ts) },
            {
              id: 'price',
              header: 'Price',
              numeric: true,
              class: (t) => aggressorOf(t).cls,
              title: (t) => aggressorOf(t).word,
              cell: (t) => (
                <>
                  {formatDecimal(t.price, props.decimals)}
                  <span class="visually-hidden">, {aggressorOf(t).word}</span>
                </>
              ),
            },
            { id: 'size', header: 'Size', numeric: true, cell: (t) => formatQuantity(t.size, props.symbol) },
          ]}
        />
      )}
    </QueryView>
  );
}
