/** Bus channels of the alert router. */

/** A desk's new notification-centre events: `{ id }` (the subscription re-reads under RLS). */
export const alertFeedChannel = (tenantId: string) => `aegis:alerts:${tenantId}`;
/** Deliveries were queued somewhere: every process's sender looks for due rows now. */
export const ALERT_DELIVERY_CHANNEL = 'aegis:alerts:deliveries';
