export * from './identity.ts';
export * from './market.ts';
export * from './trading.ts';
export * from './platform.ts';
