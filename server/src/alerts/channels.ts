/** Bus channels of the alert router. */
import type { TenantId } from '@aegis/shared/ids';

/** A desk's new notification-centre events: `{ id }` (the subscription re-reads under RLS). */
export const alertFeedChannel = (tenantId: TenantId) => `aegis:alerts:${tenantId}`;
/** Deliveries were queued somewhere: every process's sender looks for due rows now. */
export const ALERT_DELIVERY_CHANNEL = 'aegis:alerts:deliveries';
