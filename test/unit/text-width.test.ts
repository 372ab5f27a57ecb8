// The screens' width fast path (screens/format.ts textWidth, issue 14) must agree with
// string-width, which ink lays out with: every UTF-16 unit it counts as one column is checked
// against the full measure, alone and inside a line, and what it does not know goes to the measure.
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { isNarrow, textWidth } from '../../screens/format';
import { narrowWidth } from '../../src/util/narrow';

describe('textWidth', () => {
  it('every unit the fast path counts as one column is one column to string-width', () => {
    const wrong: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (!isNarrow(c)) continue;
      const ch = String.fromCharCode(c);
      if (stringWidth(ch) !== 1) wrong.push(c.toString(16));
    }
    expect(wrong).toEqual([]);
  });

  it('lines of the screens measure as string-width measures them, wide and combining ones included', () => {
    const lines = [
      'cpu  1.9%             ▁▂▃▄▅▆▇█  load 0.46 0.70 0.56',
      'ops vm · !! CRITICAL score 96% · 07:35:50',
      '✓ 1. Pick the tables  0.0s  ok · ↶ undone ⊘ ✗ ⚠ …',
      'naïve café – “quoted” — ½',
      '漢字のテーブル',
      'e\u0301 combining',
      '✅ done 🚀',
      '⚠\ufe0f with a selector',
      '\u00ad soft hyphen',
      '',
    ];
    for (const l of lines) {
      expect(textWidth(l), l).toBe(stringWidth(l));
      // the patched widest-line's count (build.mjs): its length, or null for the full measure
      const n = narrowWidth(l);
      if (n !== null) expect(n, l).toBe(stringWidth(l));
    }
    expect(narrowWidth('漢字')).toBeNull();
    expect(narrowWidth('cpu ▁▂ · ok')).toBe(11);
  });
});
