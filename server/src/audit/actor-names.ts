import { apiKeys, users } from '@aegis/shared/db';
import type { ActorView } from '@aegis/shared/schemas/order-detail';
import { inArray } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

export type ActorType = ActorView['type'];

/** `user:<id>` → the key a name is looked up under. */
export const actorKey = (type: ActorType, id: string | null): string => `${type}:${id ?? ''}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Actors in words, for people reading a trail: a person by display name (email when none), an
 * API key as `key <name> (<owner>)`, the agent and the system as such. One query per kind for a
 * whole page of rows. Run in the desk's transaction: RLS shows only the desk's keys, so another
 * desk's key (never in this desk's trail anyway) would read as unknown, not leak its name.
 */
export async function actorNames(
  tx: Tx,
  actors: readonly { type: ActorType; id: string | null }[],
): Promise<Map<string, ActorView>> {
  const out = new Map<string, ActorView>();
  const ids = (t: ActorType) => [
    ...new Set(actors.filter((a) => a.type === t && a.id && UUID.test(a.id)).map((a) => a.id as string)),
  ];
  const keyIds = ids('api_key');
  const keys = keyIds.length
    ? await tx
        .select({ id: apiKeys.id, name: apiKeys.name, userId: apiKeys.userId })
        .from(apiKeys)
        .where(inArray(apiKeys.id, keyIds))
    : [];
  const userIds = [...new Set([...ids('user'), ...keys.map((k) => k.userId)])];
  const people = userIds.length
    ? await tx
        .select({ id: users.id, displayName: users.displayName, email: users.email })
        .from(users)
        .where(inArray(users.id, userIds))
    : [];
  const person = new Map(people.map((u) => [u.id, u.displayName.trim() || u.email]));
  const key = new Map(keys.map((k) => [k.id, k]));
  for (const a of actors) {
    const id = a.id ?? null;
    let name: string;
    if (a.type === 'user') name = (id && person.get(id)) ?? `unknown user ${id?.slice(0, 8) ?? ''}`.trim();
    else if (a.type === 'api_key') {
      const k = id ? key.get(id) : undefined;
      name = k ? `key ${k.name} (${person.get(k.userId) ?? 'unknown owner'})` : 'a revoked or unknown key';
    } else if (a.type === 'agent') name = 'decision agent';
    else name = id ? `system (${id})` : 'system';
    out.set(actorKey(a.type, id), { type: a.type, id, name });
  }
  return out;
}
