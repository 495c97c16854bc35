/**
 * Orders in display order with each bracket's legs right under their entry (stop, then target).
 * A leg whose entry is not in the list (paged out) stays where it is. Newest-first order of the
 * entries and plain orders is kept.
 */
export interface BracketRowInput {
  readonly id: string;
  readonly parentOrderId: string | null;
  readonly bracketRole: 'stop' | 'target' | null;
}

export function groupBrackets<T extends BracketRowInput>(orders: readonly T[]): T[] {
  const present = new Set(orders.map((o) => o.id));
  const legsOf = new Map<string, T[]>();
  for (const o of orders) {
    if (!o.parentOrderId || !present.has(o.parentOrderId)) continue;
    legsOf.set(o.parentOrderId, [...(legsOf.get(o.parentOrderId) ?? []), o]);
  }
  const out: T[] = [];
  for (const o of orders) {
    if (o.parentOrderId && present.has(o.parentOrderId)) continue;
    out.push(o);
    const legs = legsOf.get(o.id) ?? [];
    out.push(...legs.sort((a, b) => (a.bracketRole === 'stop' ? -1 : b.bracketRole === 'stop' ? 1 : 0)));
  }
  return out;
}
