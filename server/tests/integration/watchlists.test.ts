import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherDeskAdmin } from './support/desk-people.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Watchlists are a person's own: another member of the same desk and another desk's admin
 * neither see nor change them (NOT_FOUND, nothing changed), RLS keeps desks apart underneath,
 * and every symbol is checked against the registry.
 */
let t: TestServer;
let owner: Client;
let colleague: Client;
let viewer: Client;
let otherDesk: Client;

beforeAll(async () => {
  t = await startTestServer();
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size) values
    ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.00000001'),
    ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.00000001'),
    ('SOL-USD', 'COINBASE', 'crypto', '0.01', '0.00000001')`;
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  owner = admin.client;
  for (const role of ['trader', 'viewer'] as const) {
    const u = await owner.users.create.mutate({ email: `${role}-wl@example.com`, displayName: role, role });
    const s = await signIn(t.url, `${role}-wl@example.com`, u.oneTimePassword!);
    if (role === 'trader') colleague = s.client;
    else viewer = s.client;
  }
  otherDesk = (await otherDeskAdmin(t.url, owner, t.admin.deskId, 'Watch desk B', 'b-wl@example.com')).session
    .client;
});
afterAll(async () => {
  await t?.close();
});

const rows = () =>
  t.owner`select id, tenant_id, user_id, name, symbols, updated_at from watchlists order by id`;

describe('watchlists', () => {
  let listId = '';

  it('create, list, rename and reorder; symbols deduplicated in their order', async () => {
    const created = await owner.watchlists.create.mutate({
      name: 'Majors',
      symbols: ['ETH-USD', 'BTC-USD', 'ETH-USD'],
    });
    listId = created.id;
    expect(created).toMatchObject({ name: 'Majors', symbols: ['ETH-USD', 'BTC-USD'] });
    const updated = await owner.watchlists.update.mutate({
      id: listId,
      name: 'Crypto',
      symbols: ['BTC-USD', 'SOL-USD', 'ETH-USD'],
    });
    expect(updated).toMatchObject({ name: 'Crypto', symbols: ['BTC-USD', 'SOL-USD', 'ETH-USD'] });
    expect((await owner.watchlists.list.query()).map((l) => [l.name, l.symbols])).toEqual([
      ['Crypto', ['BTC-USD', 'SOL-USD', 'ETH-USD']],
    ]);
  });

  it('names are unique per person; an empty list is fine', async () => {
    await owner.watchlists.create.mutate({ name: 'Empty' });
    const dup = await failure(owner.watchlists.create.mutate({ name: 'Crypto' }));
    expect(dup.data?.code).toBe('CONFLICT');
    expect(dup.data?.fields?.[0]?.path).toBe('name');
    const rename = await failure(owner.watchlists.update.mutate({ id: listId, name: 'Empty' }));
    expect(rename.data?.code).toBe('CONFLICT');
    // The same name for someone else on the desk is theirs.
    expect((await colleague.watchlists.create.mutate({ name: 'Crypto', symbols: ['SOL-USD'] })).name).toBe(
      'Crypto',
    );
  });

  it('unknown symbols are refused with suggestions, on create and update, and nothing is saved', async () => {
    const before = await rows();
    const e = await failure(
      owner.watchlists.create.mutate({ name: 'Typos', symbols: ['BTC-USD', 'SOL-USDD'] }),
    );
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/^symbols: unknown instrument SOL-USDD — did you mean SOL-USD/);
    const u = await failure(owner.watchlists.update.mutate({ id: listId, symbols: ['ETHUSD'] }));
    expect(u.message).toMatch(/unknown instrument ETHUSD — did you mean ETH-USD/);
    expect(await rows()).toEqual(before);
  });

  it('another member of the desk neither sees nor changes my lists', async () => {
    const before = await rows();
    expect((await colleague.watchlists.list.query()).map((l) => l.name)).toEqual(['Crypto']);
    expect(await viewer.watchlists.list.query()).toEqual([]);
    for (const c of [colleague, viewer]) {
      expect((await failure(c.watchlists.update.mutate({ id: listId, name: 'Mine now' }))).data?.code).toBe(
        'NOT_FOUND',
      );
      expect((await failure(c.watchlists.remove.mutate({ id: listId }))).data?.code).toBe('NOT_FOUND');
    }
    expect(await rows()).toEqual(before);
  });

  it('another desk neither sees nor changes them', async () => {
    const before = await rows();
    expect(await otherDesk.watchlists.list.query()).toEqual([]);
    expect((await failure(otherDesk.watchlists.update.mutate({ id: listId, symbols: [] }))).data?.code).toBe(
      'NOT_FOUND',
    );
    expect((await failure(otherDesk.watchlists.remove.mutate({ id: listId }))).data?.code).toBe('NOT_FOUND');
    expect(await rows()).toEqual(before);
  });

  it('a viewer keeps lists of their own; the owner removes theirs', async () => {
    expect(
      (await viewer.watchlists.create.mutate({ name: 'Watching', symbols: ['BTC-USD'] })).symbols,
    ).toEqual(['BTC-USD']);
    expect(await owner.watchlists.remove.mutate({ id: listId })).toEqual({ removed: true });
    expect((await owner.watchlists.list.query()).map((l) => l.name)).toEqual(['Empty']);
    expect((await failure(owner.watchlists.remove.mutate({ id: listId }))).data?.code).toBe('NOT_FOUND');
  });
});
