import { describe, expect, it } from 'vitest';
import { cell, createOutput, displayWidth, renderTable } from '../../lib/output.ts';

describe('renderTable', () => {
  it('aligns columns by display width, right-aligns numbers, truncates long cells', () => {
    const rows = [
      { name: 'alpha', qty: 1, note: 'x'.repeat(20) },
      { name: '東京', qty: 1234, note: null },
    ];
    const text = renderTable(rows, [
      { header: 'name', value: (r) => r.name },
      { header: 'qty', value: (r) => r.qty, align: 'right' },
      { header: 'note', value: (r) => r.note, maxWidth: 8 },
    ]);
    expect(text.split('\n')).toEqual(['NAME    QTY  NOTE', 'alpha     1  xxxxxxx…', '東京   1234  -']);
    expect(displayWidth('東京')).toBe(4);
  });

  it('neutralizes terminal control characters from the server', () => {
    expect(cell('evil\u001b[2Jname\n')).toBe('evil�[2Jname�');
  });
});

describe('createOutput', () => {
  it('writes JSON in --json mode and suppresses notes', () => {
    let written = '';
    const out = createOutput(true, (s) => {
      written += s;
    });
    out.note('for people');
    out.table([{ a: 1 }], [{ header: 'a', value: (r) => r.a }]);
    expect(JSON.parse(written)).toEqual([{ a: 1 }]);
  });
});
