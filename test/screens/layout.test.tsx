// A layout that uses the terminal: a wider terminal shows more of each line, a taller one more
// rows; the focused panel grows into the free rows, and text wraps at word boundaries where there
// is room and is cut only where there is none. Fixed data, every render and key press inside act().
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { MonitorState } from '../../src/types';
import { fakeService } from '../support/fake-tasks';
import { unhealthyState } from '../support/fixtures';
import { KEY, renderApp, renderDashboard, widthOf, type Rendered } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** A query of numbered words, so what is shown of it can be counted word by word. */
const WORDS = Array.from({ length: 40 }, (_, i) => `col${String(i + 1).padStart(2, '0')}`);
const LONG_QUERY = `SELECT ${WORDS.join(', ')} FROM reporting.monthly_revenue_by_region_and_segment WHERE finished`;

/** The unhealthy fixture with the long query (pid 6161) running that long query. */
function withLongQuery(): MonitorState {
  const state = unhealthyState();
  const pg = state.snapshot!.postgres!;
  if (!pg.ok) throw new Error('fixture');
  pg.data.longQueries[0].query = LONG_QUERY;
  return state;
}

/** The lines of the focused panel: from its title to the next title (or the footer). */
function focusedPanel(lines: string[]): string[] {
  const start = lines.findIndex((l) => l.startsWith('▶ '));
  const end = lines.findIndex((l, i) => i > start && (/^ {2}[A-Z]/.test(l) || /q quit/.test(l)));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** The words of the long query that the frame shows whole. */
function wordsShown(frame: string): number {
  const seen = new Set(frame.split(/[\s,]+/));
  return WORDS.filter((w) => seen.has(w)).length;
}

/** Tab until this panel has the focus (its title may be in the right-hand column). */
async function focus(d: Rendered, title: string): Promise<void> {
  const has = () => d.lines().some((l) => l.includes(`▶ ${title} `));
  for (let i = 0; i < 6 && !has(); i++) await d.press(KEY.tab);
  expect(has()).toBe(true);
}

function fits(d: Rendered, columns: number, rows: number): void {
  const lines = d.raw().split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
}

describe('a taller terminal', () => {
  test('the focused panel gets more rows and its long query wraps instead of being cut', async () => {
    const small = await renderDashboard(withLongQuery(), { columns: 80, rows: 24 });
    await focus(small, 'Sessions');
    const tall = await renderDashboard(withLongQuery(), { columns: 80, rows: 45 });
    await focus(tall, 'Sessions');
    fits(small, 80, 24);
    fits(tall, 80, 45);

    const smallPanel = focusedPanel(small.lines());
    const tallPanel = focusedPanel(tall.lines());
    expect(tallPanel.length).toBeGreaterThan(smallPanel.length);
    // 80x24: the query is cut at the end of its one line
    const cut = smallPanel.find((l) => l.includes('pid 6161'))!;
    expect(cut).toMatch(/…$/);
    expect(wordsShown(smallPanel.join('\n'))).toBeLessThan(WORDS.length);
    // 80x45: wrapped at word boundaries, every word of it there, the continuation indented
    const at = tallPanel.findIndex((l) => l.includes('pid 6161'));
    expect(tallPanel[at + 1]).toMatch(/^ {3}\S/);
    expect(wordsShown(tallPanel.join('\n'))).toBe(WORDS.length);
    expect(tallPanel.join(' ')).toContain('WHERE finished');
    // no word is split over two lines
    for (const l of tallPanel) expect(l).not.toMatch(/col\d$/);
  });

  test('a wider terminal shows more of each line', async () => {
    const narrow = await renderDashboard(withLongQuery(), { columns: 120, rows: 24 });
    const wide = await renderDashboard(withLongQuery(), { columns: 200, rows: 24 });
    expect(wordsShown(wide.frame())).toBeGreaterThan(wordsShown(narrow.frame()));
    fits(wide, 200, 24);
  });

  test('no frame leaves more than a few rows empty while it cuts text', async () => {
    for (const [columns, rows] of [
      [80, 24],
      [80, 40],
      [100, 50],
      [120, 35],
      [160, 45],
    ] as const) {
      for (const title of ['Host', 'Sessions', 'Tables']) {
        const d = await renderDashboard(withLongQuery(), { columns, rows });
        await focus(d, title);
        fits(d, columns, rows);
        const lines = d.lines();
        // a line cut by the layout ends in an ellipsis (the header may be cut: it is one line)
        const cut = lines.slice(1).some((l) => /…/.test(l));
        if (cut) expect(rows - 1 - lines.length, `${columns}x${rows}, ${title} focused:\n${d.frame()}`).toBeLessThanOrEqual(3);
        await act(async () => {
          d.unmount();
        });
      }
    }
  });

  test('80x24 stays usable: every panel\'s title and summary, the verdict and the keys', async () => {
    const d = await renderDashboard(withLongQuery(), { columns: 80, rows: 24 });
    const lines = d.lines();
    for (const t of ['Host', 'Disks', 'PostgreSQL', 'Sessions', 'Tables', 'Endpoints']) expect(lines.some((l) => l.startsWith(`  ${t} `) || l.startsWith(`▶ ${t} `))).toBe(true);
    expect(lines[0]).toContain('CRITICAL');
    expect(lines[lines.length - 1]).toMatch(/q quit/);
  });

  test('the help overlay wraps its lines where there is room', async () => {
    const d = await renderDashboard(withLongQuery(), { columns: 60, rows: 40 });
    await d.press('?');
    // the header is one line, cut at the width; the help lines are wrapped whole
    const frame = d.lines().slice(1).join('\n');
    expect(frame).not.toMatch(/…/);
    expect(frame).toContain('Tab to one to enlarge it.');
    fits(d, 60, 40);
  });
});

describe('the other screens use the rows they leave', () => {
  test('history: the chosen run\'s details wrap instead of being cut at 80x24', async () => {
    const d = await renderApp(unhealthyState(), { service: fakeService(), columns: 80, rows: 24 });
    await d.press('h');
    expect(d.lines()[0]).toMatch(/^History/);
    fits(d, 80, 24);
    const details = d.lines().slice(d.lines().findIndex((l) => /^20250115-101500-backup-ab12 · /.test(l)));
    const joined = details.join(' ').replace(/ +/g, ' ');
    expect(joined).toContain('on postgres://app:***@127.0.0.1:5432/appdb');
    expect(joined).toContain('Verify the archive');
    expect(details.slice(0, -1).some((l) => l.endsWith('…'))).toBe(false);
  });
});
