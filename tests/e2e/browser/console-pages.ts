/** Every page of the console: its path, a short name for files, and its level-1 heading. */
export const CONSOLE_PAGES = [
  { path: '/', name: 'overview', heading: 'Overview' },
  { path: '/instruments', name: 'markets', heading: 'Markets' },
  { path: '/instruments/BTC-USD', name: 'instrument', heading: 'BTC-USD' },
  { path: '/options', name: 'options', heading: 'Options' },
  { path: '/signals', name: 'signals', heading: 'Signals' },
  { path: '/proposals', name: 'proposals', heading: 'Proposals' },
  { path: '/orders', name: 'orders', heading: 'Orders' },
  { path: '/positions', name: 'positions', heading: 'Positions' },
  { path: '/reports', name: 'reports', heading: 'Reports' },
  { path: '/brokers', name: 'brokers', heading: 'Brokers' },
  { path: '/backtests', name: 'backtests', heading: 'Backtests' },
  { path: '/signal-quality', name: 'signal-quality', heading: 'Signal quality' },
  { path: '/audit', name: 'audit', heading: 'Audit' },
  { path: '/alerts', name: 'alerts', heading: 'Alerts' },
  { path: '/settings', name: 'settings', heading: 'Settings' },
] as const;
