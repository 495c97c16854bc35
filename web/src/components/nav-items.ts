import type { IconName } from './icons.tsx';

/** The console's sections, in nav order, with their `g <key>` keyboard shortcut. */
export interface NavItem {
  readonly href: string;
  readonly label: string;
  readonly icon: IconName;
  readonly key: string;
}

export const NAV_ITEMS: readonly NavItem[] = [
  { href: '/', label: 'Overview', icon: 'overview', key: 'o' },
  { href: '/instruments', label: 'Markets', icon: 'markets', key: 'm' },
  // Option chains, recommendations, verticals and the desk's Greeks; `c` for chain.
  { href: '/options', label: 'Options', icon: 'options', key: 'c' },
  { href: '/signals', label: 'Signals', icon: 'signals', key: 's' },
  { href: '/proposals', label: 'Proposals', icon: 'proposals', key: 'p' },
  { href: '/orders', label: 'Orders', icon: 'orders', key: 'r' },
  { href: '/positions', label: 'Positions', icon: 'positions', key: 'i' },
  // P&L by instrument and day, the blotter, CSV exports; `e` for exports.
  { href: '/reports', label: 'Reports', icon: 'reports', key: 'e' },
  { href: '/brokers', label: 'Brokers', icon: 'brokers', key: 'k' },
  { href: '/backtests', label: 'Backtests', icon: 'backtests', key: 'b' },
  { href: '/signal-quality', label: 'Signal quality', icon: 'quality', key: 'q' },
  { href: '/audit', label: 'Audit', icon: 'audit', key: 'a' },
  // Notifications, webhooks and their delivery log; `n` for notifications.
  { href: '/alerts', label: 'Alerts', icon: 'alerts', key: 'n' },
  { href: '/settings', label: 'Settings', icon: 'settings', key: ',' },
];
