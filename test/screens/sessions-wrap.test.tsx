// The sessions list gives the rows it has free to the rows' queries (issue 12): at 80x24 a few
// sessions with long queries wrap at word boundaries onto continuation lines under the QUERY
// column, fairly (each row a second line, top to bottom, then a third …), and a row is cut with …
// only where no room is left; the screen leaves at most a few rows empty. With more sessions than
// fit, rows stay one line each and the cursor scrolls by row. Every render and key inside act().
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { SessionRow } from '../../src/sessions/model';
import { KEY, widthOf } from './render';
import { chainRows, renderSessions, row, sessionsService, sessionsState, type SessionsRendered } from './sessions-fixtures';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

const COLUMNS = 80;
const ROWS = 24;

const QUERIES: Record<number, string> = {
  101: 'BEGIN; UPDATE accounts SET balance = balance - 100, updated_at = now() WHERE id = 42 AND balance >= 100 RETURNING balance',
  202: 'SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval 1 day',
  303: 'INSERT INTO audit_log (actor, action, payload) VALUES ($1, $2, $3)',
  404: 'DELETE FROM sessions WHERE expires_at < now() - interval 7 days AND user_id IS NOT NULL',
};

function longRows(): SessionRow[] {
  return [101, 202, 303, 404].map((pid, i) => row(pid, { querySec: 400 - i * 100, query: QUERIES[pid] }));
}

async function open(rows: SessionRow[]) {
  const d = await renderSessions(sessionsState(rows), { service: sessionsService(), columns: COLUMNS, rows: ROWS });
  await d.press('a');
  return d;
}

const ROW_START = /^[▸ ][+ ] {0,6}(\d+) /; // a pid, right-aligned in its 7 columns (a continuation line is indented far deeper)

/** The list's body: the lines between the column header and the footer (3 lines at 80 columns). */
function body(d: SessionsRendered): string[] {
  const lines = d.lines();
  const header = lines.findIndex((l) => /PID +DB/.test(l));
  return lines.slice(header + 1, lines.length - 3);
}

/** Each row's query as shown: the first line's query cell and its continuation lines, joined. */
function shownQueries(d: SessionsRendered): Map<number, { text: string; lines: number }> {
  const header = d.lines().find((l) => /PID +DB/.test(l))!;
  const at = header.indexOf('QUERY');
  const out = new Map<number, { text: string; lines: number }>();
  let cur: number | null = null;
  for (const l of body(d)) {
    const m = ROW_START.exec(l);
    if (m) {
      cur = Number(m[1]);
      out.set(cur, { text: l.slice(at).trim(), lines: 1 });
    } else if (cur !== null && l.trim() !== '' && /^ +$/.test(l.slice(0, at)) && l[at] !== ' ') {
      const q = out.get(cur)!;
      q.text += ` ${l.slice(at).trim()}`;
      q.lines++;
    } else cur = null;
  }
  return out;
}

const emptyRows = (d: SessionsRendered) => body(d).filter((l) => l.trim() === '').length;
const cursorPid = (d: SessionsRendered) => Number(ROW_START.exec(d.lines().find((l) => l.startsWith('▸')) ?? '')?.[1]);

function fits(d: SessionsRendered) {
  const lines = d.lines();
  expect(lines.length).toBeLessThanOrEqual(ROWS - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(COLUMNS);
}

describe('the sessions list gives its free rows to the queries (80x24)', () => {
  test('a few sessions with long queries: each query wraps whole at word boundaries, none is cut, few rows left empty', async () => {
    const d = await open(longRows());
    fits(d);
    const shown = shownQueries(d);
    expect([...shown.keys()]).toEqual([101, 202, 303, 404]);
    for (const [pid, q] of shown) {
      expect(q.text).toBe(QUERIES[pid]); // whole, its words unbroken
      expect(q.lines).toBeGreaterThan(1);
    }
    expect(body(d).join('\n')).not.toContain('…');
    expect(emptyRows(d)).toBeLessThan(4);
    // the cursor's marker is on its row's first line, and moves by row
    expect(cursorPid(d)).toBe(101);
    await d.press(KEY.down);
    expect(cursorPid(d)).toBe(202);
    expect(d.lines().filter((l) => l.startsWith('▸'))).toHaveLength(1);
    await d.press(KEY.end);
    expect(cursorPid(d)).toBe(404);
    expect([...shownQueries(d).keys()]).toEqual([101, 202, 303, 404]);
    fits(d);
  });

  test('queries longer than the room: every row gets its fair share of lines, cut with … only on its last line', async () => {
    const words = (pid: number) => `SELECT ${Array.from({ length: 60 }, (_, i) => `col_${pid}_${i}`).join(', ')} FROM t`;
    const d = await open([101, 202, 303, 404].map((pid, i) => row(pid, { querySec: 400 - i * 100, query: words(pid) })));
    fits(d);
    const shown = [...shownQueries(d).values()];
    expect(shown).toHaveLength(4);
    const heights = shown.map((q) => q.lines);
    expect(Math.min(...heights)).toBeGreaterThan(1);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThanOrEqual(1);
    expect(heights[0]).toBeGreaterThanOrEqual(heights[3]); // the spare ones go top to bottom
    for (const q of shown) expect(q.text.endsWith('…')).toBe(true);
    expect(emptyRows(d)).toBeLessThan(4);
  });

  test('more sessions than fit: one line each, the cursor scrolls by row', async () => {
    const many = Array.from({ length: 40 }, (_, i) => row(1000 + i, { querySec: 1000 - i, query: QUERIES[[101, 202, 303, 404][i % 4]] }));
    const d = await open(many);
    fits(d);
    const rowsOnScreen = body(d).filter((l) => l.trim() !== '');
    expect(rowsOnScreen.length).toBeGreaterThan(10);
    for (const l of rowsOnScreen) expect(l).toMatch(ROW_START); // no continuation lines
    expect(rowsOnScreen.some((l) => l.endsWith('…'))).toBe(true);
    expect(d.frame()).toMatch(new RegExp(`\\[1-${rowsOnScreen.length}/40\\]`));
    for (let i = 0; i < 25; i++) await d.press(KEY.down);
    expect(cursorPid(d)).toBe(1025);
    expect(d.frame()).not.toMatch(/\[1-\d+\/40\]/);
    fits(d);
    await d.press(KEY.end);
    expect(cursorPid(d)).toBe(1039);
    expect(d.frame()).toMatch(/\[\d+-40\/40\]/);
    await d.press(KEY.home);
    expect(cursorPid(d)).toBe(1000);
    fits(d);
  });

  test('the lock tree too: each query wraps beneath its row, whole, the cursor on its row\'s first line', async () => {
    const rows = chainRows().map((r, i) => ({ ...r, query: QUERIES[[101, 202, 303, 404][i % 4]] }));
    const d = await open(rows);
    await d.press('L');
    fits(d);
    const lines = d.lines();
    const TREE_ROW = /^([▸ ])[+ ] *(?:└ )?pid (\d+) /;
    const blocks = new Map<number, string[]>();
    let cur: number | null = null;
    for (const l of lines.slice(2, lines.length - 3)) {
      const m = TREE_ROW.exec(l);
      if (m) blocks.set((cur = Number(m[2])), [l.slice(l.lastIndexOf(' · ') + 3)]);
      else if (cur !== null && /^ +\S/.test(l)) blocks.get(cur)!.push(l.trim());
      else cur = null;
    }
    expect([...blocks.keys()]).toEqual([101, 202, 303]);
    for (const [pid, b] of blocks) {
      expect(b.join(' ').trim()).toBe(rows.find((r) => r.pid === pid)!.query);
      expect(b.length).toBeGreaterThan(1);
    }
    expect(lines.slice(2, lines.length - 3).join('\n')).not.toContain('…');
    await d.press(KEY.down);
    expect(d.lines().filter((l) => l.startsWith('▸'))).toHaveLength(1);
    expect(d.lines().find((l) => l.startsWith('▸'))).toMatch(/pid 202 /);
  });
});
