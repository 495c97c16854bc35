export * from './hedging.ts';
export * from './identity.ts';
export * from './market.ts';
export * from './option-analytics.ts';
export * from './option-preferences.ts';
export * from './platform.ts';
export * from './trading.ts';
