import { solidStart } from '@solidjs/start/config';
import { nitro } from 'nitro/vite';
import { defineConfig } from 'vite';

// SolidStart 2 shape: framework options live here (no app.config.ts); nitro builds the
// deployable Node server into web/.output (run with `node web/.output/server/index.mjs`, which
// listens on PORT/HOST). Tests do not load this file: vitest has its own root config.
export default defineConfig({
  plugins: [solidStart({ middleware: './src/middleware.ts' }), nitro({ preset: 'node-server' })],
});
