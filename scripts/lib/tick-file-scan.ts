import { createHash } from 'node:crypto';

/**
 * What `aegis backtest run` needs to know about a tick file before uploading it: its format, its
 * sha-256 (checked by the server when the upload finishes) and the symbols it holds (the default
 * instruments). Formats as the engine's replay reads them (engine/src/feeds/tick-file.ts and
 * tick-csv.ts): the binary `.ticks` file starts with the magic "AGTK" and a symbol dictionary at
 * byte 32 (u32 count at byte 12, then u8 length + ASCII name each); CSV has the header
 * `ts,symbol,…` with the symbol in the second column.
 */
export const TICK_FILE_MAGIC = 0x4b544741;
const MAX_SYMBOLS = 1000;

export interface TickFileScan {
  readonly format: 'csv' | 'ticks';
  readonly sha256: string;
  readonly symbols: readonly string[];
}

export function scanTickFile(bytes: Buffer): TickFileScan {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length >= 32 && bytes.readUInt32LE(0) === TICK_FILE_MAGIC) {
    const count = bytes.readUInt32LE(12);
    const symbols: string[] = [];
    let o = 32;
    for (let i = 0; i < count && o < bytes.length; i++) {
      const len = bytes[o]!;
      symbols.push(bytes.toString('latin1', o + 1, o + 1 + len));
      o += 1 + len;
    }
    return { format: 'ticks', sha256, symbols };
  }
  const symbols = new Set<string>();
  let start = 0;
  let header = true;
  while (start < bytes.length && symbols.size <= MAX_SYMBOLS) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    const comma = bytes.indexOf(44, start);
    if (!header && comma >= 0 && comma < end) {
      const next = bytes.indexOf(44, comma + 1);
      const symbol = bytes.toString('utf8', comma + 1, next >= 0 && next < end ? next : end).trim();
      if (symbol) symbols.add(symbol);
    }
    header = false;
    start = end + 1;
  }
  return { format: 'csv', sha256, symbols: [...symbols] };
}
