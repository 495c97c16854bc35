import { forwardToServer } from '../../server/trpc-proxy.ts';

/**
 * `/trpc/**` on the console's origin → the Aegis server (see server/trpc-proxy.ts for why).
 * tRPC uses GET for queries and subscriptions (SSE) and POST for mutations and batches.
 */
export const GET = forwardToServer;
export const POST = forwardToServer;
export const HEAD = forwardToServer;
