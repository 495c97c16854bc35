import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { createCallerFactory, createTRPCRouter } from '../trpc.ts';
import { agentRouter } from './agent.ts';
import { alertsRouter } from './alerts.ts';
import { approvalsRouter } from './approvals.ts';
import { auditRouter } from './audit.ts';
import { authRouter } from './auth.ts';
import { backtestsRouter } from './backtests.ts';
import { brokersRouter } from './brokers.ts';
import { desksRouter } from './desks.ts';
import { equityRouter } from './equity.ts';
import { greeksRouter } from './greeks.ts';
import { haltRouter } from './halt.ts';
import { hedgingRouter } from './hedging.ts';
import { instrumentsRouter } from './instruments.ts';
import { keysRouter } from './keys.ts';
import { lessonsRouter } from './lessons.ts';
import { marketDataRouter } from './market-data.ts';
import { modelsRouter } from './models.ts';
import { optionsRouter } from './options.ts';
import { orderflowRouter } from './orderflow.ts';
import { ordersRouter } from './orders.ts';
import { pnlRouter } from './pnl.ts';
import { positionsRouter } from './positions.ts';
import { proposalsRouter } from './proposals.ts';
import { reportsRouter } from './reports.ts';
import { riskRouter } from './risk.ts';
import { signalsRouter } from './signals.ts';
import { tradesRouter } from './trades.ts';
import { usersRouter } from './users.ts';
import { watchlistsRouter } from './watchlists.ts';

/**
 * The root router: one sub-router per domain. Web and scripts import only the TYPES below
 * (`import type { AppRouter } from '@aegis/server/router'`).
 */
export const appRouter = createTRPCRouter({
  auth: authRouter,
  users: usersRouter,
  desks: desksRouter,
  keys: keysRouter,
  brokers: brokersRouter,
  audit: auditRouter,
  orderflow: orderflowRouter,
  signals: signalsRouter,
  proposals: proposalsRouter,
  approvals: approvalsRouter,
  reports: reportsRouter,
  agent: agentRouter,
  trades: tradesRouter,
  lessons: lessonsRouter,
  orders: ordersRouter,
  positions: positionsRouter,
  pnl: pnlRouter,
  equity: equityRouter,
  risk: riskRouter,
  halt: haltRouter,
  backtests: backtestsRouter,
  models: modelsRouter,
  instruments: instrumentsRouter,
  watchlists: watchlistsRouter,
  marketData: marketDataRouter,
  options: optionsRouter,
  alerts: alertsRouter,
  greeks: greeksRouter,
  hedging: hedgingRouter,
});

export type AppRouter = typeof appRouter;

/** Inputs of every procedure, e.g. `RouterInputs['keys']['create']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Outputs of every procedure, e.g. `RouterOutputs['auth']['me']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** Server-side caller (tests, tools): `createCaller(createContextInner({...}))`. */
export const createCaller = createCallerFactory(appRouter);
