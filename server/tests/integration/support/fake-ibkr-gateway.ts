/**
 * A local Interactive Brokers Client Portal gateway for tests: a real HTTP server answering the
 * documented Client Portal Web API requests (https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/)
 * under `/v1/api`, so the adapter under test is the production code over real sockets.
 *
 * ```ts
 * const gw = await startFakeIbkrGateway({ paceMs: 5_000 });   // optional IBKR pacing (429)
 * gw.url                        // http://127.0.0.1:<port>/v1/api  (ProviderEndpoints.apiBaseUrl)
 * gw.setQuote('AAPL', '99.9', '100.1')   // market orders fill at the touch; resting ones when crossed
 * gw.fill(cOID, '3', '100')     // an execution of 3 at 100 (partial fills)
 * gw.askQuestions([['No market data. Submit?'], ['Price exceeds 3% …']])  // next submission's questions
 * gw.rejectNext('Insufficient buying power')   // next submission answered { error }
 * gw.rejectLive(cOID)           // IBKR rejects a working order: status Inactive
 * gw.lapse() / gw.reauthenticate()   // brokerage session gone (401, authenticated:false) / back
 * gw.failNext({ path: /summary/, status: 429, times: 1 })
 * gw.failNext({ path: '/iserver/account/orders', delayMs: 5_000 })  // answers late
 * gw.requests                   // every request (method, path, body), in order
 * await gw.close()
 * ```
 *
 * Endpoints: POST /iserver/auth/status, POST /tickle, GET /iserver/accounts (required once per
 * session before order calls, else 400), GET /portfolio/accounts, GET /portfolio/{acct}/summary, GET
 * /portfolio/{acct}/positions/{page}, GET /iserver/secdef/search?symbol=, POST
 * /iserver/account/{acct}/orders (questions → `[{id, message, isSuppressed, messageIds}]`,
 * confirmed by POST /iserver/reply/{id} `{confirmed:true}`; duplicate cOID → `{error}`), GET
 * /iserver/account/orders (`{orders:[…], snapshot:true}`, `order_ref` = cOID), DELETE
 * /iserver/account/{acct}/order/{orderId}, GET /iserver/account/trades (`execution_id`,
 * `order_ref`, `trade_time_r`).
 *
 * Brackets (parent + children with `parentId` = the parent's cOID): the children rest
 * (PreSubmitted) at the parent's size until the parent fills, may fill only what the parent
 * filled less what the other child filled, and form one OCA group (a child's fill reduces the
 * other; a completed child cancels it). A parent cancelled unfilled cancels its children; one
 * cancelled after a partial fill resizes them to what it filled.
 *
 * One file: the fake speaks the whole Client Portal protocol (session, questions, orders, brackets,
 * trades), which share one state; its HTTP plumbing is in fake-http.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import {
  type FaultRule as BaseFaultRule,
  closeServer,
  Faults,
  listenLoopback,
  readBody,
} from './fake-http.ts';

export type FaultRule = BaseFaultRule;

export interface FakeIbkrOrder {
  orderId: number;
  cOID: string;
  conid: number;
  ticker: string;
  side: 'BUY' | 'SELL';
  orderType: 'MKT' | 'LMT' | 'STP' | 'STOP_LIMIT';
  price: Dec | null;
  auxPrice: Dec | null;
  tif: string;
  totalSize: Dec;
  filled: Dec;
  notional: Dec;
  status: 'PreSubmitted' | 'Submitted' | 'Filled' | 'Cancelled' | 'Inactive' | 'PendingCancel';
  parentCOID: string | null;
  lastExecutionMs: number;
}

interface FakeTrade {
  execution_id: string;
  symbol: string;
  side: 'B' | 'S';
  order_description: string;
  trade_time: string;
  trade_time_r: number;
  size: number;
  price: string;
  order_ref: string;
  submitter: string;
  exchange: string;
  commission: string;
  net_amount: number;
  account: string;
  accountCode: string;
  company_name: string;
  contract_description_1: string;
  sec_type: string;
  listing_exchange: string;
  conid: string;
  conidEx: string;
  clearing_id: string;
  clearing_name: string;
  liquidation_trade: string;
}

export interface FakeIbkrGateway {
  readonly url: string;
  readonly accountId: string;
  readonly requests: { method: string; path: string; body: unknown }[];
  setQuote(symbol: string, bid: string, ask: string): void;
  fill(cOID: string, qty: string, price?: string): void;
  askQuestions(rounds: string[][]): void;
  rejectNext(message: string, status?: number): void;
  rejectLive(cOID: string): void;
  lapse(competing?: boolean): void;
  reauthenticate(): void;
  failNext(rule: FaultRule): void;
  order(cOID: string): FakeIbkrOrder | undefined;
  setCash(cash: string): void;
  close(): Promise<void>;
}

const CONTRACTS: Record<string, { conid: number; name: string; exchange: string }> = {
  AAPL: { conid: 265598, name: 'APPLE INC', exchange: 'NASDAQ' },
  MSFT: { conid: 272093, name: 'MICROSOFT CORP', exchange: 'NASDAQ' },
  SPY: { conid: 756733, name: 'SS SPDR S&P 500 ETF TRUST-US', exchange: 'ARCA' },
};

export interface FakeIbkrGatewayOptions {
  readonly accountId?: string;
  readonly cash?: string;
  /**
   * IBKR's pacing of GET /iserver/account/orders and /iserver/account/trades (1 request per 5 s
   * each): a second request to the same endpoint within this many ms answers 429. Off by default.
   */
  readonly paceMs?: number;
  /** Serve HTTPS with this (self-signed) certificate, as the real gateway does; URL host `localhost`. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export async function startFakeIbkrGateway(opts: FakeIbkrGatewayOptions = {}): Promise<FakeIbkrGateway> {
  const accountId = opts.accountId ?? 'DU1234567';
  let cash = dec(opts.cash ?? '100000');
  let authenticated = true;
  let competing = false;
  let accountsRead = false;
  let orderSeq = 1_370_093_000;
  let execSeq = 0;
  const orders = new Map<string, FakeIbkrOrder>();
  const tradesLog: FakeTrade[] = [];
  const positions = new Map<number, { qty: Dec; cost: Dec }>();
  const quotes = new Map<string, { bid: Dec; ask: Dec }>();
  const questionRounds: string[][] = [];
  const pendingReplies = new Map<string, { tickets: Ticket[]; rounds: string[][] }>();
  let nextReject: { message: string; status: number } | null = null;
  const faults = new Faults();
  const requests: FakeIbkrGateway['requests'] = [];
  const lastPaced = new Map<string, number>();

  interface Ticket {
    conid: number;
    cOID?: string;
    parentId?: string;
    orderType: string;
    side: string;
    quantity: number;
    price?: number;
    auxPrice?: number;
    tif: string;
  }

  const tickerOf = (conid: number) =>
    Object.entries(CONTRACTS).find(([, c]) => c.conid === conid)?.[0] ?? String(conid);

  const children = (o: FakeIbkrOrder) => [...orders.values()].filter((c) => c.parentCOID === o.cOID);
  const open = (o: FakeIbkrOrder) => o.status === 'PreSubmitted' || o.status === 'Submitted';

  /** What a child may fill: what its parent filled, less what the children already filled. */
  function childCapacity(c: FakeIbkrOrder): Dec {
    const parent = c.parentCOID ? orders.get(c.parentCOID) : undefined;
    if (!parent) return c.totalSize.minus(c.filled);
    const siblings = children(parent).reduce((s, x) => s.plus(x.filled), ZERO);
    const cap = parent.filled.minus(siblings);
    const leaves = c.totalSize.minus(c.filled);
    return cap.lt(leaves) ? cap : leaves;
  }

  function execute(o: FakeIbkrOrder, qty: Dec, price: Dec): void {
    if (!qty.gt(0)) return;
    const now = Date.now();
    o.filled = o.filled.plus(qty);
    o.notional = o.notional.plus(qty.times(price));
    o.lastExecutionMs = now;
    if (o.filled.gte(o.totalSize)) o.status = 'Filled';
    else o.status = 'Submitted';
    const signed = o.side === 'BUY' ? qty : qty.neg();
    const p = positions.get(o.conid) ?? { qty: ZERO, cost: ZERO };
    positions.set(o.conid, { qty: p.qty.plus(signed), cost: p.cost.plus(signed.times(price)) });
    cash = o.side === 'BUY' ? cash.minus(qty.times(price)) : cash.plus(qty.times(price));
    const ticker = tickerOf(o.conid);
    const d = new Date(now);
    const pad = (n: number) => String(n).padStart(2, '0');
    tradesLog.push({
      execution_id: `0000e0d5.${(0x6576fd38 + ++execSeq).toString(16)}.01.01`,
      symbol: ticker,
      side: o.side === 'BUY' ? 'B' : 'S',
      order_description: `${o.side === 'BUY' ? 'Bot' : 'Sold'} ${decStr(qty)} @ ${decStr(price)} on ISLAND`,
      trade_time: `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
      trade_time_r: now + execSeq, // strictly increasing: the order of executions
      size: Number(decStr(qty)),
      price: decStr(price),
      order_ref: o.cOID,
      submitter: 'aegistest',
      exchange: 'ISLAND',
      commission: '1.0',
      net_amount: Number(decStr(qty.times(price))),
      account: accountId,
      accountCode: accountId,
      company_name: CONTRACTS[ticker]?.name ?? ticker,
      contract_description_1: ticker,
      sec_type: 'STK',
      listing_exchange: CONTRACTS[ticker]?.exchange ?? 'SMART',
      conid: String(o.conid),
      conidEx: String(o.conid),
      clearing_id: 'IB',
      clearing_name: 'IB',
      liquidation_trade: '0',
    });
    // Brackets: a parent's fill activates its children; a child's fill works the OCA group.
    for (const c of children(o)) if (c.status === 'PreSubmitted') c.status = 'Submitted';
    if (o.parentCOID) {
      const parent = orders.get(o.parentCOID);
      if (parent && open(parent)) parent.status = 'Cancelled'; // no re-entry behind an exit
      for (const sib of parent ? children(parent) : []) {
        if (sib === o || !open(sib)) continue;
        if (o.status === 'Filled') sib.status = 'Cancelled';
        else sib.totalSize = sib.totalSize.minus(qty);
      }
    }
  }

  /** The simple matching model: market at the touch, limits when marketable, stops when touched. */
  function work(o: FakeIbkrOrder): void {
    if (!open(o)) return;
    if (o.parentCOID && !childCapacity(o).gt(0)) return;
    const q = quotes.get(tickerOf(o.conid));
    if (!q) return;
    const buy = o.side === 'BUY';
    const touch = buy ? q.ask : q.bid;
    let marketable: boolean;
    switch (o.orderType) {
      case 'MKT':
        marketable = true;
        break;
      case 'LMT':
        marketable = buy ? touch.lte(o.price!) : touch.gte(o.price!);
        break;
      case 'STP':
        marketable = buy ? touch.gte(o.price!) : touch.lte(o.price!);
        break;
      case 'STOP_LIMIT': {
        const triggered = buy ? touch.gte(o.auxPrice!) : touch.lte(o.auxPrice!);
        marketable = triggered && (buy ? touch.lte(o.price!) : touch.gte(o.price!));
        break;
      }
    }
    if (!marketable) return;
    const leaves = o.parentCOID ? childCapacity(o) : o.totalSize.minus(o.filled);
    execute(o, leaves, touch);
  }

  function workAll(): void {
    for (const o of [...orders.values()].sort((a, b) => a.orderId - b.orderId)) work(o);
  }

  function submit(tickets: Ticket[]): unknown {
    const out: unknown[] = [];
    for (const t of tickets) {
      const cOID = t.cOID ?? `auto-${orderSeq + 1}`;
      const o: FakeIbkrOrder = {
        orderId: ++orderSeq,
        cOID,
        conid: t.conid,
        ticker: tickerOf(t.conid),
        side: t.side === 'BUY' ? 'BUY' : 'SELL',
        orderType: t.orderType as FakeIbkrOrder['orderType'],
        price: t.price === undefined ? null : dec(String(t.price)),
        auxPrice: t.auxPrice === undefined ? null : dec(String(t.auxPrice)),
        tif: t.tif,
        totalSize: dec(String(t.quantity)),
        filled: ZERO,
        notional: ZERO,
        status: t.parentId ? 'PreSubmitted' : 'Submitted',
        parentCOID: t.parentId ?? null,
        lastExecutionMs: Date.now(),
      };
      orders.set(cOID, o);
      out.push({ order_id: String(o.orderId), order_status: o.status, encrypt_message: '1' });
    }
    workAll();
    return out;
  }

  function question(tickets: Ticket[], rounds: string[][]): unknown {
    const [messages, ...rest] = rounds;
    const id = randomUUID();
    pendingReplies.set(id, { tickets, rounds: rest });
    return [
      {
        id,
        message: messages,
        isSuppressed: false,
        messageIds: (messages ?? []).map((_, i) => `o${354 + i}`),
      },
    ];
  }

  function liveView(o: FakeIbkrOrder): Record<string, unknown> {
    const ticker = o.ticker;
    return {
      acct: accountId,
      conidex: String(o.conid),
      conid: o.conid,
      account: accountId,
      orderId: o.orderId,
      cashCcy: 'USD',
      sizeAndFills: `${decStr(o.filled)}/${decStr(o.totalSize)}`,
      orderDesc: `${o.side === 'BUY' ? 'Buy' : 'Sell'} ${decStr(o.totalSize)} ${ticker} ${o.orderType} ${o.tif}`,
      description1: ticker,
      ticker,
      secType: 'STK',
      listingExchange: CONTRACTS[ticker]?.exchange ?? 'SMART',
      remainingQuantity: Number(decStr(o.totalSize.minus(o.filled))),
      filledQuantity: Number(decStr(o.filled)),
      totalSize: Number(decStr(o.totalSize)),
      companyName: CONTRACTS[ticker]?.name ?? ticker,
      status: o.status,
      order_ccp_status: o.status,
      origOrderType: o.orderType === 'LMT' ? 'LIMIT' : o.orderType === 'MKT' ? 'MARKET' : o.orderType,
      supportsTaxOpt: '1',
      lastExecutionTime: '231211180049',
      orderType:
        o.orderType === 'LMT'
          ? 'Limit'
          : o.orderType === 'MKT'
            ? 'Market'
            : o.orderType === 'STP'
              ? 'Stop'
              : 'Stop Limit',
      bgColor: '#000000',
      fgColor: '#00F000',
      order_ref: o.cOID,
      timeInForce: o.tif,
      lastExecutionTime_r: o.lastExecutionMs,
      side: o.side,
      ...(o.price && { price: decStr(o.price) }),
      ...(o.auxPrice && { auxPrice: decStr(o.auxPrice) }),
      ...(o.filled.gt(0) && { avgPrice: decStr(o.notional.div(o.filled).toDecimalPlaces(6)) }),
    };
  }

  async function body(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req);
    return text ? JSON.parse(text) : undefined;
  }

  function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(payload === undefined ? '' : JSON.stringify(payload));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/v1/api/')) return send(res, 404, { error: 'not found' });
    const path = url.pathname.slice('/v1/api'.length);
    const payload = await body(req);
    requests.push({ method, path, body: payload });

    const fault = faults.take(method, path);
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status)
        return send(res, fault.status, fault.body ?? { error: `HTTP ${fault.status}` }, fault.headers);
    }

    // Session: status and tickle always answer; everything else needs an authenticated session.
    const status = { authenticated, competing, connected: true, message: '', MAC: '98:F2:B3:23:BF:A0' };
    if (method === 'POST' && path === '/iserver/auth/status') return send(res, 200, status);
    if (method === 'POST' && path === '/tickle')
      return send(res, 200, {
        session: 'bb665d0f55b6289d70bc3a0b7c4e2c8e',
        ssoExpires: 460_000,
        collission: false,
        userId: 123_456_789,
        iserver: { authStatus: status },
      });
    if (!authenticated || competing) return send(res, 401, undefined);
    if (
      opts.paceMs &&
      method === 'GET' &&
      (path === '/iserver/account/orders' || path === '/iserver/account/trades')
    ) {
      const last = lastPaced.get(path);
      const now = Date.now();
      if (last !== undefined && now - last < opts.paceMs)
        return send(
          res,
          429,
          { error: 'Too Many Requests' },
          { 'retry-after': String(Math.ceil(opts.paceMs / 1000)) },
        );
      lastPaced.set(path, now);
    }

    if (method === 'GET' && path === '/iserver/accounts') {
      accountsRead = true;
      return send(res, 200, { accounts: [accountId], selectedAccount: accountId, aliases: {} });
    }
    if (method === 'GET' && path === '/portfolio/accounts')
      return send(res, 200, [
        {
          id: accountId,
          accountId,
          accountVan: accountId,
          accountTitle: 'Aegis Test',
          displayName: accountId,
          currency: 'USD',
          type: 'DEMO',
          tradingType: 'STKNOPT',
          covestor: false,
        },
      ]);
    if (method === 'GET' && path === `/portfolio/${accountId}/summary`) {
      let equity = cash;
      for (const [conid, p] of positions) {
        const q = quotes.get(tickerOf(conid));
        const mark = q ? q.bid.plus(q.ask).div(2) : p.qty.isZero() ? ZERO : p.cost.div(p.qty);
        equity = equity.plus(p.qty.times(mark));
      }
      const v = (amount: Dec) => ({
        amount: Number(decStr(amount)),
        currency: 'USD',
        isNull: false,
        timestamp: Date.now(),
        value: null,
        severity: 0,
      });
      return send(res, 200, {
        accountready: {
          amount: 0,
          currency: null,
          isNull: false,
          timestamp: Date.now(),
          value: 'true',
          severity: 0,
        },
        totalcashvalue: v(cash),
        buyingpower: v(cash.times(4)),
        netliquidation: v(equity),
      });
    }
    const positionsPath = path.match(/^\/portfolio\/([^/]+)\/positions\/(\d+)$/);
    if (method === 'GET' && positionsPath && positionsPath[1] === accountId) {
      const rows = positionsPath[2] !== '0' ? [] : [...positions].filter(([, p]) => !p.qty.isZero());
      return send(
        res,
        200,
        rows.map(([conid, p]) => ({
          acctId: accountId,
          conid,
          contractDesc: tickerOf(conid),
          position: Number(decStr(p.qty)),
          mktPrice: 0,
          mktValue: 0,
          currency: 'USD',
          avgCost: Number(decStr(p.cost.div(p.qty))),
          avgPrice: Number(decStr(p.cost.div(p.qty))),
          ticker: tickerOf(conid),
          assetClass: 'STK',
        })),
      );
    }
    if (method === 'GET' && path === '/iserver/secdef/search') {
      const symbol = (url.searchParams.get('symbol') ?? '').toUpperCase();
      const c = CONTRACTS[symbol];
      if (!c) return send(res, 200, []);
      return send(res, 200, [
        {
          conid: String(c.conid),
          companyHeader: `${c.name} - ${c.exchange}`,
          companyName: c.name,
          symbol,
          description: c.exchange,
          restricted: null,
          sections: [{ secType: 'STK' }, { secType: 'OPT', months: 'JAN25;FEB25', exchange: 'SMART' }],
        },
        // A foreign listing first in some answers: the adapter must pick the US stock by symbol.
        {
          conid: String(c.conid + 1_000_000),
          companyName: c.name,
          symbol: `${symbol}.MX`,
          description: 'MEXI',
          sections: [{ secType: 'STK' }],
        },
      ]);
    }
    if (path.startsWith('/iserver/account') && !accountsRead)
      return send(res, 400, { error: 'Please query /accounts first', statusCode: 400 });

    if (method === 'POST' && path === `/iserver/account/${accountId}/orders`) {
      const tickets = ((payload as { orders?: Ticket[] })?.orders ?? []) as Ticket[];
      if (nextReject) {
        const r = nextReject;
        nextReject = null;
        return send(res, r.status, { error: r.message });
      }
      for (const t of tickets)
        if (t.cOID && orders.has(t.cOID))
          return send(res, 200, { error: `Local order ID=${t.cOID} is already registered.` });
      if (questionRounds.length > 0) {
        const rounds = [...questionRounds];
        questionRounds.length = 0;
        return send(res, 200, question(tickets, rounds));
      }
      return send(res, 200, submit(tickets));
    }
    const reply = path.match(/^\/iserver\/reply\/([^/]+)$/);
    if (method === 'POST' && reply) {
      const pending = pendingReplies.get(reply[1]!);
      if (!pending) return send(res, 400, { error: 'Reply ID not found' });
      pendingReplies.delete(reply[1]!);
      if ((payload as { confirmed?: boolean })?.confirmed !== true)
        return send(res, 200, { error: 'Order not confirmed ' });
      if (pending.rounds.length > 0) return send(res, 200, question(pending.tickets, pending.rounds));
      return send(res, 200, submit(pending.tickets));
    }
    if (method === 'GET' && path === '/iserver/account/orders')
      return send(res, 200, {
        orders: [...orders.values()].sort((a, b) => b.orderId - a.orderId).map(liveView),
        snapshot: true,
      });
    const del = path.match(/^\/iserver\/account\/([^/]+)\/order\/(\d+)$/);
    if (method === 'DELETE' && del && del[1] === accountId) {
      const o = [...orders.values()].find((x) => String(x.orderId) === del[2]);
      if (!o) return send(res, 200, { error: `OrderID ${del[2]} doesn't exist` });
      if (!open(o)) return send(res, 200, { error: `OrderID ${del[2]} is already ${o.status}` });
      o.status = 'Cancelled';
      for (const c of children(o)) {
        if (!open(c)) continue;
        if (o.filled.isZero()) c.status = 'Cancelled';
        else c.totalSize = o.filled;
      }
      return send(res, 200, {
        msg: 'Request was submitted',
        order_id: o.orderId,
        conid: o.conid,
        account: accountId,
      });
    }
    if (method === 'GET' && path === '/iserver/account/trades') return send(res, 200, tradesLog);
    return send(res, 404, { error: `no route ${method} ${path}` });
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
  };
  const server = opts.tls
    ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest)
    : createServer(onRequest);
  const port = await listenLoopback(server);

  return {
    url: opts.tls ? `https://localhost:${port}/v1/api` : `http://127.0.0.1:${port}/v1/api`,
    accountId,
    requests,
    setQuote(symbol, bid, ask) {
      quotes.set(symbol, { bid: dec(bid), ask: dec(ask) });
      workAll();
    },
    fill(cOID, qty, price) {
      const o = orders.get(cOID);
      if (!o || !open(o)) throw new Error(`fake ibkr: no open order ${cOID}`);
      const q = quotes.get(o.ticker);
      const px = price ? dec(price) : o.side === 'BUY' ? q?.ask : q?.bid;
      if (!px) throw new Error('fake ibkr: no price for the fill');
      execute(o, dec(qty), px);
    },
    askQuestions(rounds) {
      questionRounds.push(...rounds);
    },
    rejectNext(message, status = 200) {
      nextReject = { message, status };
    },
    rejectLive(cOID) {
      const o = orders.get(cOID);
      if (o) o.status = 'Inactive';
    },
    lapse(isCompeting = false) {
      if (isCompeting) competing = true;
      else authenticated = false;
      accountsRead = false;
    },
    reauthenticate() {
      authenticated = true;
      competing = false;
    },
    failNext(rule) {
      faults.arm(rule);
    },
    order: (cOID) => orders.get(cOID),
    setCash(c) {
      cash = dec(c);
    },
    close: () => closeServer(server),
  };
}
