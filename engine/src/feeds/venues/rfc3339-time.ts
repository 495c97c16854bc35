// Venue times as RFC 3339 text (Coinbase, Alpaca): parsed by character code on the hot path.

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → µs since the epoch, NaN when it is not one.
 * By character codes, without a regex or substrings: a busy book has many times per message.
 * Digits past the microsecond are dropped (the tick is µs).
 */
export function parseRfc3339Us(s: string): number {
  const n = s.length;
  if (n < 20) return Number.NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  const sep = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 ||
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > 31 ||
    h > 23 ||
    mi > 59 ||
    sec > 60
  ) {
    return Number.NaN;
  }
  let i = 19;
  let micros = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let scale = 100_000;
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (scale >= 1) micros += c * scale;
      scale /= 10;
      i++;
    }
    if (i === start) return Number.NaN;
    micros = Math.floor(micros);
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || om < 0 || s.charCodeAt(i + 3) !== 58) return Number.NaN;
    offsetMin = (z === 43 ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else return Number.NaN;
  if (i !== n) return Number.NaN;
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec) - offsetMin * 60_000;
  return ms * 1000 + micros;
}

function digits(s: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}
