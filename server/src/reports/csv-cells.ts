/** One CSV cell as the exports build them. */
export type Cell = string | number | boolean | null | undefined;

const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * CSV injection: a text cell a spreadsheet would evaluate (starting with = + - @ tab or CR) gets a
 * leading apostrophe; numbers, including negative decimal strings, are left as they are.
 */
export function safeCell(v: Cell): Cell {
  if (typeof v !== 'string' || NUMBER.test(v)) return v;
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}
