/**
 * A local OKX v5 REST venue for tests (https://www.okx.com/docs-v5/en/), spot in cash mode,
 * enough of it for CCXT's `okx` class over real HTTP:
 *
 *   GET  /api/v5/public/instruments?instType=SPOT, /api/v5/public/time, /api/v5/market/tickers
 *   GET  /api/v5/account/balance
 *   POST /api/v5/trade/order, /api/v5/trade/batch-orders (CCXT's default), /api/v5/trade/cancel-order
 *   GET  /api/v5/trade/order, /api/v5/trade/orders-pending, /api/v5/trade/fills(-history)
 *
 * As documented: private requests carry OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE, OK-ACCESS-TIMESTAMP
 * (ISO 8601, within 30 s) and OK-ACCESS-SIGN = base64 HMAC-SHA256 of
 * `timestamp + method + requestPath (+ ?query) + body` under the secret; a demo-trading key
 * works only with `x-simulated-trading: 1` (and a live key only without it). Every answer is
 * `{code, msg, data}`; per-order failures are `code: "1"` with the order's `sCode`/`sMsg`
 * (51008 insufficient balance, 51016 duplicated clOrdId, 51603 order does not exist, 51400
 * cancellation failed); 50113 invalid sign, 50111 invalid key, 50105 wrong passphrase, 50011
 * rate limit (HTTP 429). `clOrdId` (≤ 32 alphanumerics) is held unique among the account's open
 * orders here: the weaker of the readings of OKX's documentation, so the adapter must cope.
 *
 * Private WebSocket (`/ws/v5/private`): `{op:"login", args:[{apiKey, passphrase, timestamp, sign}]}`
 * with sign = base64 HMAC-SHA256 of `timestamp + "GET" + "/users/self/verify"` (timestamp in
 * seconds), answered `{event:"login", code:"0"}`; `{op:"subscribe", args:[{channel:"orders",
 * instType}]}` answered `{event:"subscribe", arg}`; then every order change of the account is
 * pushed as `{arg, data:[order]}` in the REST order shape; text `ping` → `pong`.
 *
 * Matching: limit orders rest until the test fills them (`fill`) or a print crosses them
 * (`trade`); a marketable limit or a market sell fills at the last price. Fee 0.1 % of what is
 * received, reported negative as OKX does.
 *
 * One file: the fake speaks the whole OKX protocol (signed REST, the private orders stream, order
 * and balance bookkeeping), which share one state; its HTTP plumbing is in fake-http.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Dec, dec, decMin, ZERO } from '@aegis/shared/accounting/decimal';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeServer, hmacMatches, listenLoopback, readBody } from './fake-http.ts';
import { SpotWallet } from './spot-wallet.ts';

export interface FakeOkxInstrument {
  readonly instId: string;
  readonly baseCcy: string;
  readonly quoteCcy: string;
  readonly tickSz: string;
  readonly lotSz: string;
  readonly minSz: string;
  readonly last: string;
}

export const OKX_INSTRUMENTS: readonly FakeOkxInstrument[] = [
  {
    instId: 'BTC-USDT',
    baseCcy: 'BTC',
    quoteCcy: 'USDT',
    tickSz: '0.1',
    lotSz: '0.00000001',
    minSz: '0.00001',
    last: '60000',
  },
];

type State = 'live' | 'partially_filled' | 'filled' | 'canceled';

interface OkxOrder {
  readonly ordId: string;
  readonly key: string;
  readonly instId: string;
  readonly clOrdId: string;
  readonly side: 'buy' | 'sell';
  readonly ordType: string;
  readonly px: Dec;
  readonly sz: Dec;
  filled: Dec;
  notional: Dec;
  state: State;
  locked: Dec;
  readonly cTime: number;
  uTime: number;
}

interface OkxFill {
  readonly tradeId: string;
  readonly ordId: string;
  readonly clOrdId: string;
  readonly key: string;
  readonly instId: string;
  readonly side: 'buy' | 'sell';
  readonly px: Dec;
  readonly sz: Dec;
  readonly fee: Dec;
  readonly feeCcy: string;
  readonly maker: boolean;
  readonly ts: number;
}

interface OkxAccount {
  readonly secret: string;
  readonly passphrase: string;
  readonly simulated: boolean;
  readonly balances: SpotWallet;
}

export interface OkxRecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly simulated: boolean;
}

const FEE = dec('0.001');
const s8 = (d: Dec) => d.toFixed();

export class FakeOkx {
  readonly requests: OkxRecordedRequest[] = [];
  readonly #instruments = new Map<string, FakeOkxInstrument>();
  readonly #last = new Map<string, Dec>();
  readonly #accounts = new Map<string, OkxAccount>();
  readonly #orders: OkxOrder[] = [];
  readonly #fills: OkxFill[] = [];
  readonly #faults: { path: string; status: number; body: unknown }[] = [];
  #seq = 600_000_000_000;
  #server: Server | null = null;
  readonly #wss = new WebSocketServer({ noServer: true });
  /** Authenticated sockets with their key, and whether they subscribed to `orders`. */
  readonly #sockets = new Map<WebSocket, { key: string | null; orders: boolean }>();
  /** `orders` subscriptions accepted so far (a reconnecting client subscribes again). */
  orderSubscriptions = 0;
  url = '';
  streamUrl = '';

  constructor(instruments: readonly FakeOkxInstrument[] = OKX_INSTRUMENTS) {
    for (const i of instruments) {
      this.#instruments.set(i.instId, i);
      this.#last.set(i.instId, dec(i.last));
    }
  }

  addAccount(
    key: string,
    secret: string,
    passphrase: string,
    balances: Record<string, string>,
    simulated = false,
  ): void {
    this.#accounts.set(key, { secret, passphrase, simulated, balances: new SpotWallet(balances) });
  }

  ordersByClientId(clOrdId: string): readonly { ordId: string; state: State }[] {
    return this.#orders.filter((o) => o.clOrdId === clOrdId).map((o) => ({ ordId: o.ordId, state: o.state }));
  }

  failNext(path: string, status: number, body: unknown): void {
    this.#faults.push({ path, status, body });
  }

  fill(clOrdId: string, sz: string): void {
    const o = this.#orders.find((x) => x.clOrdId === clOrdId && isOpen(x.state));
    if (!o) throw new Error(`no open order ${clOrdId}`);
    this.#fill(o, dec(sz), o.px, true);
    this.#push(o);
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { code: '50000', msg: String(err), data: [] });
      });
    });
    this.#server.on('upgrade', (req, socket, head) => {
      if (!(req.url ?? '').startsWith('/ws/v5/private')) {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
    });
    const port = await listenLoopback(this.#server);
    this.url = `http://127.0.0.1:${port}`;
    this.streamUrl = `ws://127.0.0.1:${port}`;
  }

  /** Drops every WebSocket connection (a network cut): clients must reconnect and log in again. */
  dropStreams(): void {
    for (const ws of this.#sockets.keys()) ws.terminate();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    this.dropStreams();
    this.#wss.close();
    await closeServer(this.#server);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const body: unknown = raw === '' ? null : JSON.parse(raw);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const simulated = req.headers['x-simulated-trading'] === '1';
    this.requests.push({ method, path: url.pathname, query, body, simulated });
    const fi = this.#faults.findIndex((f) => f.path === url.pathname);
    const fault = fi >= 0 ? this.#faults.splice(fi, 1)[0] : undefined;
    if (fault) return send(res, fault.status, fault.body);

    const route = `${method} ${url.pathname}`;
    if (route === 'GET /api/v5/public/time') return send(res, 200, ok([{ ts: String(Date.now()) }]));
    if (route === 'GET /api/v5/public/instruments') return send(res, 200, ok(this.#instrumentsJson()));
    if (route === 'GET /api/v5/market/tickers') return send(res, 200, ok(this.#tickers()));

    const auth = this.#authenticate(req, method, url, raw, simulated);
    if ('status' in auth) return send(res, auth.status, auth.body);
    const key = auth.key;
    switch (route) {
      case 'GET /api/v5/account/balance':
        return send(res, 200, ok([this.#balance(key)]));
      case 'POST /api/v5/trade/order':
        return send(res, 200, this.#place(key, asRecord(body)));
      case 'POST /api/v5/trade/batch-orders': {
        // One result per order; code "0" all placed, "1" all failed, "2" some failed.
        const results = (Array.isArray(body) ? body : []).map((b) => this.#place(key, asRecord(b)));
        const data = results.flatMap((r) => r.data);
        const failed = results.filter((r) => r.code !== '0').length;
        const code = failed === 0 ? '0' : failed === results.length ? '1' : '2';
        return send(res, 200, { code, msg: code === '0' ? '' : 'Operation failed.', data });
      }
      case 'POST /api/v5/trade/cancel-order':
        return send(res, 200, this.#cancel(key, asRecord(body)));
      case 'GET /api/v5/trade/order': {
        const o = this.#find(key, query);
        return send(
          res,
          200,
          o ? ok([orderJson(o)]) : { code: '51603', msg: 'Order does not exist', data: [] },
        );
      }
      case 'GET /api/v5/trade/orders-pending':
        return send(
          res,
          200,
          ok(
            this.#orders
              .filter((o) => o.key === key && isOpen(o.state))
              .filter((o) => !query.instId || o.instId === query.instId)
              .map(orderJson),
          ),
        );
      case 'GET /api/v5/trade/fills':
      case 'GET /api/v5/trade/fills-history':
        return send(
          res,
          200,
          ok(
            this.#fills
              .filter((f) => f.key === key && (!query.instId || f.instId === query.instId))
              .filter((f) => !query.ordId || f.ordId === query.ordId)
              .reverse() // newest first, as OKX pages them
              .map(fillJson),
          ),
        );
      default:
        return send(res, 404, { code: '50000', msg: `no endpoint ${route}`, data: [] });
    }
  }

  #onSocket(ws: WebSocket): void {
    const state: { key: string | null; orders: boolean } = { key: null, orders: false };
    this.#sockets.set(ws, state);
    ws.on('close', () => this.#sockets.delete(ws));
    ws.on('message', (data) => {
      const text = String(data);
      if (text === 'ping') return ws.send('pong');
      let msg: { op?: string; args?: Record<string, string>[] };
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch {
        return ws.send(JSON.stringify({ event: 'error', code: '60012', msg: `Illegal request: ${text}` }));
      }
      const arg = msg.args?.[0] ?? {};
      if (msg.op === 'login') {
        const account = this.#accounts.get(arg.apiKey ?? '');
        const signed =
          account !== undefined &&
          hmacMatches(account.secret, `${arg.timestamp}GET/users/self/verify`, arg.sign ?? '', 'base64');
        const fresh = Math.abs(Date.now() / 1000 - Number(arg.timestamp)) <= 30;
        if (!account || account.passphrase !== arg.passphrase || !signed || !fresh) {
          ws.send(JSON.stringify({ event: 'error', code: '60009', msg: 'Login failed.' }));
          return ws.close();
        }
        state.key = arg.apiKey ?? null;
        return ws.send(JSON.stringify({ event: 'login', code: '0', msg: '', connId: 'a4d3ae55' }));
      }
      if (msg.op === 'subscribe' && arg.channel === 'orders') {
        if (!state.key)
          return ws.send(JSON.stringify({ event: 'error', code: '60011', msg: 'Please log in' }));
        state.orders = true;
        this.orderSubscriptions++;
        return ws.send(JSON.stringify({ event: 'subscribe', arg, connId: 'a4d3ae55' }));
      }
      ws.send(JSON.stringify({ event: 'error', code: '60018', msg: `unsupported: ${text}` }));
    });
  }

  /** Pushes an order's current state to the account's `orders` subscribers. */
  #push(o: OkxOrder): void {
    for (const [ws, st] of this.#sockets) {
      if (st.key !== o.key || !st.orders) continue;
      ws.send(
        JSON.stringify({ arg: { channel: 'orders', instType: 'SPOT', uid: '77' }, data: [orderJson(o)] }),
      );
    }
  }

  #authenticate(
    req: IncomingMessage,
    method: string,
    url: URL,
    raw: string,
    simulated: boolean,
  ): { key: string } | { status: number; body: unknown } {
    const h = (n: string) => {
      const v = req.headers[n];
      return typeof v === 'string' ? v : '';
    };
    const key = h('ok-access-key');
    const account = this.#accounts.get(key);
    if (!account) return { status: 401, body: { code: '50111', msg: 'Invalid OK-ACCESS-KEY', data: [] } };
    if (h('ok-access-passphrase') !== account.passphrase)
      return { status: 401, body: { code: '50105', msg: 'Invalid OK-ACCESS-PASSPHRASE', data: [] } };
    if (account.simulated !== simulated)
      return {
        status: 401,
        body: { code: '50101', msg: 'APIKey does not match current environment.', data: [] },
      };
    const ts = h('ok-access-timestamp');
    const t = Date.parse(ts);
    if (!Number.isFinite(t) || Math.abs(Date.now() - t) > 30_000)
      return { status: 401, body: { code: '50102', msg: 'Timestamp request expired', data: [] } };
    const prehash = ts + method + url.pathname + url.search + raw;
    if (!hmacMatches(account.secret, prehash, h('ok-access-sign'), 'base64'))
      return { status: 401, body: { code: '50113', msg: 'Invalid Sign', data: [] } };
    return { key };
  }

  #instrumentsJson(): unknown[] {
    return [...this.#instruments.values()].map((i) => ({
      alias: '',
      baseCcy: i.baseCcy,
      category: '1',
      ctMult: '',
      ctType: '',
      ctVal: '',
      ctValCcy: '',
      expTime: '',
      instFamily: '',
      instId: i.instId,
      instType: 'SPOT',
      lever: '10',
      listTime: '1606468572000',
      lotSz: i.lotSz,
      maxIcebergSz: '9999999999.0000000000000000',
      maxLmtAmt: '1000000',
      maxLmtSz: '9999999999',
      maxMktAmt: '1000000',
      maxMktSz: '1000000',
      maxStopSz: '1000000',
      maxTriggerSz: '9999999999',
      maxTwapSz: '9999999999',
      minSz: i.minSz,
      optType: '',
      quoteCcy: i.quoteCcy,
      settleCcy: '',
      state: 'live',
      ruleType: 'normal',
      stk: '',
      tickSz: i.tickSz,
      uly: '',
    }));
  }

  #tickers(): unknown[] {
    const ts = String(Date.now());
    return [...this.#last].map(([instId, px]) => ({
      instType: 'SPOT',
      instId,
      last: s8(px),
      lastSz: '0.001',
      askPx: s8(px),
      askSz: '1',
      bidPx: s8(px),
      bidSz: '1',
      open24h: s8(px),
      high24h: s8(px),
      low24h: s8(px),
      volCcy24h: '0',
      vol24h: '0',
      ts,
      sodUtc0: s8(px),
      sodUtc8: s8(px),
    }));
  }

  #balance(key: string): unknown {
    const a = this.#accounts.get(key) as OkxAccount;
    const uTime = String(Date.now());
    return {
      adjEq: '',
      borrowFroz: '',
      details: [...a.balances.holdings].map(([ccy, b]) => ({
        availBal: s8(b.free),
        availEq: s8(b.free),
        cashBal: s8(b.free.plus(b.locked)),
        ccy,
        eq: s8(b.free.plus(b.locked)),
        frozenBal: s8(b.locked),
        ordFrozen: s8(b.locked),
        uTime,
      })),
      imr: '',
      isoEq: '0',
      mgnRatio: '',
      mmr: '',
      notionalUsd: '',
      ordFroz: '',
      totalEq: '0',
      uTime,
    };
  }

  #place(key: string, b: Record<string, unknown>): OkxAnswer {
    const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : '');
    const inst = this.#instruments.get(str('instId'));
    if (!inst) return fail('51001', 'Instrument ID does not exist.');
    const clOrdId = str('clOrdId');
    const side = str('side');
    const ordType = str('ordType');
    if (side !== 'buy' && side !== 'sell') return fail('51000', 'Parameter side error');
    if (!['limit', 'market', 'ioc', 'fok', 'post_only'].includes(ordType))
      return fail('51000', 'Parameter ordType error');
    if (str('tdMode') !== 'cash') return fail('51000', 'Parameter tdMode error');
    if (clOrdId && !/^[a-zA-Z0-9]{1,32}$/.test(clOrdId)) return fail('51000', 'Parameter clOrdId error');
    if (clOrdId && this.#orders.some((o) => o.key === key && o.clOrdId === clOrdId && isOpen(o.state)))
      return fail('51016', 'Duplicated clOrdId', clOrdId);
    const sz = dec(str('sz') || '0');
    const isMarket = ordType === 'market';
    const px = isMarket ? ZERO : dec(str('px') || '0');
    if (sz.lt(dec(inst.minSz)) || !sz.mod(dec(inst.lotSz)).isZero())
      return fail('51000', 'Parameter sz error', clOrdId);
    if (!isMarket && !px.mod(dec(inst.tickSz)).isZero()) return fail('51000', 'Parameter px error', clOrdId);
    // A spot market buy is sized in the quote currency unless tgtCcy is base_ccy (CCXT sends
    // base_ccy); this fake models base-sized orders only.
    if (isMarket && side === 'buy' && str('tgtCcy') !== 'base_ccy')
      return fail('51000', 'Parameter tgtCcy error', clOrdId);
    const last = this.#last.get(inst.instId) as Dec;
    const ccy = side === 'buy' ? inst.quoteCcy : inst.baseCcy;
    const need = side === 'buy' ? sz.times(isMarket ? last : px) : sz;
    if (!(this.#accounts.get(key) as OkxAccount).balances.lock(ccy, need))
      return fail('51008', `Order failed. Insufficient ${ccy} balance in account.`, clOrdId);
    const now = Date.now();
    const o: OkxOrder = {
      ordId: String(++this.#seq),
      key,
      instId: inst.instId,
      clOrdId,
      side,
      ordType,
      px,
      sz,
      filled: ZERO,
      notional: ZERO,
      state: 'live',
      locked: need,
      cTime: now,
      uTime: now,
    };
    this.#orders.push(o);
    const marketable = isMarket || (side === 'buy' ? px.gte(last) : px.lte(last));
    if (marketable && ordType !== 'post_only') this.#fill(o, sz, last, false);
    if ((ordType === 'ioc' || ordType === 'fok' || isMarket) && o.state !== 'filled') this.#end(o);
    this.#push(o);
    return ok([{ clOrdId, ordId: o.ordId, tag: '', ts: String(now), sCode: '0', sMsg: 'Order placed' }]);
  }

  #cancel(key: string, b: Record<string, unknown>): unknown {
    const o = this.#find(key, b as Record<string, string>);
    if (!o) return fail('51400', 'Cancellation failed as the order does not exist.');
    if (o.state === 'filled')
      return fail('51402', 'Order cancellation failed as the order has been completed.', o.clOrdId);
    if (o.state === 'canceled')
      return fail('51401', 'Order cancellation failed as the order has been canceled.', o.clOrdId);
    this.#end(o);
    this.#push(o);
    return ok([{ clOrdId: o.clOrdId, ordId: o.ordId, ts: String(o.uTime), sCode: '0', sMsg: '' }]);
  }

  #find(key: string, q: Record<string, string>): OkxOrder | undefined {
    return this.#orders.find(
      (o) =>
        o.key === key &&
        o.instId === q.instId &&
        ((q.ordId !== undefined && o.ordId === q.ordId) ||
          (q.clOrdId !== undefined && o.clOrdId === q.clOrdId)),
    );
  }

  #end(o: OkxOrder): void {
    const inst = this.#instruments.get(o.instId) as FakeOkxInstrument;
    (this.#accounts.get(o.key) as OkxAccount).balances.unlock(
      o.side === 'buy' ? inst.quoteCcy : inst.baseCcy,
      o.locked,
    );
    o.locked = ZERO;
    if (o.state !== 'filled') o.state = 'canceled';
    o.uTime = Date.now();
  }

  #fill(o: OkxOrder, want: Dec, px: Dec, maker: boolean): void {
    const q = decMin(want, o.sz.minus(o.filled));
    if (q.lte(0)) return;
    const inst = this.#instruments.get(o.instId) as FakeOkxInstrument;
    const notional = q.times(px);
    const settled = (this.#accounts.get(o.key) as OkxAccount).balances.settleFill({
      side: o.side,
      base: inst.baseCcy,
      quote: inst.quoteCcy,
      qty: q,
      price: px,
      reserved: o.ordType === 'market' ? notional : q.times(o.px),
      orderLocked: o.locked,
      feeRate: FEE,
    });
    o.locked = o.locked.minus(settled.released);
    o.filled = o.filled.plus(q);
    o.notional = o.notional.plus(notional);
    o.state = o.filled.gte(o.sz) ? 'filled' : 'partially_filled';
    o.uTime = Date.now();
    if (o.state === 'filled') this.#end(o);
    this.#fills.push({
      tradeId: String(++this.#seq),
      ordId: o.ordId,
      clOrdId: o.clOrdId,
      key: o.key,
      instId: o.instId,
      side: o.side,
      px,
      sz: q,
      fee: settled.fee,
      feeCcy: settled.feeAsset,
      maker,
      ts: o.uTime,
    });
  }
}

function isOpen(s: State): boolean {
  return s === 'live' || s === 'partially_filled';
}

function orderJson(o: OkxOrder): unknown {
  const last = o.filled.gt(0) ? o.notional.div(o.filled) : null;
  return {
    instType: 'SPOT',
    instId: o.instId,
    tgtCcy: '',
    ccy: '',
    ordId: o.ordId,
    clOrdId: o.clOrdId,
    tag: '',
    px: o.ordType === 'market' ? '' : s8(o.px),
    sz: s8(o.sz),
    pnl: '0',
    ordType: o.ordType,
    side: o.side,
    posSide: 'net',
    tdMode: 'cash',
    accFillSz: s8(o.filled),
    fillPx: last ? s8(last) : '',
    tradeId: '',
    fillSz: '0',
    fillTime: '',
    avgPx: last ? s8(last) : '',
    state: o.state,
    lever: '',
    feeCcy: '',
    fee: '0',
    rebateCcy: '',
    rebate: '0',
    source: '',
    category: 'normal',
    reduceOnly: 'false',
    cancelSource: '',
    uTime: String(o.uTime),
    cTime: String(o.cTime),
  };
}

function fillJson(f: OkxFill): unknown {
  return {
    instType: 'SPOT',
    instId: f.instId,
    tradeId: f.tradeId,
    ordId: f.ordId,
    clOrdId: f.clOrdId,
    billId: f.tradeId,
    subType: f.side === 'buy' ? '1' : '2',
    tag: '',
    fillPx: s8(f.px),
    fillSz: s8(f.sz),
    side: f.side,
    posSide: 'net',
    execType: f.maker ? 'M' : 'T',
    feeCcy: f.feeCcy,
    fee: s8(f.fee.negated()),
    ts: String(f.ts),
    fillTime: String(f.ts),
  };
}

interface OkxAnswer {
  readonly code: string;
  readonly msg: string;
  readonly data: unknown[];
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function ok(data: unknown[]): OkxAnswer {
  return { code: '0', msg: '', data };
}

/** A per-order failure: the request is answered with HTTP 200, `code: "1"`, and the order's sCode. */
function fail(sCode: string, sMsg: string, clOrdId = ''): OkxAnswer {
  return { code: '1', msg: 'Operation failed.', data: [{ clOrdId, ordId: '', sCode, sMsg, tag: '' }] };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
