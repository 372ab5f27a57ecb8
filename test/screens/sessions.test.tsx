// The sessions view inside the console, on fixed rows: opening it (a, Enter on the Sessions
// panel), sorting, the filter and a bad regex, the quick filters, the cursor kept on its session
// across a refresh that reorders the rows, the duration switch, a session's detail (a 300-character
// query readable, y copying it), the lock tree (A > B > C with what each root holds up), and the
// actions: a plan over two tagged sessions, the root-blocker choice on a blocked row, the
// idle-in-transaction cancel warning with terminate offered, and the way back to the row.
// Every render and key inside act(), no sleeps.
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { sessionKey, type SessionRow } from '../../src/sessions/model';
import { unhealthyState } from '../support/fixtures';
import { KEY, widthOf } from './render';
import { chainRows, renderSessions, row, sessionsService, sessionsState, type SessionsRendered } from './sessions-fixtures';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** The pids of the list's rows, top to bottom (a pid is right-aligned in its 7 columns; a query's continuation line is indented far deeper). */
function pidsShown(d: SessionsRendered): number[] {
  const out: number[] = [];
  for (const l of d.lines()) {
    const m = /^[▸ ][+ ] {0,6}(\d+) /.exec(l);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** The query's lines in the detail: those right under its heading, indented by 4. */
function queryBlock(lines: string[], heading: number): string[] {
  const out: string[] = [];
  for (const l of lines.slice(heading + 1)) {
    if (!/^ {4}\S/.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

const cursorLine = (d: SessionsRendered) => d.lines().find((l) => l.startsWith('▸'));
const cursorPid = (d: SessionsRendered) => Number(/^▸.? *(?:[└ ]*pid )?(\d+)/.exec(cursorLine(d) ?? '')?.[1]);

async function cursorTo(d: SessionsRendered, pid: number) {
  await d.press(KEY.home);
  for (let i = 0; i < 20 && cursorPid(d) !== pid; i++) await d.press(KEY.down);
  expect(cursorPid(d)).toBe(pid);
}

async function open(rows: SessionRow[] = chainRows(), props: Parameters<typeof renderSessions>[1] = {}) {
  const service = sessionsService();
  const d = await renderSessions(sessionsState(rows), { service, ...props });
  await d.press('a');
  return { d, service };
}

function fits(d: SessionsRendered, columns: number, rows: number) {
  const lines = d.lines();
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
}

describe('the sessions view', () => {
  test('a opens it with every client session; the monitor reads them while it is open; Esc goes back', async () => {
    const { d } = await open();
    expect(d.lines()[0]).toMatch(/^Sessions · 5 \(\+1 own\) · 3 active · 1 idle in tx · 2 waiting · 1 root blocker/);
    expect(d.monitor.watchSessions).toHaveBeenLastCalledWith(true);
    expect(pidsShown(d).sort()).toEqual([101, 202, 303, 404, 505, 606]);
    // the console's own session is marked
    expect(d.lines().find((l) => / 606 /.test(l))).toContain('[own] SELECT');
    expect(d.frame()).toMatch(/PID +DB +USER +APP +CLIENT +STATE +WAIT +Q-TIME▼ QUERY/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^ops /);
    expect(d.monitor.watchSessions).toHaveBeenLastCalledWith(false);
  });

  test('Enter on the Sessions panel opens it on the session of the marked row', async () => {
    const base = unhealthyState();
    const rows = [row(4242, { query: 'UPDATE t SET x = 1', querySec: 3 }), row(6161, { querySec: 420 }), row(5151, { querySec: 180 })];
    const service = sessionsService();
    const d = await renderSessions({ ...base, snapshot: { ...base.snapshot!, sessions: rows } }, { service, columns: 120, rows: 40 });
    for (let i = 0; i < 6 && !/▶ Sessions/.test(d.frame()); i++) await d.press(KEY.tab);
    expect(d.frame()).toMatch(/▸ pid 4242 /);
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Sessions/);
    expect(cursorPid(d)).toBe(4242);
    expect(pidsShown(d)).toEqual([6161, 5151, 4242]); // longest query first
  });

  test('the frame fits the terminal at 80x24 and 120x35; the query column takes the rest of the width', async () => {
    const long = row(707, { query: `SELECT ${'x, '.repeat(100)}1 FROM wide_table`, querySec: 1000 });
    for (const [columns, rows] of [
      [80, 24],
      [120, 35],
    ] as const) {
      const { d } = await open([...chainRows(), long], { columns, rows });
      fits(d, columns, rows);
      // the query fills the query column and wraps beneath it, with the rows left free (issue 12);
      // where it does not all fit, its last line is cut with …
      const lines = d.lines();
      const first = lines.findIndex((l) => /^[▸ ][+ ] {0,6}707 /.test(l));
      const at = lines.find((l) => /PID +DB/.test(l))!.indexOf('QUERY');
      let end = first + 1;
      while (end < lines.length && /^ +\S/.test(lines[end]) && /^ +$/.test(lines[end].slice(0, at))) end++;
      const block = lines.slice(first, end);
      expect(block.length).toBeGreaterThan(1);
      expect(widthOf(block[0])).toBeGreaterThanOrEqual(columns - 3);
      const text = [block[0].slice(at), ...block.slice(1).map((l) => l.slice(at))].map((l) => l.trim()).join(' ');
      if (!text.endsWith('…')) expect(text).toBe(long.query);
      else expect(long.query.startsWith(text.slice(0, -1))).toBe(true);
      await d.press('L');
      fits(d, columns, rows);
      await d.press('L');
      await d.press(KEY.enter);
      fits(d, columns, rows);
    }
  });

  test('sort by any column with its number key; the same key again reverses', async () => {
    const { d } = await open();
    expect(pidsShown(d)).toEqual([101, 202, 303, 505, 404, 606]); // Q-TIME, longest first
    await d.press('3');
    expect(d.frame()).toMatch(/USER▲/);
    expect(pidsShown(d)).toEqual([101, 202, 303, 404, 505, 606]); // alice bob carol dave erin ops
    await d.press('3');
    expect(d.frame()).toMatch(/USER▼/);
    expect(pidsShown(d)).toEqual([606, 505, 404, 303, 202, 101]);
    await d.press('1');
    expect(pidsShown(d)).toEqual([101, 202, 303, 404, 505, 606]);
    await d.press('2');
    expect(pidsShown(d)[pidsShown(d).length - 1]).toBe(303); // app… then reports
    // the footer names the sort keys
    expect(d.frame()).toMatch(/1 pid · 2 db▲ · 3 user · 4 app · 5 client · 6 state · 7 wait · 8 time · 9 query/);
  });

  test('d switches the duration shown: the query\'s, the transaction\'s, the backend\'s', async () => {
    const { d } = await open([row(1, { querySec: 5, xactSec: 100, backendSec: 7200 }), row(2, { querySec: 50, xactSec: 60, backendSec: 60 })]);
    expect(pidsShown(d)).toEqual([2, 1]);
    await d.press('d');
    expect(d.frame()).toMatch(/X-TIME▼/);
    expect(pidsShown(d)).toEqual([1, 2]);
    expect(d.lines().find((l) => /^[▸ ] +1 /.test(l))).toMatch(/ 1m40s /);
    await d.press('d');
    expect(d.frame()).toMatch(/B-TIME▼/);
    expect(d.lines().find((l) => /^[▸ ] +1 /.test(l))).toMatch(/ 2h00m /);
  });

  test('/ filters with a regex over database, user, application and query; a bad regex keeps the old filter; Esc clears', async () => {
    const { d } = await open();
    await d.press('/');
    await d.press('report');
    expect(d.frame()).toMatch(/^\/ report█/m);
    await d.press(KEY.enter);
    expect(pidsShown(d)).toEqual([303]); // its database
    expect(d.frame()).toContain('filter /report/ · 1 of 6 shown');
    await d.press('/');
    for (let i = 0; i < 6; i++) await d.press(KEY.backspace);
    await d.press('balance|batch');
    await d.press(KEY.enter);
    expect(pidsShown(d).sort()).toEqual([202, 505]); // an application, a query
    // a bad regex: the error line, and the old filter stays
    await d.press('/');
    expect(d.frame()).toMatch(/^\/ balance\|batch█/m); // the prompt opens on the filter applied, to edit it
    await d.press('(oops');
    await d.press(KEY.enter);
    expect(d.frame()).toMatch(/! filter: "balance\|batch\(oops" is not a valid regular expression/);
    expect(pidsShown(d).sort()).toEqual([202, 505]);
    // Esc at the prompt clears the filter
    await d.press(KEY.esc);
    expect(pidsShown(d)).toHaveLength(6);
    expect(d.frame()).not.toContain('filter /');
    expect(d.frame()).not.toContain('not a valid');
  });

  test('quick filters: a active, i idle in transaction, w waiting; the same key again shows all', async () => {
    const { d } = await open();
    await d.press('w');
    expect(pidsShown(d)).toEqual([202, 303]);
    expect(d.frame()).toContain('only waiting · 2 of 6 shown');
    await d.press('i');
    expect(pidsShown(d)).toEqual([101]);
    await d.press('a');
    expect(pidsShown(d)).toEqual([202, 303, 505, 606]);
    await d.press('a');
    expect(pidsShown(d)).toHaveLength(6);
  });

  test('the cursor follows its session across a refresh that reorders the rows, and across a re-sort', async () => {
    const { d } = await open();
    await cursorTo(d, 505);
    const at = pidsShown(d).indexOf(505);
    // the next round: 505 has run longest now, and a new session came
    const next = chainRows().map((r) => (r.pid === 505 ? { ...r, querySec: 9999 } : r));
    next.push(row(808, { querySec: 50000 }));
    await d.refresh(next);
    expect(pidsShown(d)).toEqual([808, 505, 101, 202, 303, 404, 606]);
    expect(pidsShown(d).indexOf(505)).not.toBe(at);
    expect(cursorPid(d)).toBe(505);
    await d.press('9');
    expect(cursorPid(d)).toBe(505);
    // the same pid with another backend start is another session: the cursor does not follow it
    const reused = next.map((r) => (r.pid === 505 ? { ...r, backendStart: '2025-01-15T10:29:59.000001Z' } : r));
    await d.refresh(reused);
    const line = cursorLine(d)!;
    expect(line).toBeDefined();
    // a key acts on the row the cursor is drawn on
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(new RegExp(`^Session pid ${/(\d+)/.exec(line.slice(1))![1]} `));
  });

  test('the cursor follows the session it was drawn on even before any key moved it', async () => {
    const { d } = await open();
    expect(cursorPid(d)).toBe(101); // the first row
    await d.refresh(chainRows().map((r) => (r.pid === 505 ? { ...r, querySec: 9999 } : r)));
    expect(pidsShown(d)[0]).toBe(505);
    expect(cursorPid(d)).toBe(101);
    // its session gone, the cursor stays at its row number, on the session now there, and follows that one
    await d.refresh(chainRows().filter((r) => r.pid !== 101));
    const now = cursorPid(d);
    expect(now).toBe(pidsShown(d)[0]);
    await d.refresh(chainRows().filter((r) => r.pid !== 101).map((r) => (r.pid === 404 ? { ...r, querySec: 99999 } : r)));
    expect(cursorPid(d)).toBe(now);
  });

  test('? shows the keys, generated from the key table, and any key closes it', async () => {
    const { d } = await open();
    await d.press('?');
    const f = d.frame();
    expect(f).toMatch(/^Sessions · keys · any key closes/m);
    expect(f).toMatch(/^ {2}1 … 9 +sort: 1 pid 2 db 3 user 4 app 5 client 6 state 7 wait 8 time 9 query \(again: reverse\)$/m);
    for (const k of ['Enter', 'c', 'x', 't', 'T', '/', 'a', 'i', 'w', 'd', 'L', 'space', 'Esc']) expect(f).toMatch(new RegExp(`^ {2}${k.replace(/[/]/g, '\\/')} +\\S`, 'm'));
    await d.press('3'); // closes the help, sorts nothing
    expect(d.frame()).not.toContain('any key closes');
    expect(d.frame()).toMatch(/Q-TIME▼/);
  });

  test('space pauses the list, as on the dashboard', async () => {
    const { d } = await open();
    expect(d.frame()).toContain('space pause');
    await d.press(' ');
    expect(d.monitor.togglePause).toHaveBeenCalledTimes(1);
    expect(d.lines()[0]).toMatch(/^Sessions · PAUSED · /);
    expect(d.frame()).toContain('space resume');
  });
});

describe("a session's detail", () => {
  const QUERY =
    'SELECT o.id, o.customer_id, o.total, c.name, c.email FROM orders o JOIN customers c ON c.id = o.customer_id ' +
    "WHERE o.created_at > now() - interval '30 days' AND o.status IN ('pending', 'processing', 'on_hold') " +
    'AND c.region = ANY (ARRAY[1, 2, 3, 4]) ORDER BY o.created_at DESC, o.total DESC LIMIT 500 OFFSET 1000 -- report:monthly-xyz';

  test('Enter shows every field, the locks by name, who it blocks and who blocks it, and the full 300-character query', async () => {
    expect(QUERY.length).toBeGreaterThanOrEqual(300);
    const rows = chainRows().map((r) =>
      r.pid === 202
        ? {
            ...r,
            query: QUERY,
            clientHostname: 'app-7.internal',
            xminAge: 1234,
            locks: [...r.locks, { locktype: 'relation', mode: 'AccessShareLock', granted: true, database: 'app', relation: 'public.orders', object: null }],
          }
        : r,
    );
    const { d } = await open(rows, { columns: 120, rows: 35 });
    await cursorTo(d, 202);
    await d.press(KEY.enter);
    const f = d.frame();
    expect(d.lines()[0]).toMatch(/^Session pid 202 · bob@app · active · query 5m00s, transaction 5m10s, waiting on a lock 5m00s/);
    expect(f).toMatch(/database +app/);
    expect(f).toMatch(/user +bob/);
    expect(f).toMatch(/application +batch/);
    expect(f).toMatch(/client +app-7\.internal \(10\.0\.0\.1\) port 50202/);
    expect(f).toMatch(/backend start +2025-01-15 09:22:00\.000202 UTC \(1h00m ago\)/);
    expect(f).toMatch(/xact start +2025-01-15 10:29:00 UTC \(5m10s ago\)/);
    expect(f).toMatch(/query start +2025-01-15 10:29:30 UTC \(5m00s ago\)/);
    expect(f).toMatch(/state change +2025-01-15 10:29:30 UTC/);
    expect(f).toMatch(/wait event +Lock:advisory \(waiting on the lock 5m00s\)/);
    expect(f).toMatch(/backend_xmin +age 1234 transactions/);
    expect(f).toMatch(/blocked by +pid 101 \(alice@app, idle in tx\)/);
    expect(f).toMatch(/blocks +pid 303 \(carol@reports, active, waiting 3m20s\); holds up 1 in all/);
    expect(f).toMatch(/locks waited +ExclusiveLock on advisory 1/);
    expect(f).toMatch(/locks held +ExclusiveLock on advisory 2/);
    expect(f).toMatch(/ +AccessShareLock on public\.orders \(database app\)/);
    // the query, all of it, wrapped at word boundaries
    const lines = d.lines();
    const from = lines.findIndex((l) => /^ {2}query \(\d+ characters\)/.test(l));
    const q = queryBlock(lines, from);
    expect(q.length).toBeGreaterThan(1);
    expect(q.join(' ')).toBe(QUERY);
    for (const l of q) expect(l.length).toBeLessThanOrEqual(120 - 4);
    fits(d, 120, 35);
  });

  test('y copies the query through the console\'s clipboard (OSC 52), and says so', async () => {
    const rows = chainRows().map((r) => (r.pid === 505 ? { ...r, query: QUERY } : r));
    const { d } = await open(rows);
    await cursorTo(d, 505);
    await d.press(KEY.enter);
    await d.press('y');
    expect(d.clipboard.copy).toHaveBeenCalledWith(QUERY);
    expect(d.frame()).toMatch(/copied the query of pid 505 \(\d+ characters\) with OSC 52/);
  });

  test('Esc goes back to the list, on the same session; a session that ends is shown as last seen', async () => {
    const { d } = await open();
    await cursorTo(d, 404);
    await d.press(KEY.enter);
    await d.refresh(chainRows().filter((r) => r.pid !== 404));
    expect(d.frame()).toContain('this session has ended');
    expect(d.lines()[0]).toMatch(/^Session pid 404 /);
    await d.refresh(chainRows());
    await d.press(KEY.esc);
    expect(cursorPid(d)).toBe(404);
  });

  test('a long detail scrolls', async () => {
    const many = row(909, { query: Array.from({ length: 60 }, (_, i) => `SELECT ${i};`).join('\n') });
    const { d } = await open([many], { columns: 80, rows: 24 });
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/\[1-21\/\d+\]/);
    await d.press(KEY.end);
    expect(d.frame()).toContain('SELECT 59;');
    fits(d, 80, 24);
  });
});

describe('the lock tree', () => {
  test('L: root blockers first, the sessions they hold up beneath, to any depth, each with its wait; the root says how many it holds up', async () => {
    const { d } = await open();
    await d.press('L');
    expect(d.lines()[0]).toMatch(/^Sessions · lock tree/);
    const lines = d.lines();
    const a = lines.findIndex((l) => /^[▸ ] pid 101 holds up 2 · alice@app/.test(l));
    expect(a).toBeGreaterThan(0);
    expect(lines[a + 1]).toMatch(/^ {2}└ pid 202 waits 5m00s, holds up 1 · bob@app/);
    expect(lines[a + 2]).toMatch(/^ {4}└ pid 303 waits 3m20s · carol@reports/);
    // sessions in no lock wait are not in it
    expect(d.frame()).not.toMatch(/pid 505/);
    await d.press('L');
    expect(pidsShown(d)).toHaveLength(6);
  });

  test('the cursor keeps its session from the list to the tree and back', async () => {
    const { d } = await open();
    await cursorTo(d, 303);
    await d.press('L');
    expect(cursorLine(d)).toMatch(/└ pid 303/);
    await d.press(KEY.up);
    expect(cursorLine(d)).toMatch(/└ pid 202/);
    await d.press('L');
    expect(cursorPid(d)).toBe(202);
  });

  test('no lock wait: the tree says so', async () => {
    const { d } = await open([row(1), row(2)]);
    await d.press('L');
    expect(d.frame()).toContain('no session waits on a lock');
  });
});

describe('actions', () => {
  test('t tags several sessions; x makes one plan over them, listing each with its user, database, state, duration and query', async () => {
    const { d, service } = await open();
    await cursorTo(d, 505);
    await d.press('t');
    expect(cursorLine(d)).toBeDefined();
    expect(d.lines().some((l) => /^ \+ *505 /.test(l))).toBe(true);
    await cursorTo(d, 404);
    await d.press('t');
    expect(d.frame()).toContain('2 tagged');
    await d.press('x');
    const f = d.frame();
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    expect(f).toContain('Terminates 2 sessions, each bound to its pid and backend start:');
    expect(f).toContain('pid 505 · erin@app · active · query 12s, transaction 1m00s · UPDATE accounts SET balance = balance - 1 WHERE id = 7');
    expect(f).toContain('pid 404 · dave@app · idle · connected 1h00m · COMMIT');
    expect(service.start).not.toHaveBeenCalled();
    // the list is frozen while the confirmation is open
    expect(d.monitor.getState().paused).toBe(true);
    await d.press('y');
    const rows = chainRows();
    const key = (pid: number) => sessionKey(rows.find((r) => r.pid === pid)!);
    expect(service.start).toHaveBeenCalledWith('terminate-sessions', { sessions: [key(505), key(404)] }, expect.any(AbortSignal));
    expect(d.monitor.getState().paused).toBe(false);
  });

  test('x on a blocked row offers it or its root blocker; the plan names both and the one chosen; after the run, back on the row', async () => {
    const { d, service } = await open();
    await cursorTo(d, 303);
    await d.press('x');
    expect(d.frame()).toContain('pid 303 waits on a lock. Terminate:');
    expect(d.frame()).toMatch(/ 1 {2}this session: pid 303 \(carol@reports, active, waiting on a lock for 3m20s\)/);
    expect(d.frame()).toMatch(/▶ 2 {2}its root blocker: pid 101 \(alice@app, idle in tx, holds up 2 sessions\)/);
    // opening the choice pauses the list
    expect(d.monitor.togglePause).toHaveBeenCalledTimes(1);
    expect(d.lines()[0]).toContain('PAUSED');
    await d.press(KEY.enter);
    const f = d.frame();
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    expect(f).toContain('Chosen on the row of pid 303, which waits on a lock: its root blocker.');
    expect(f).toMatch(/not chosen: this session: pid 303 .*, left as it is/);
    expect(f).toMatch(/→ chosen: terminate its root blocker: pid 101 /);
    expect(f).toContain('pid 101 · alice@app · idle in transaction');
    const a = chainRows().find((r) => r.pid === 101)!;
    await d.press('y');
    expect(service.start).toHaveBeenCalledWith('terminate-sessions', { sessions: [sessionKey(a)] }, expect.any(AbortSignal));
    // the run ends; Esc comes back to the sessions view, on the row it left
    await act(async () => {
      service.handles[0].runner.setPhase('done', 'succeeded');
    });
    await act(async () => {
      await Promise.resolve();
    });
    expect(d.frame()).toMatch(/the run succeeded/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Sessions/);
    expect(d.lines()[0]).not.toContain('PAUSED');
    expect(cursorPid(d)).toBe(303);
  });

  test('choosing this session (1) binds the plan to it, and names the root blocker left alone', async () => {
    const { d, service } = await open();
    await cursorTo(d, 303);
    await d.press('c');
    await d.press('1');
    expect(d.lines()[0]).toMatch(/^Plan · cancel-query/);
    expect(d.frame()).toMatch(/→ chosen: cancel this session: pid 303 /);
    expect(d.frame()).toMatch(/not chosen: its root blocker: pid 101 .*, left as it is/);
    await d.press(KEY.esc); // back to the view, the choice closed, the list running again
    expect(d.lines()[0]).toMatch(/^Sessions ·/);
    expect(d.lines()[0]).not.toContain('PAUSED');
    expect(d.frame()).not.toContain('waits on a lock. Cancel');
    expect(cursorPid(d)).toBe(303);
    expect(service.start).not.toHaveBeenCalled();
  });

  test('c / x from a detail: the same choice there, and Esc from the plan comes back to the detail', async () => {
    const { d } = await open();
    await cursorTo(d, 303);
    await d.press(KEY.enter);
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Session pid 303 · PAUSED/);
    expect(d.frame()).toContain('pid 303 waits on a lock. Terminate:');
    await d.press('2');
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Session pid 303 /);
    expect(d.frame()).not.toContain('waits on a lock. Terminate');
    await d.press(KEY.esc);
    expect(cursorPid(d)).toBe(303);
  });

  test('Esc closes the choice without a plan', async () => {
    const { d } = await open();
    await cursorTo(d, 202);
    await d.press('x');
    await d.press(KEY.esc);
    expect(d.frame()).not.toContain('waits on a lock. Terminate');
    expect(d.lines()[0]).not.toContain('PAUSED');
    expect(d.lines()[0]).toMatch(/^Sessions/);
  });

  test('c on a session idle in a transaction: the plan says the cancel does nothing there, and x offers terminate', async () => {
    const { d, service } = await open();
    await cursorTo(d, 101);
    await d.press('c');
    const f = d.frame();
    expect(d.lines()[0]).toMatch(/^Plan · cancel-query/);
    expect(f).toContain('! pid 101: it is idle in transaction: cancelling does nothing');
    expect(f).toContain('x plans terminate-sessions for pid 101 instead.');
    expect(f).toContain('x terminate 101 instead');
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    expect(d.frame()).toContain('pid 101 · alice@app · idle in transaction');
    await d.press('y');
    expect(service.start).toHaveBeenCalledWith('terminate-sessions', { sessions: [sessionKey(chainRows()[0])] }, expect.any(AbortSignal));
  });

  test('a cancel of an active session has no such warning', async () => {
    const { d } = await open();
    await cursorTo(d, 505);
    await d.press('c');
    expect(d.lines()[0]).toMatch(/^Plan · cancel-query/);
    expect(d.frame()).not.toContain('cancelling does nothing');
    expect(d.frame()).not.toContain('instead');
  });

  test("the console's own session is never acted on, nor tagged", async () => {
    const { d, service } = await open();
    await cursorTo(d, 606);
    await d.press('x');
    expect(d.frame()).toContain("pid 606 is the console's own session");
    await d.press('t');
    expect(d.frame()).toContain("pid 606 is the console's own session");
    expect(d.lines()[0]).toMatch(/^Sessions/);
    expect(service.start).not.toHaveBeenCalled();
  });

  test('without a task service the view has no actions', async () => {
    const d = await renderSessions(sessionsState(chainRows()));
    await d.press('a');
    expect(d.frame()).not.toContain('x terminate');
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Sessions/);
  });
});
