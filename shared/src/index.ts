export * from './errors.ts';
export type * from './ids.ts';
