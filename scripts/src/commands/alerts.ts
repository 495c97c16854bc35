import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optBool, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type AlertEvent = Awaited<ReturnType<AegisClient['alerts']['list']['query']>>['events'][number];
type Endpoint = Awaited<ReturnType<AegisClient['alerts']['endpoints']['query']>>[number];
type Attempt = Awaited<ReturnType<AegisClient['alerts']['deliveries']['query']>>[number];

const eventColumns: Column<AlertEvent>[] = [
  { header: 'id', value: (e) => e.id, align: 'right' },
  { header: 'time (utc)', value: (e) => e.createdAt },
  { header: 'kind', value: (e) => e.kind },
  { header: 'severity', value: (e) => e.severity },
  { header: 'read', value: (e) => (e.read ? 'yes' : 'no') },
  { header: 'title', value: (e) => e.title, maxWidth: 40 },
  { header: 'body', value: (e) => e.body, maxWidth: 60 },
];

const endpointColumns: Column<Endpoint>[] = [
  { header: 'id', value: (e) => e.id },
  { header: 'name', value: (e) => e.name, maxWidth: 30 },
  { header: 'target', value: (e) => e.target },
  { header: 'format', value: (e) => e.format },
  { header: 'events', value: (e) => e.events.join(','), maxWidth: 60 },
  { header: 'enabled', value: (e) => (e.enabled ? 'yes' : 'no') },
  {
    header: 'last delivery',
    value: (e) =>
      e.lastDelivery
        ? `${e.lastDelivery.outcome} ${e.lastDelivery.statusCode ?? ''} ${e.lastDelivery.at}`
        : null,
  },
];

const attemptColumns: Column<Attempt>[] = [
  { header: 'time (utc)', value: (a) => a.createdAt },
  { header: 'event', value: (a) => a.kind },
  { header: 'attempt', value: (a) => a.attempt, align: 'right' },
  { header: 'outcome', value: (a) => a.outcome },
  { header: 'http', value: (a) => a.statusCode, align: 'right' },
  { header: 'ms', value: (a) => a.latencyMs, align: 'right' },
  { header: 'error', value: (a) => a.error, maxWidth: 50 },
];

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 200)
    throw new CliError('--limit must be an integer from 1 to 200');
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const alertCommands: CommandGroup = {
  name: 'alerts',
  summary: "the desk's notifications and webhook endpoints (endpoints: desk admins)",
  commands: {
    list: {
      summary: 'newest notifications of the desk (oldest first)',
      usage: '[--limit n] [--unread]',
      options: { limit: { type: 'string', short: 'n' }, unread: { type: 'boolean' } },
      async run(ctx, { values }) {
        const r = await ctx.client().alerts.list.query({
          limit: parseLimit(optString(values, 'limit')),
          unreadOnly: optBool(values, 'unread'),
        });
        ctx.out.table([...r.events].reverse(), eventColumns);
        ctx.out.note(`${r.unread} unread`);
        return ExitCode.OK;
      },
    },
    endpoints: {
      summary: "the desk's webhook endpoints; with an id, that endpoint's delivery log",
      usage: '[<endpoint-id>]',
      positionals: ['endpoint-id?'],
      async run(ctx, { positionals }) {
        const id = positionals[0];
        if (id === undefined) {
          ctx.out.table(await ctx.client().alerts.endpoints.query({}), endpointColumns);
          return ExitCode.OK;
        }
        if (!UUID.test(id)) throw new CliError('endpoint id must be a UUID (see `aegis alerts endpoints`)');
        ctx.out.table(await ctx.client().alerts.deliveries.query({ endpointId: id }), attemptColumns);
        return ExitCode.OK;
      },
    },
    test: {
      summary: 'send a test event to an endpoint (its attempts show in `alerts endpoints <id>`)',
      usage: '<endpoint-id>',
      positionals: ['endpoint-id'],
      async run(ctx, { positionals }) {
        const id = positionals[0]!;
        if (!UUID.test(id)) throw new CliError('endpoint id must be a UUID (see `aegis alerts endpoints`)');
        const r = await ctx.client().alerts.sendTest.mutate({ endpointId: id });
        ctx.out.record({ endpoint: id, delivery: `dlv_${r.deliveryId}` }, { endpointId: id, ...r });
        return ExitCode.OK;
      },
    },
  },
};
