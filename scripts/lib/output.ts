/**
 * Output for people and for programs. People get aligned tables; programs pass `--json` and get
 * one JSON document on stdout. Nothing else goes to stdout, so `--json` output can be piped.
 */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => unknown;
  /** Right-align (numbers, amounts). */
  readonly align?: 'left' | 'right';
  /** Truncate longer cells (with …). */
  readonly maxWidth?: number;
}

export interface Output {
  readonly json: boolean;
  /** A list: a table for people, a JSON array for programs. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[], jsonRows?: unknown): void;
  /** One record: `key  value` lines for people, a JSON object for programs. */
  record(fields: Readonly<Record<string, unknown>>, jsonValue?: unknown): void;
  /** A line for people only (suppressed with --json). */
  note(text: string): void;
  /** Raw JSON, whatever the mode (for commands whose only output is data). */
  data(value: unknown): void;
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  // Control characters from the server (a hostile display name) must not reach the terminal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, '�');
}

/** Display width: East Asian wide characters and emoji take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x300 && cp <= 0x36f) continue; // combining marks
    w +=
      cp >= 0x1100 &&
      /[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}\p{Extended_Pictographic}]/u.test(
        ch,
      )
        ? 2
        : 1;
  }
  return w;
}

function truncate(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

function pad(s: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const body = rows.map((r) => columns.map((c) => truncate(cell(c.value(r)), c.maxWidth ?? 60)));
  const widths = columns.map((c, i) =>
    Math.max(displayWidth(c.header), ...body.map((b) => displayWidth(b[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((v, i) => pad(v, widths[i] ?? 0, columns[i]?.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...body.map(line)].join('\n');
}

export function createOutput(
  json: boolean,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Output {
  return {
    json,
    table(rows, columns, jsonRows) {
      if (json) write(`${JSON.stringify(jsonRows ?? rows, null, 2)}\n`);
      else if (rows.length === 0) write('(none)\n');
      else write(`${renderTable(rows, columns)}\n`);
    },
    record(fields, jsonValue) {
      if (json) {
        write(`${JSON.stringify(jsonValue ?? fields, null, 2)}\n`);
        return;
      }
      const keys = Object.keys(fields);
      const width = Math.max(...keys.map((k) => k.length));
      write(`${keys.map((k) => `${k.padEnd(width)}  ${cell(fields[k])}`).join('\n')}\n`);
    },
    note(text) {
      if (!json) write(`${text}\n`);
    },
    data(value) {
      write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/**
 * An amount of money for people: rounded half-up to cents, thousands grouped, sign kept
 * (`1000054.86980861` → `1,000,054.87`). Exact decimal arithmetic on the string (never a float);
 * `--json` keeps the server's exact decimal. Anything that is not a decimal is shown as it is.
 */
export function money(value: string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return cell(value);
  const [, sign, int, frac = ''] = m;
  let cents = BigInt(`${int}${frac.padEnd(2, '0').slice(0, 2)}`);
  if ((frac[2] ?? '0') >= '5') cents += 1n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const rest = (cents % 100n).toString().padStart(2, '0');
  return `${cents === 0n ? '' : sign}${whole}.${rest}`;
}
