import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local venues publishing their instrument lists, as documented, for the instrument loaders:
 *
 *   Coinbase Advanced Trade  GET /api/v3/brokerage/market/products   public; limit/offset paging,
 *                            product_type and repeated product_ids filters; body
 *                            { products: [...], num_products }
 *   Alpaca trading API       GET /v2/assets?status=&asset_class=      APCA-API-KEY-ID and
 *                            APCA-API-SECRET-KEY headers (403 {code, message} otherwise); a JSON
 *                            array of assets
 *
 * Every request is recorded (path, query, the key id header) so tests can check what was asked.
 */
export interface CoinbaseProduct {
  product_id: string;
  base_increment: string;
  quote_increment: string;
  price_increment?: string;
  base_currency_id: string;
  quote_currency_id: string;
  base_name?: string;
  quote_name?: string;
  product_type: 'SPOT' | 'FUTURE';
  status: string;
  trading_disabled: boolean;
  is_disabled: boolean;
  cancel_only?: boolean;
}

export const coinbaseProduct = (id: string, over: Partial<CoinbaseProduct> = {}): CoinbaseProduct => {
  const [base, quote] = id.split('-') as [string, string];
  return {
    product_id: id,
    base_increment: '0.00000001',
    quote_increment: '0.01',
    price_increment: '0.01',
    base_currency_id: base,
    quote_currency_id: quote,
    base_name: base === 'BTC' ? 'Bitcoin' : base === 'ETH' ? 'Ethereum' : base,
    quote_name: quote === 'USD' ? 'US Dollar' : quote,
    product_type: 'SPOT',
    status: 'online',
    trading_disabled: false,
    is_disabled: false,
    ...over,
  };
};

export interface AlpacaAsset {
  id: string;
  class: 'us_equity' | 'crypto';
  exchange: string;
  symbol: string;
  name: string;
  status: 'active' | 'inactive';
  tradable: boolean;
  marginable: boolean;
  shortable: boolean;
  easy_to_borrow: boolean;
  fractionable: boolean;
}

let assetSeq = 0;
export const alpacaAsset = (
  symbol: string,
  exchange: string,
  name: string,
  over: Partial<AlpacaAsset> = {},
): AlpacaAsset => ({
  id: `00000000-0000-4000-8000-${String(++assetSeq).padStart(12, '0')}`,
  class: 'us_equity',
  exchange,
  symbol,
  name,
  status: 'active',
  tradable: true,
  marginable: true,
  shortable: true,
  easy_to_borrow: true,
  fractionable: false,
  ...over,
});

export interface RecordedCatalogueRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly keyId: string | null;
}

export class FakeVenueCatalogues {
  readonly requests: RecordedCatalogueRequest[] = [];
  /** The Coinbase list; extra raw entries (malformed ones) may be pushed by tests. */
  coinbase: unknown[] = [];
  alpaca: unknown[] = [];
  readonly alpacaKeys = { keyId: 'AKTESTKEY', secretKey: 'test-secret-0123456789' };
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const keyId = (req.headers['apca-api-key-id'] as string | undefined) ?? null;
    this.requests.push({ path: url.pathname, query: url.searchParams, keyId });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/api/v3/brokerage/market/products') {
      const q = url.searchParams;
      const ids = q.getAll('product_ids');
      const type = q.get('product_type');
      const all = this.coinbase.filter((p) => {
        const product = p as Partial<CoinbaseProduct>;
        return (
          (ids.length === 0 || ids.includes(String(product.product_id))) &&
          (!type || !product.product_type || product.product_type === type)
        );
      });
      const offset = Number(q.get('offset') ?? 0);
      const limit = Number(q.get('limit') ?? 250);
      send(200, { products: all.slice(offset, offset + limit), num_products: all.length });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v2/assets') {
      if (
        keyId !== this.alpacaKeys.keyId ||
        req.headers['apca-api-secret-key'] !== this.alpacaKeys.secretKey
      ) {
        send(403, { code: 40310000, message: 'forbidden' });
        return;
      }
      const status = url.searchParams.get('status');
      const cls = url.searchParams.get('asset_class');
      send(
        200,
        this.alpaca.filter((a) => {
          const asset = a as Partial<AlpacaAsset>;
          return (
            (!status || !asset.status || asset.status === status) &&
            (!cls || !asset.class || asset.class === cls)
          );
        }),
      );
      return;
    }
    send(404, { message: `no route ${req.method} ${url.pathname}` });
  }
}
