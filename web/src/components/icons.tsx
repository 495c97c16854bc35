import type { JSX } from 'solid-js';

/** Inline stroke icons (16px grid), decorative: callers label the control, not the icon. */
const base = {
  viewBox: '0 0 16 16',
  fill: 'none',
  stroke: 'currentColor',
  'stroke-width': '1.4',
  'stroke-linecap': 'round',
  'stroke-linejoin': 'round',
} as const;

export type IconName =
  | 'overview'
  | 'signals'
  | 'proposals'
  | 'orders'
  | 'positions'
  | 'brokers'
  | 'backtests'
  | 'quality'
  | 'audit'
  | 'settings'
  | 'markets'
  | 'options'
  | 'alerts'
  | 'reports';

// Thunks, not elements: a Solid element is one DOM node, so a shared element would render in only
// the last place that used it (two nav items with the same icon left one of them blank).
const paths: Record<IconName, () => JSX.Element> = {
  alerts: () => (
    <>
      <path d="M4 11V7a4 4 0 0 1 8 0v4l1.2 1.5H2.8L4 11Z" />
      <path d="M6.5 14a1.6 1.6 0 0 0 3 0" />
    </>
  ),
  reports: () => (
    <>
      <path d="M4 1.5h5.5L12.5 4.5V14.5H4Z" />
      <path d="M6 8.5h4.5M6 11h4.5M6 6h2" />
    </>
  ),
  overview: () => (
    <>
      <rect x="2" y="2" width="5" height="5" rx="1" />
      <rect x="9" y="2" width="5" height="3" rx="1" />
      <rect x="9" y="7" width="5" height="7" rx="1" />
      <rect x="2" y="9" width="5" height="5" rx="1" />
    </>
  ),
  signals: () => <path d="M1.5 9h2.5l2-5 3 9 2-6 1.2 2h2.3" />,
  proposals: () => (
    <>
      <path d="M4 2h6l3 3v9H4z" />
      <path d="M10 2v3h3M6.5 9.5l1.5 1.5 3-3" />
    </>
  ),
  orders: () => (
    <>
      <path d="M3 4h10M3 8h10M3 12h6" />
      <path d="M12 11l1.5 1.5L12 14" />
    </>
  ),
  positions: () => (
    <>
      <path d="M2 14h12" />
      <rect x="3" y="8" width="2.4" height="4" />
      <rect x="6.8" y="4" width="2.4" height="8" />
      <rect x="10.6" y="6" width="2.4" height="6" />
    </>
  ),
  brokers: () => (
    <>
      <path d="M2 6.2L8 2.5l6 3.7z" />
      <path d="M3.5 7.5v5M6.5 7.5v5M9.5 7.5v5M12.5 7.5v5" />
      <path d="M2 14h12" />
    </>
  ),
  backtests: () => (
    <>
      <path d="M2 13.5h12" />
      <path d="M2.5 11l3-3.5 2.5 2 5-6" />
      <path d="M11 3.5h2v2" />
    </>
  ),
  quality: () => (
    <>
      <circle cx="8" cy="8" r="5.8" />
      <circle cx="8" cy="8" r="3" />
      <circle cx="8" cy="8" r="0.6" />
    </>
  ),
  audit: () => (
    <>
      <path d="M8 1.8l5 2v4c0 3-2.2 5.3-5 6.4-2.8-1.1-5-3.4-5-6.4v-4z" />
      <path d="M5.8 8l1.6 1.6 3-3" />
    </>
  ),
  settings: () => (
    <>
      <circle cx="8" cy="8" r="2.2" />
      <path d="M8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4" />
    </>
  ),
  markets: () => (
    <>
      <path d="M4 2.5v11M12 2.5v11" />
      <rect x="2.5" y="5" width="3" height="5" rx="0.5" />
      <rect x="10.5" y="4" width="3" height="6" rx="0.5" />
      <path d="M8 3.5v9" />
      <rect x="6.5" y="7" width="3" height="3.5" rx="0.5" />
    </>
  ),
  // A call's payoff: flat, then rising past the strike.
  options: () => <path d="M1.5 11.5h6l7-7M7.5 13.5v-4" />,
};

export function Icon(props: { name: IconName }) {
  return (
    <svg {...base} aria-hidden="true">
      {paths[props.name]()}
    </svg>
  );
}

export function BrandMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 20 20" aria-hidden="true">
      <path
        d="M10 1.5l7 2.8v5.2c0 4.3-3 7.6-7 9-4-1.4-7-4.7-7-9V4.3z"
        fill="#1b2c4a"
        stroke="#5b9cff"
        stroke-width="1.3"
      />
      <path
        d="M6 12.2l2.6-3.4 2 2 3.4-4.6"
        fill="none"
        stroke="#d5dbe5"
        stroke-width="1.5"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
