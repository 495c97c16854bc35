import { readFileSync } from 'node:fs';

/**
 * Known-common passwords (common-passwords.txt, one per line, lower-case). Only entries of at
 * least the minimum length matter — shorter ones fail the length rule first — so the list is
 * weighted to long ones: the well-known leaked-list favourites plus the long variants people
 * build from them (word + digits, keyboard walks, repeated words). Compared case-insensitively
 * and ignoring whitespace, so "Password 1234" is as common as "password1234".
 */
const LIST = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter((l) => l.length > 0 && !l.startsWith('#')),
);

export const commonPasswordCount = (): number => LIST.size;

export function isCommonPassword(password: string): boolean {
  const p = password.toLowerCase().replace(/\s+/g, '');
  if (LIST.has(p)) return true;
  // One character repeated, or one short unit repeated ("abcabcabcabc", "121212121212").
  if (/^(.{1,4})\1+$/.test(p)) return true;
  // A run of the digit or alphabet sequence ("123456789012", "abcdefghijkl").
  if (isSequence(p)) return true;
  return false;
}

function isSequence(p: string): boolean {
  if (p.length < 8) return false;
  let up = true;
  let down = true;
  for (let i = 1; i < p.length; i++) {
    const d = p.charCodeAt(i) - p.charCodeAt(i - 1);
    // 0 → 9 → 0 wraps in digit runs such as 1234567890.
    const wrapUp = p[i - 1] === '9' && p[i] === '0';
    const wrapDown = p[i - 1] === '0' && p[i] === '9';
    if (d !== 1 && !wrapUp) up = false;
    if (d !== -1 && !wrapDown) down = false;
  }
  return up || down;
}
