// scripts/ink-rows.mjs against ink's own Output.get() (the unpatched module from node_modules):
// the same writes give the same frame, styled text, wide characters, overlapping writes and
// multi-line writes included, on first sight and from the row cache. A frame with clipping is
// left to ink.
import { describe, expect, test } from 'vitest';
import Output from '../../node_modules/ink/build/output.js';
import { styledCharsToString } from '@alcalzone/ansi-tokenize';
// @ts-expect-error a plain .mjs build helper
import { fastRows } from '../../scripts/ink-rows.mjs';

type Write = { x: number; y: number; text: string; transformers?: ((s: string, i: number) => string)[] };

function both(width: number, height: number, writes: Write[], clip = false): { ink: string; fast: string | null } {
  const make = () => {
    const o = new Output({ width, height });
    if (clip) o.clip({ x1: 0, x2: width - 2, y1: 0, y2: height });
    for (const w of writes) o.write(w.x, w.y, w.text, { transformers: w.transformers ?? [] });
    if (clip) o.unclip();
    return o;
  };
  const fast = fastRows(make(), styledCharsToString);
  return { ink: make().get().output, fast: fast ? fast.output : null };
}

const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
const inverse = (s: string) => `\x1b[7m${s}\x1b[27m`;

describe('the row cache draws what ink draws', () => {
  const frame: Write[] = [
    { x: 0, y: 0, text: `${bold('ops vm')} · ${red('!! CRITICAL')} score 62% · 18:02:11` },
    { x: 0, y: 1, text: 'Host · cpu 3% ▁▂▃▅▇ · mem 41%\nsecond line of the same write' },
    { x: 41, y: 1, text: `${inverse('PostgreSQL')} · 日本語のテキスト · 🙂 ok` },
    { x: 0, y: 3, text: 'a row written twice, the second over the first' },
    { x: 8, y: 3, text: red('OVER') },
    { x: 70, y: 5, text: 'cut at the right edge of the frame: the rest is lost' },
    { x: 0, y: 7, text: 'beyond the height' },
    { x: 2, y: 4, text: 'transformed', transformers: [(s) => bold(s.toUpperCase())] },
  ];

  test('a frame of styled, wide, overlapping and multi-line writes', () => {
    const r = both(80, 7, frame);
    expect(r.fast).toBe(r.ink);
    expect(r.ink).toContain('日本語');
  });

  test('from the cache, and after one row changed', () => {
    expect(both(80, 7, frame).fast).toBe(both(80, 7, frame).ink);
    const changed = frame.map((w, i) => (i === 0 ? { ...w, text: w.text.replace('18:02:11', '18:02:13') } : w));
    const r = both(80, 7, changed);
    expect(r.fast).toBe(r.ink);
    expect(r.fast).toContain('18:02:13');
  });

  test('the same writes at another width are not taken from the cache', () => {
    for (const width of [40, 120]) {
      const r = both(width, 7, frame);
      expect(r.fast).toBe(r.ink);
    }
  });

  test('a frame with clipping is left to ink', () => {
    expect(both(80, 7, frame, true).fast).toBeNull();
  });
});
