import { solidStart } from '@solidjs/start/config';
import { nitro } from 'nitro/vite';
import { defineConfig } from 'vite';

// SolidStart 2 shape: framework options live here (no app.config.ts); nitro builds the
// deployable Node server into web/.output (run with `node web/.output/server/index.mjs`, which
// listens on PORT/HOST). Tests do not load this file: vitest has its own root config.
const devPort = Number(process.env.WEB_PORT ?? process.env.PORT ?? 3000);

export default defineConfig({
  plugins: [solidStart({ middleware: './src/middleware.ts' }), nitro({ preset: 'node-server' })],
  // `vite dev` (npm run dev): same port and host as the built server.
  server: { port: devPort, strictPort: true, host: process.env.WEB_HOST ?? '127.0.0.1' },
});
