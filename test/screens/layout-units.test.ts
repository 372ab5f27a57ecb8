// The pure pieces of the layout that uses the terminal: wrapping a styled line at word boundaries,
// and the layout budget's lines for wrapping.
import { describe, expect, test } from 'vitest';
import { fillRows, lineWidth, wrapLine } from '../../screens/format';
import { planLayout } from '../../screens/layout';
import type { Line } from '../../screens/line';
import { PANEL_ORDER, type PanelId } from '../../screens/panels';

const text = (l: Line) => l.map((s) => s.text).join('');

describe('wrapLine', () => {
  test('wraps at word boundaries, indents the continuation, keeps each segment\'s style', () => {
    const line: Line = [{ text: '!! ', status: 'CRITICAL' }, { text: 'pid 6161 ' }, { text: 'running 7m00s', status: 'CRITICAL', bold: true }, { text: ' · SELECT a, b, c FROM t WHERE x = 1' }];
    const out = wrapLine(line, 24, 3);
    expect(out.map(text)).toEqual(['!! pid 6161 running', '   7m00s · SELECT a, b,', '   c FROM t WHERE x = 1']);
    for (const l of out) expect(lineWidth(l)).toBeLessThanOrEqual(24);
    // the words of a styled segment keep its style on either side of the break
    expect(out[0].find((s) => s.text.includes('running'))).toMatchObject({ status: 'CRITICAL', bold: true });
    expect(out[1].find((s) => s.text.includes('7m00s'))).toMatchObject({ status: 'CRITICAL', bold: true });
    expect(out[0][0]).toMatchObject({ status: 'CRITICAL' });
  });

  test('spaces inside a line stay (aligned columns); a word longer than a line is cut where the line ends', () => {
    expect(wrapLine([{ text: 'cpu  72%   load 1.00' }], 80).map(text)).toEqual(['cpu  72%   load 1.00']);
    const out = wrapLine([{ text: `x ${'y'.repeat(30)}` }], 12, 2);
    expect(out.map(text)).toEqual(['x yyyyyyyyyy', '  yyyyyyyyyy', '  yyyyyyyyyy']);
  });

  test('at most maxLines lines: the last holds what fits of the rest, ending in an ellipsis', () => {
    const out = wrapLine([{ text: 'one two three four five six seven' }], 10, 2, 2);
    expect(out.map(text)).toEqual(['one two', '  three f…']);
    expect(lineWidth(out[1])).toBe(10);
    expect(wrapLine([{ text: 'short' }], 10, 2, 1).map(text)).toEqual(['short']);
  });

  test('wide characters count twice', () => {
    const out = wrapLine([{ text: '日本語 日本語 日本語' }], 10, 0);
    expect(out.map(text)).toEqual(['日本語', '日本語', '日本語']);
    for (const l of out) expect(lineWidth(l)).toBeLessThanOrEqual(10);
  });
});

describe('the layout budget', () => {
  const counts: Record<PanelId, number> = { host: 3, disks: 3, postgres: 4, sessions: 3, tables: 2, endpoints: 2 };
  test('the rows left when every row is shown go to wrapping, the focused panel first; never past rows - 1', () => {
    const wraps = { postgres: 5, sessions: 12, tables: 1 };
    for (const rows of [10, 24, 30, 35, 50, 80]) {
      for (const columns of [80, 120, 200]) {
        for (const focus of PANEL_ORDER) {
          const l = planLayout({ columns, rows, counts, wraps, focus });
          for (const c of l.columns) {
            const used = c.panels.reduce((n, p) => n + (l.slots[p].shown ? 1 + l.slots[p].lines + l.slots[p].wrap : 0), 0);
            expect(used).toBeLessThanOrEqual(l.bodyHeight);
            for (const p of c.panels) {
              // lines to wrap only for a panel that shows all its rows, and no more than it wants
              if (l.slots[p].wrap > 0) expect(l.slots[p].lines).toBe(counts[p]);
              expect(l.slots[p].wrap).toBeLessThanOrEqual(wraps[p as keyof typeof wraps] ?? 0);
            }
          }
        }
      }
    }
    // 80x30: 29 lines, 1 header, 1 footer, 6 titles and 17 rows leave 4: all to the focused Sessions
    const l = planLayout({ columns: 80, rows: 30, counts, wraps, focus: 'sessions' });
    expect(l.slots.sessions.wrap).toBe(4);
    expect(l.slots.postgres.wrap).toBe(0);
    // without anything to wrap nothing changes
    expect(planLayout({ columns: 80, rows: 30, counts, focus: 'sessions' }).slots.sessions.wrap).toBe(0);
  });
});

describe('fillRows', () => {
  const l = (text: string): Line => [{ text }];
  test('wraps the lines between header and footer into the rows a screen leaves, top first', () => {
    const lines = [l('header'), l('one two three four'), l('five six seven eight'), l('footer')];
    expect(fillRows(lines, 10, 7).map(text)).toEqual(['header', 'one two', '  three', '  four', 'five six seven eight', 'footer']);
    // one row short of the second line's three: what fits, cut
    expect(fillRows(lines, 10, 8).map(text)).toEqual(['header', 'one two', '  three', '  four', 'five six', '  seven e…', 'footer']);
    expect(fillRows(lines, 10, 9).map(text)).toEqual(['header', 'one two', '  three', '  four', 'five six', '  seven', '  eight', 'footer']);
    // no row to spare: as it was
    expect(fillRows(lines, 10, 5)).toBe(lines);
  });
});
