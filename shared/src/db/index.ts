/** Drizzle table definitions and database access (server and engine only; web never imports this). */
export * as schema from './schema/index.ts';
export * from './schema/index.ts';
