export * from './identity.ts';
export * from './market.ts';
export * from './platform.ts';
export * from './trading.ts';
