import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import type { ConnectionContext } from './connection.ts';
import { adapterKeyOf, buildAdapter, type ConnectionRow } from './factory.ts';
import { BrokerCallPolicy } from './resilience.ts';
import { type BrokerAdapter, BrokerError } from './types.ts';

const log = createLogger({ name: 'factory-test', level: 'silent' });
const row = (provider: string, apiProtocol: string | null = null): ConnectionRow => ({
  id: '00000000-0000-4000-8000-000000000001',
  tenantId: asTenantId('00000000-0000-4000-8000-000000000002'),
  provider,
  environment: 'paper',
  accountRef: 'ACC',
  status: 'active',
  apiProtocol,
});
const resolvers = {
  credentialsFor: () => ({
    accessToken: async () => 't',
    refreshAccessToken: async () => 't',
    apiKey: async () => ({ apiKey: 'k', apiSecret: 's' }),
  }),
  endpointsFor: () => ({ apiBaseUrl: 'http://127.0.0.1:1' }),
};

describe('adapter factory', () => {
  it('keys a connection by provider, ccxt venue, or an OAuth provider’s api protocol', () => {
    expect(adapterKeyOf(row('alpaca'))).toBe('alpaca');
    expect(adapterKeyOf(row('coinbase'))).toBe('coinbase');
    expect(adapterKeyOf(row('ibkr'))).toBe('ibkr');
    expect(adapterKeyOf(row('ccxt:binance'))).toBe('ccxt');
    expect(adapterKeyOf(row('oauth:acme', 'alpaca'))).toBe('alpaca');
    expect(() => adapterKeyOf(row('oauth:acme', null))).toThrow(BrokerError);
  });

  it('builds the adapter from a context with the connection, credentials, endpoints and policy', async () => {
    let seen: ConnectionContext | null = null;
    const adapter = { name: 'x' } as unknown as BrokerAdapter;
    const policy = new BrokerCallPolicy({ broker: 'ccxt:kraken' });
    const built = await buildAdapter({
      row: row('ccxt:kraken'),
      policy,
      log,
      resolvers,
      factories: {
        ccxt: (ctx) => {
          seen = ctx;
          return adapter;
        },
      },
    });
    expect(built).toBe(adapter);
    expect(seen).toMatchObject({
      connectionId: row('x').id,
      provider: 'ccxt:kraken',
      accountRef: 'ACC',
      environment: 'paper',
      endpoints: { apiBaseUrl: 'http://127.0.0.1:1' },
    });
    expect(seen!.policy).toBe(policy);
    expect(await seen!.credentials.accessToken()).toBe('t');
  });

  it('refuses a provider without an adapter, and connections without configured credentials', async () => {
    const policy = new BrokerCallPolicy({ broker: 'alpaca' });
    await expect(
      buildAdapter({ row: row('oauth:acme', 'nothing'), policy, log, resolvers }),
    ).rejects.toMatchObject({
      brokerCode: 'BROKER_INVALID_REQUEST',
      message: expect.stringContaining('no adapter'),
    });
    await expect(
      buildAdapter({ row: row('alpaca'), policy, log, factories: { alpaca: () => ({}) as BrokerAdapter } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('no credential source configured') });
  });
});
