// After a sub-screen (a plan, a confirmation, a run, the task list) the console comes back to the
// panel and the row it left: the dashboard's focus, scrolling and Sessions cursor are kept in the
// store meanwhile, the cursor follows its session (by pid) when the list changed, and a scroll
// position is clamped to what the panel has now. Fixed data, every render and key press inside act().
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { INITIAL_UI, markedIndex, uiReducer, type UiEnv, type UiState } from '../../screens/dashboard-state';
import type { MonitorState, PgSession } from '../../src/types';
import { TERMINATE_TASK, fakeService } from '../support/fake-tasks';
import { unhealthyState } from '../support/fixtures';
import { focusedTitle, KEY, renderApp, type Rendered } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** Tab until this panel has the focus (its title may be in the right-hand column). */
async function focus(d: Rendered, title: string): Promise<void> {
  const has = () => d.lines().some((l) => l.includes(`▶ ${title} `));
  for (let i = 0; i < 6 && !has(); i++) await d.press(KEY.tab);
  expect(has()).toBe(true);
}

const withTerminate = () => fakeService({ tasks: [...fakeService().tasks().tasks, TERMINATE_TASK] });
const markedPid = (d: Rendered) => Number(/▸ pid (\d+)/.exec(d.frame())?.[1] ?? NaN);

function blockedSession(pid: number): PgSession & { blockedBy: number[]; waitSec: number } {
  return {
    pid,
    user: 'dave',
    database: 'app',
    client: '10.0.0.9',
    application: 'app-server',
    state: 'active',
    durationSec: 50,
    xactSec: 50,
    query: `UPDATE orders SET status = 'held' WHERE id = ${pid}`,
    waitEventType: 'Lock',
    waitEvent: 'transactionid',
    blockedBy: [4141],
    waitSec: 50,
  };
}

/** The unhealthy state with these blocked sessions first (they sort first: blocked, then the rest). */
function withBlockedFirst(pids: number[], drop: number[] = []): MonitorState {
  const state = unhealthyState();
  const pg = state.snapshot!.postgres!;
  if (!pg.ok) throw new Error('fixture');
  pg.data.blocked = [...pids.map(blockedSession), ...pg.data.blocked];
  for (const k of ['blocked', 'longQueries', 'idleInTransaction'] as const) pg.data[k] = (pg.data[k] as PgSession[]).filter((x) => !drop.includes(x.pid)) as never;
  // the check's rows judge each listed session (the fixture's blocked check lists its own)
  const check = state.report!.checks.find((c) => c.id === 'sessions.blocked')!;
  check.rows = [...pids.map((pid) => ({ subject: `pid ${pid}`, status: 'WARNING' as const, value: 50 })), ...(check.rows ?? [])];
  return state;
}

describe('back from a sub-screen', () => {
  test('after a plan, Esc comes back to the Sessions panel and the session it left, though the list changed meanwhile', async () => {
    const d = await renderApp(unhealthyState(), { service: withTerminate(), columns: 120, rows: 40 });
    await focus(d, 'Sessions');
    await d.press(KEY.down);
    await d.press(KEY.down);
    expect(markedPid(d)).toBe(5151);
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    // while the plan is open a refresh puts two new blocked sessions above it
    await act(async () => {
      d.monitor.set(withBlockedFirst([4401, 4402]));
    });
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^ops /);
    expect(d.frame()).toContain('▶ Sessions ');
    expect(markedPid(d)).toBe(5151);
    // and the keys act on it: x plans for 5151, not for the row now at its old place
    await d.press('x');
    expect(d.frame()).toContain('pg_terminate_backend(5151)');
  });

  test('the cursor stays on its session across a refresh that reorders the rows', async () => {
    const d = await renderApp(unhealthyState(), { service: withTerminate(), columns: 120, rows: 40 });
    await focus(d, 'Sessions');
    await d.press(KEY.down);
    expect(markedPid(d)).toBe(6161);
    await act(async () => {
      d.monitor.set(withBlockedFirst([4401]));
    });
    expect(markedPid(d)).toBe(6161);
    await d.press(KEY.down);
    expect(markedPid(d)).toBe(5151);
  });

  test('when its session is gone, the cursor stays at its place, or the last row', async () => {
    const d = await renderApp(unhealthyState(), { service: withTerminate(), columns: 120, rows: 40 });
    await focus(d, 'Sessions');
    await d.press(KEY.down);
    expect(markedPid(d)).toBe(6161);
    await d.press('x');
    // the session was terminated: the next refresh no longer lists it
    await act(async () => {
      d.monitor.set(withBlockedFirst([], [6161]));
    });
    await d.press(KEY.esc);
    expect(markedPid(d)).toBe(5151); // the row that took its place
    await act(async () => {
      d.monitor.set(withBlockedFirst([], [6161, 5151]));
    });
    expect(markedPid(d)).toBe(4242); // the last row left
  });

  test('after the task list, the focused panel and its scroll position are kept, clamped to what the panel has now', async () => {
    const d = await renderApp(unhealthyState({ many: true }), { service: withTerminate(), columns: 80, rows: 24 });
    await focus(d, 'Disks');
    await d.press('G');
    const scrolled = focusedTitle(d.lines())!;
    expect(scrolled).toMatch(/\[\d+-12\/12\]/);
    await d.press('t');
    expect(d.lines()[0]).toMatch(/Tasks/);
    await d.press(KEY.esc);
    expect(focusedTitle(d.lines())).toBe(scrolled);
    // the terminal grew meanwhile: more rows shown, the window still ends at the last row
    await d.press('t');
    await d.resize(80, 30);
    await d.press(KEY.esc);
    const grown = focusedTitle(d.lines())!;
    const m = /\[(\d+)-12\/12\]/.exec(grown);
    expect(m).not.toBeNull();
    // Up scrolls from what is shown, not from a position past the end
    await d.press(KEY.up);
    expect(focusedTitle(d.lines())).toContain(`[${Number(m![1]) - 1}-11/12]`);
  });
});

describe('the cursor (dashboard-state)', () => {
  const env = (pids: number[]): UiEnv => ({ columns: 120, rows: 40, counts: { host: 3, disks: 3, postgres: 4, sessions: pids.length, tables: 0, endpoints: 0 }, actions: true, pids });
  test('moves over the rows and remembers the session it is on', () => {
    let s: UiState = { ...INITIAL_UI, focus: 'sessions' };
    s = uiReducer(s, { type: 'scroll', delta: 1, env: env([10, 20, 30]) });
    expect(s).toMatchObject({ cursor: 1, cursorPid: 20 });
    // the rows reordered: the cursor is still on 20, and moves from there
    expect(markedIndex(s, [30, 10, 20])).toBe(2);
    s = uiReducer(s, { type: 'scroll', delta: -1, env: env([30, 10, 20]) });
    expect(s).toMatchObject({ cursor: 1, cursorPid: 10 });
    // gone: its place, or the last row
    expect(markedIndex(s, [30, 20, 40])).toBe(1);
    expect(markedIndex(s, [30])).toBe(0);
    expect(markedIndex(s, [])).toBe(-1);
  });
});
