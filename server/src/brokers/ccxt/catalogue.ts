import ccxt from 'ccxt';

/**
 * The CCXT venues a desk can link (provider `ccxt:<id>`), for the provider catalogue. This module
 * reads CCXT's exchange classes only and carries no way to send an order, so the catalogue code
 * may import it without going through the execution service.
 */
export interface CcxtExchangeInfo {
  /** CCXT's exchange id; the provider id is `ccxt:<id>`. */
  readonly id: string;
  readonly provider: string;
  /** The venue's display name in CCXT. */
  readonly name: string;
  /** CCXT knows a testnet for it: `paper` connections are possible. */
  readonly sandbox: boolean;
  /** CCXT Pro streams its order updates over a WebSocket (else reports are polled). */
  readonly websocket: boolean;
  /** The venue needs a passphrase (CCXT's `password`) besides key and secret. */
  readonly passphrase: boolean;
}

let catalogue: readonly CcxtExchangeInfo[] | null = null;

/**
 * Every CCXT exchange with what a link needs to know, built once per process (each exchange
 * class is instantiated without credentials to read its URLs and capabilities: ~0.5 s).
 */
export function supportedCcxtExchanges(): readonly CcxtExchangeInfo[] {
  if (catalogue) return catalogue;
  const table = ccxt as unknown as Record<string, new () => InstanceType<typeof ccxt.Exchange>>;
  const pro = ccxt.pro as unknown as Record<string, new () => InstanceType<typeof ccxt.Exchange>>;
  const out: CcxtExchangeInfo[] = [];
  for (const id of ccxt.exchanges) {
    const Cls = table[id];
    if (!Cls || !/^[a-z0-9]{2,32}$/.test(id)) continue;
    const ex = new Cls();
    const ProCls = pro[id];
    const websocket = ProCls ? Boolean(new ProCls().has?.watchOrders) : false;
    out.push(
      Object.freeze({
        id,
        provider: `ccxt:${id}`,
        name: String(ex.name ?? id),
        sandbox: ex.urls !== undefined && 'test' in ex.urls && ex.urls.test !== undefined,
        websocket,
        passphrase: Boolean(ex.requiredCredentials?.password),
      }),
    );
  }
  catalogue = Object.freeze(out);
  return catalogue;
}
