import type { ChildProcess } from 'node:child_process';

/**
 * Reading a child process's JSON log in tests (the engine daemon's, for the engine's and the
 * chaos suite's harnesses): stdout split into lines, each JSON line parsed and kept in order.
 * Optionally the last raw lines of stdout and stderr (what a crash left behind) and a cap on the
 * parsed lines, so a long-running child cannot grow a test's memory without bound.
 */
export interface ChildLogOptions {
  /** Called with each parsed JSON line, kept or not (e.g. to read a port from a "listening" line). */
  onLog?: (line: Record<string, unknown>) => void;
  /** Keep at most this many parsed lines; later ones are still passed to `onLog`. */
  maxLines?: number;
  /** Keep the last this many raw lines of stdout and stderr (stderr lines prefixed "stderr: "). */
  tailLines?: number;
}

export interface ChildLog {
  /** Parsed JSON log lines, in order. */
  readonly lines: Record<string, unknown>[];
  /** The last raw lines of stdout and stderr; empty unless `tailLines` is set. */
  readonly tail: string[];
}

export function readChildLog(child: ChildProcess, options: ChildLogOptions = {}): ChildLog {
  const { onLog, maxLines = Number.POSITIVE_INFINITY, tailLines = 0 } = options;
  const lines: Record<string, unknown>[] = [];
  const tail: string[] = [];
  const keep = (line: string) => {
    if (tailLines <= 0) return;
    tail.push(line.slice(0, 2000));
    if (tail.length > tailLines) tail.shift();
  };
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      keep(line);
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not a log line
      }
      if (lines.length < maxLines) lines.push(j);
      onLog?.(j);
    }
  });
  if (tailLines > 0) {
    let errBuf = '';
    child.stderr?.on('data', (d: Buffer) => {
      errBuf += d.toString();
      for (let i = errBuf.indexOf('\n'); i !== -1; i = errBuf.indexOf('\n')) {
        keep(`stderr: ${errBuf.slice(0, i)}`);
        errBuf = errBuf.slice(i + 1);
      }
    });
  }
  return { lines, tail };
}
