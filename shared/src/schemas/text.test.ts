import { describe, expect, it } from 'vitest';
import { CONTROL_CHARACTERS_MESSAGE, safeText } from './text.ts';

describe('safeText', () => {
  const line = safeText(20);
  const note = safeText(50, { multiline: true });

  it('refuses NUL, escape, DEL, C1 controls and lone surrogates, naming the rule', () => {
    for (const bad of ['a\u0000b', 'a\u001b[2Jb', 'a\u007fb', 'a\u0085b', 'a\ud800b', 'a\nb', 'a\tb']) {
      const r = line.safeParse(bad);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe(CONTROL_CHARACTERS_MESSAGE);
    }
  });

  it('keeps text: unicode, emoji, format characters; trims; bounds length', () => {
    expect(line.parse('  Zoë 山田 👩‍💻 \u202e ')).toBe('Zoë 山田 👩‍💻 \u202e');
    expect(line.safeParse('   ').success).toBe(false);
    expect(line.safeParse('x'.repeat(21)).success).toBe(false);
    expect(safeText(5, { trim: false }).parse(' pw ')).toBe(' pw ');
  });

  it('multi-line text keeps tab and line feed and normalizes CR LF, still refusing NUL', () => {
    expect(note.parse('line one\r\n\tline two\rthree')).toBe('line one\n\tline two\nthree');
    expect(note.safeParse('a\nb\u0000').success).toBe(false);
  });
});
