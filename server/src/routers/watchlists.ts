import { createTRPCRouter } from '../trpc.ts';

/** Filled by the market-data work (issue 12). */
export const watchlistsRouter = createTRPCRouter({});
