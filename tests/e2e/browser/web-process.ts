import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { builtServerEntry } from '../../../web/build.ts';

export interface RunningWeb {
  readonly url: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs the BUILT console (`web/.output/server/index.mjs`), exactly as production does, with
 * nitro's PORT/HOST and the web config's SERVER_URL.
 */
export async function startBuiltWeb(options: { port: number; serverUrl: string }): Promise<RunningWeb> {
  const child: ChildProcess = spawn(process.execPath, [builtServerEntry], {
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      SERVER_URL: options.serverUrl,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = `http://127.0.0.1:${options.port}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`web server exited ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/login`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`web server did not answer within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      // nitro drains gracefully for up to a few seconds; do not wait longer than that.
      const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
