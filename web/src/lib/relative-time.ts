/**
 * "3 min ago" for a past instant, for freshness columns (last sync, last seen). Coarse on
 * purpose: the exact UTC time goes in the cell's title.
 */
export function relativeTime(value: string | Date | null | undefined, now: number = Date.now()): string {
  if (!value) return 'never';
  const at = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(at)) return String(value);
  const seconds = Math.round((now - at) / 1000);
  // A clock a little ahead of ours is still "just now", not "in 2 s".
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}
