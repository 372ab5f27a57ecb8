// The sessions view's controller part and pure pieces, with no Ink: the monitor asked for the
// sessions while the view is open and no longer after; the pause a confirmation holds and gives
// back (and leaves alone when the operator had paused); the OSC 52 sequence, through tmux too;
// the columns fitted to the width; the cursor found again by the session's identity.
import { describe, expect, test, vi } from 'vitest';
import { createController } from '../../screens/controller';
import type { KeyName } from '../../screens/keys';
import { routeKey } from '../../screens/screen-table';
import { osc52, terminalClipboard } from '../../screens/sessions/clipboard';
import { cursorAt, itemsOf, keepInView, planColumns, type Item } from '../../screens/sessions/model';
import { newSessionsRoute } from '../../screens/sessions/state';
import { sessionKey } from '../../src/sessions/model';
import { chainRows, row, sessionsMonitor, sessionsService, sessionsState } from '../screens/sessions-fixtures';

const ch = (c: string): KeyName => ({ ch: c });

function make(paused = false) {
  const monitor = sessionsMonitor(sessionsState(chainRows(), { paused }));
  const ctl = createController({ monitor, service: sessionsService(), onQuit: vi.fn(), now: () => 0 });
  ctl.begin(null);
  ctl.resize(120, 35);
  const press = (...keys: KeyName[]) => keys.forEach((k) => routeKey(ctl, k));
  const route = () => ctl.store.getState().route;
  return { monitor, ctl, press, route };
}

describe('the sessions view in the controller', () => {
  test('the monitor reads every session while the view or a detail is open, and no longer after', () => {
    const { monitor, press, route } = make();
    expect(monitor.watchSessions).not.toHaveBeenCalled();
    press(ch('a'));
    expect(route().screen).toBe('sessions');
    expect(monitor.watchSessions.mock.calls).toEqual([[true]]);
    press('enter');
    expect(route().screen).toBe('session');
    press('esc');
    expect(route().screen).toBe('sessions');
    expect(monitor.watchSessions.mock.calls).toEqual([[true]]); // still on: once
    press('esc');
    expect(route().screen).toBe('dashboard');
    expect(monitor.watchSessions.mock.calls).toEqual([[true], [false]]);
  });

  test('a plan from the view pauses the monitor until it closes; Esc comes back on the same session', () => {
    const { monitor, press, route } = make();
    press(ch('a'), ch('1'), 'down', 'down', 'down', 'down'); // by pid: 505
    const r = route();
    expect(r.screen === 'sessions' && r.cursor.key).toBe(sessionKey(chainRows()[4]));
    press(ch('c'));
    expect(route().screen).toBe('plan');
    expect(monitor.getState().paused).toBe(true);
    press('esc');
    expect(route().screen).toBe('sessions');
    expect(monitor.getState().paused).toBe(false);
    const back = route();
    expect(back.screen === 'sessions' && back.cursor.key).toBe(sessionKey(chainRows()[4]));
    expect(monitor.togglePause).toHaveBeenCalledTimes(2);
  });

  test('paused by the operator before: a confirmation leaves the pause as it was', () => {
    const { monitor, press, route } = make(true);
    press(ch('a'), ch('1'), 'down', 'down', ch('x')); // 303: the choice
    expect(route().screen === 'sessions' && !!(route() as { choice: unknown }).choice).toBe(true);
    press('enter', 'esc');
    expect(route().screen).toBe('sessions');
    expect(monitor.togglePause).not.toHaveBeenCalled();
    expect(monitor.getState().paused).toBe(true);
  });

  test('"Down, Enter" sent together acts on the row moved to (the cursor is in the store)', () => {
    const { press, route } = make();
    press(ch('a'), ch('1'), 'down', 'enter');
    const r = route();
    expect(r.screen === 'session' && r.key).toBe(sessionKey(chainRows()[1]));
  });
});

describe('OSC 52', () => {
  test('the sequence, and tmux passthrough with its ESC doubled', () => {
    expect(osc52('SELECT 1')).toBe(`\x1b]52;c;${Buffer.from('SELECT 1').toString('base64')}\x07`);
    expect(osc52('SELECT 1', true)).toBe(`\x1bPtmux;\x1b\x1b]52;c;${Buffer.from('SELECT 1').toString('base64')}\x07\x1b\\`);
  });

  test('the terminal clipboard writes it, through tmux when TMUX is set', () => {
    const out = { write: vi.fn() };
    expect(terminalClipboard(out, {}).copy('é')).toBe(true);
    expect(out.write).toHaveBeenLastCalledWith(osc52('é'));
    terminalClipboard(out, { TMUX: '/tmp/tmux-1000/default,1,0' }).copy('x');
    expect(out.write).toHaveBeenLastCalledWith(osc52('x', true));
    const gone = { write: () => { throw new Error('EPIPE'); } };
    expect(terminalClipboard(gone, {}).copy('x')).toBe(false);
  });
});

describe('the list', () => {
  const view = newSessionsRoute();
  const items = (): Item[] => itemsOf(chainRows(), view);

  test('the columns fill the width, the query takes the rest, client and app are left out when short', () => {
    for (const w of [80, 120, 200]) {
      const cols = planColumns(items(), view, w);
      expect(cols.reduce((n, c) => n + c.width + 1, 2) - 1).toBe(w);
      expect(cols[cols.length - 1].id).toBe('query');
    }
    expect(planColumns(items(), view, 120).map((c) => c.id)).toContain('client');
    expect(planColumns(items(), view, 80).map((c) => c.id)).not.toContain('client');
    expect(planColumns(items(), view, 200).find((c) => c.id === 'query')!.width).toBeGreaterThan(planColumns(items(), view, 120).find((c) => c.id === 'query')!.width);
  });

  test('the cursor: its session first, then the pid asked for, then its row number kept in range', () => {
    const it = items();
    expect(cursorAt(it, { key: it[3].key, index: 0 })).toBe(3);
    expect(cursorAt(it, { key: 'gone', index: 2, pid: it[4].pid })).toBe(4);
    expect(cursorAt(it, { key: 'gone', index: 99 })).toBe(it.length - 1);
    expect(cursorAt([], { key: null, index: 0 })).toBe(-1);
    expect(keepInView(0, 12, 30, 10)).toBe(3);
    expect(keepInView(8, 2, 30, 10)).toBe(2);
    expect(keepInView(5, 7, 30, 10)).toBe(5);
  });

  test('a pid reused by another session is not the same row', () => {
    const a = row(7);
    const b = { ...row(7), backendStart: '2025-01-15T10:00:00.000001Z' };
    const key = sessionKey(a);
    expect(cursorAt(itemsOf([b, row(8)], view), { key, index: 1 })).toBe(1);
  });
});
