import { randomUUID } from 'node:crypto';
import { idempotencyKey as idempotencyKeySchema } from '@aegis/shared/schemas/order';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type Order = Awaited<ReturnType<AegisClient['orders']['list']['query']>>[number];

const columns: Column<Order>[] = [
  { header: 'id', value: (o) => o.id },
  { header: 'created (utc)', value: (o) => o.createdAt },
  { header: 'symbol', value: (o) => o.symbol },
  { header: 'side', value: (o) => o.side },
  { header: 'type', value: (o) => o.orderType },
  { header: 'tif', value: (o) => o.timeInForce },
  { header: 'qty', value: (o) => o.quantity, align: 'right' },
  { header: 'price', value: (o) => o.limitPrice ?? o.stopPrice, align: 'right' },
  { header: 'status', value: (o) => o.status },
  { header: 'filled', value: (o) => o.filledQuantity, align: 'right' },
  { header: 'avg', value: (o) => o.avgFillPrice, align: 'right' },
  { header: 'reason', value: (o) => o.rejectReason, maxWidth: 40 },
];

const SIDES = ['buy', 'sell'] as const;
const TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
const TIFS = ['day', 'gtc', 'ioc', 'fok'] as const;
const STATUS = ['working', 'terminal', 'all'] as const;

function oneOf<T extends string>(
  raw: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) throw new CliError(`--${name} must be one of ${allowed.join(', ')}`);
  return raw as T;
}

export const orderCommands: CommandGroup = {
  name: 'orders',
  summary: "list, place and cancel the desk's orders",
  commands: {
    list: {
      summary: 'newest orders first',
      usage: '[--status working|terminal|all] [--symbol s] [--limit n]',
      options: {
        status: { type: 'string' },
        symbol: { type: 'string' },
        limit: { type: 'string', short: 'n' },
      },
      async run(ctx, { values }) {
        const limit = Number(optString(values, 'limit') ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new CliError('--limit must be 1 to 500');
        const rows = await ctx.client().orders.list.query({
          status: oneOf(optString(values, 'status'), STATUS, 'status') ?? 'all',
          limit,
          ...(optString(values, 'symbol') ? { symbol: optString(values, 'symbol') } : {}),
        });
        ctx.out.table(rows, columns);
        return ExitCode.OK;
      },
    },
    get: {
      summary: 'one order with its fills',
      usage: '<order-id>',
      positionals: ['order-id'],
      async run(ctx, { positionals }) {
        const { order, fills } = await ctx.client().orders.get.query({ id: positionals[0]! });
        ctx.out.record({ ...order, fills: fills.length }, { order, fills });
        if (!ctx.out.json && fills.length > 0) {
          ctx.out.table(fills, [
            { header: 'time (utc)', value: (f) => f.tsMicros },
            { header: 'qty', value: (f) => f.quantity, align: 'right' },
            { header: 'price', value: (f) => f.price, align: 'right' },
            { header: 'fee', value: (f) => f.fee, align: 'right' },
            { header: 'liquidity', value: (f) => f.liquidity },
            { header: 'execution', value: (f) => f.executionId },
          ]);
        }
        return ExitCode.OK;
      },
    },
    show: {
      summary: 'one order in full: origin, timeline, fills, the governor verdict, proposal and audit rows',
      usage: '<order-id>',
      positionals: ['order-id'],
      async run(ctx, { positionals }) {
        const d = await ctx.client().orders.detail.query({ id: positionals[0]! });
        if (ctx.out.json) {
          ctx.out.data(d);
          return ExitCode.OK;
        }
        const o = d.order;
        ctx.out.record({
          order: `${o.side} ${o.quantity} ${o.symbol} ${o.orderType}${o.limitPrice ? ` @ ${o.limitPrice}` : ''} ${o.timeInForce}`,
          status: o.status,
          filled: `${o.filledQuantity}${o.avgFillPrice ? ` @ ${o.avgFillPrice}` : ''}`,
          origin: d.originText,
          'client order id': o.clientOrderId,
          ...(d.signal
            ? {
                signal: `${d.signal.direction} ${d.signal.pattern} score ${d.signal.score.toFixed(2)} at ${d.signal.ts}`,
              }
            : {}),
        });
        ctx.out.table(d.events, [
          { header: 'time (utc)', value: (e) => e.ts },
          { header: 'from', value: (e) => e.fromStatus ?? '(placed)' },
          { header: 'to', value: (e) => e.toStatus },
          { header: 'filled', value: (e) => e.filledQuantity, align: 'right' },
          { header: 'reason', value: (e) => e.rejectReason, maxWidth: 40 },
        ]);
        if (d.fills.length > 0)
          ctx.out.table(d.fills, [
            { header: 'fill time (utc)', value: (f) => f.tsMicros },
            { header: 'qty', value: (f) => f.quantity, align: 'right' },
            { header: 'price', value: (f) => f.price, align: 'right' },
            { header: 'fee', value: (f) => f.fee, align: 'right' },
          ]);
        if (d.verdicts)
          ctx.out.table(d.verdicts, [
            { header: 'rule', value: (v) => v.rule },
            { header: 'status', value: (v) => v.status },
            { header: 'why', value: (v) => v.message, maxWidth: 60 },
          ]);
        if (d.audit.length > 0)
          ctx.out.table(d.audit, [
            { header: 'seq', value: (a) => String(a.seq), align: 'right' },
            { header: 'time (utc)', value: (a) => a.ts },
            { header: 'action', value: (a) => a.action },
            { header: 'outcome', value: (a) => a.outcome },
            { header: 'by', value: (a) => a.actor.name },
          ]);
        return ExitCode.OK;
      },
    },
    place: {
      summary:
        'place an order (risk-checked; a denial prints every failed rule). --key makes a retry safe: the same key returns the same order',
      usage:
        '<buy|sell> <qty> <symbol> [--type market|limit|stop|stop_limit] [--limit p] [--stop p] [--tif day|gtc|ioc|fok] [--key k]',
      positionals: ['side', 'quantity', 'symbol'],
      options: {
        type: { type: 'string' },
        limit: { type: 'string' },
        stop: { type: 'string' },
        tif: { type: 'string' },
        key: { type: 'string' },
      },
      async run(ctx, { values, positionals }) {
        const side = oneOf(positionals[0], SIDES, 'side');
        const limitPrice = optString(values, 'limit');
        const stopPrice = optString(values, 'stop');
        const orderType =
          oneOf(optString(values, 'type'), TYPES, 'type') ??
          (limitPrice && stopPrice ? 'stop_limit' : limitPrice ? 'limit' : stopPrice ? 'stop' : 'market');
        const idempotencyKey = optString(values, 'key') ?? randomUUID();
        // Checked here with the server's own schema, so the message names the flag, not the field.
        const keyCheck = idempotencyKeySchema.safeParse(idempotencyKey);
        if (!keyCheck.success) {
          throw new CliError(
            `orders place: --key must be 8–128 printable characters without spaces (got ${idempotencyKey.length}); a UUID is ideal`,
            ExitCode.USAGE,
          );
        }
        const order = await ctx.client().orders.place.mutate({
          idempotencyKey,
          order: {
            symbol: positionals[2]!,
            side: side!,
            orderType,
            timeInForce: oneOf(optString(values, 'tif'), TIFS, 'tif') ?? 'day',
            quantity: positionals[1]!,
            ...(limitPrice ? { limitPrice } : {}),
            ...(stopPrice ? { stopPrice } : {}),
          },
        });
        ctx.out.record(
          {
            id: order.id,
            status: order.status,
            clientOrderId: order.clientOrderId,
            idempotencyKey,
            ...(order.status === 'denied' ? { reason: order.rejectReason } : {}),
          },
          order,
        );
        if (order.status === 'denied') {
          if (!ctx.out.json) {
            ctx.out.table(
              (order.denial ?? []).filter((v) => !v.passed),
              [
                { header: 'rule', value: (v) => v.rule },
                { header: 'code', value: (v) => v.code },
                { header: 'limit', value: (v) => v.limit, align: 'right' },
                { header: 'requested', value: (v) => v.requested, align: 'right' },
                { header: 'current', value: (v) => v.current, align: 'right' },
                { header: 'why', value: (v) => v.message, maxWidth: 60 },
              ],
            );
          }
          return ExitCode.REJECTED;
        }
        return ExitCode.OK;
      },
    },
    cancel: {
      summary: 'request a cancel (always allowed, also during a halt)',
      usage: '<order-id>',
      positionals: ['order-id'],
      async run(ctx, { positionals }) {
        const order = await ctx.client().orders.cancel.mutate({ orderId: positionals[0]! });
        ctx.out.record({ id: order.id, status: order.status }, order);
        return ExitCode.OK;
      },
    },
  },
};
