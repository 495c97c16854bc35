import { z } from 'zod';

/**
 * The one string schema for text a person or a script sends. PostgreSQL refuses NUL in text (the
 * request used to fail inside the driver with a 500, logging its bind values), and control
 * characters corrupt logs and terminals; a lone UTF-16 surrogate cannot be stored as UTF-8 and
 * would come back changed. So every string input refuses them at the edge, naming the field.
 *
 * Control characters are Unicode category Cc (C0 controls, DEL, C1 controls). Format characters
 * (Cf: zero-width joiners in emoji, right-to-left marks) are text and pass. Multi-line text
 * (notes, rationales) also allows tab and line feed; CR LF and lone CR are normalized to LF, so a
 * note pasted from a Windows file is kept rather than refused.
 *
 * The checks are regexes on a `ZodString` (not refinements), so the schema stays a plain string
 * schema: chainable (`.regex`, `.email`), and visible to JSON Schema and schema-driven fuzzers.
 */
export const CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters (such as NUL)';

const SINGLE_LINE = /^[^\p{Cc}\p{Cs}]*$/u;
const MULTI_LINE = /^(?:[^\p{Cc}\p{Cs}]|[\t\n])*$/u;

export interface SafeTextOptions {
  /** Minimum length after trimming (default 1: an input field is never blank). */
  readonly min?: number;
  /** Keep tab and line feed (notes, reasons); CR LF becomes LF. Default false. */
  readonly multiline?: boolean;
  /** Trim surrounding whitespace (default true; secrets such as passwords pass false). */
  readonly trim?: boolean;
}

/** A bounded string without control characters; `max` is required because every input is bounded. */
export function safeText(max: number, options: SafeTextOptions = {}) {
  const { min = 1, multiline = false, trim = true } = options;
  let s = z.string();
  if (multiline) s = s.overwrite((v) => v.replace(/\r\n?/g, '\n'));
  if (trim) s = s.trim();
  return s
    .min(min)
    .max(max)
    .regex(multiline ? MULTI_LINE : SINGLE_LINE, CONTROL_CHARACTERS_MESSAGE);
}

/** True when `s` would pass `safeText` (single line): no control characters, well-formed Unicode. */
export const isSafeSingleLine = (s: string): boolean => SINGLE_LINE.test(s);
