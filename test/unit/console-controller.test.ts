// The console's controller and key tables, with no Ink and no React: keys go through the screen
// table exactly as the App routes them, and the store's state is read back.
import { describe, expect, test, vi } from 'vitest';
import { createController } from '../../screens/controller';
import { DASHBOARD_KEYS, helpLines } from '../../screens/dashboard-keys';
import { helpOf, hintsOf } from '../../screens/keymap';
import type { KeyName } from '../../screens/keys';
import { routeKey, SCREENS } from '../../screens/screen-table';
import { fakeService } from '../support/fake-tasks';
import { fixedMonitor, healthyState } from '../support/fixtures';

const ch = (c: string): KeyName => ({ ch: c });

function make(withTasks = true) {
  const onQuit = vi.fn();
  const monitor = fixedMonitor(healthyState());
  const service = withTasks ? fakeService() : undefined;
  const ctl = createController({ monitor, service, onQuit, now: () => 0 });
  ctl.begin(null);
  const press = (...keys: KeyName[]) => keys.map((k) => routeKey(ctl, k));
  return { ctl, onQuit, service, monitor, press, screen: () => ctl.store.getState().route.screen };
}

describe('console controller', () => {
  test('t opens the tasks, Enter a task (its form or its plan), Esc goes back one screen at a time', () => {
    const { press, screen, ctl, service } = make();
    press(ch('t'));
    expect(screen()).toBe('tasks');
    const first = service!.tasks().tasks[0];
    press('enter');
    expect(['params', 'plan']).toContain(screen());
    const r = ctl.store.getState().route;
    if (r.screen === 'plan') expect(r.task.id).toBe(first.id);
    press('esc');
    press('esc');
    expect(screen()).toBe('dashboard');
  });

  test('q quits from the dashboard and drops the rest of the chunk', () => {
    const { press, onQuit } = make();
    expect(press(ch('q'))).toEqual(['stop']);
    expect(onQuit).toHaveBeenCalledTimes(1);
  });

  test('without a task service the task keys do nothing, and neither the footer nor the help lists them', () => {
    const { press, screen, ctl } = make(false);
    press(ch('t'), ch('h'), ch('u'), ch('l'));
    expect(screen()).toBe('dashboard');
    const ctx = { ctl, route: { screen: 'dashboard' as const }, state: ctl.store.getState() };
    expect(hintsOf(DASHBOARD_KEYS, ctx)).toBe('q quit · space pause · r refresh · Tab panel · ↑↓ scroll · ? help');
    const help = helpLines(helpOf(DASHBOARD_KEYS, ctx)).join('\n');
    expect(help).not.toMatch(/^ {2}t {12}tasks/m);
    expect(help).toMatch(/^ {2}q, Ctrl-C {4}quit$/m);
  });

  test('with a task service the help lists every task key the table binds', () => {
    const { ctl } = make();
    const ctx = { ctl, route: { screen: 'dashboard' as const }, state: ctl.store.getState() };
    const help = helpLines(helpOf(DASHBOARD_KEYS, ctx));
    for (const k of ['t', 'l', 'h', 'u', 'c x', 'f']) expect(help.some((l) => l.startsWith(`  ${k.padEnd(13)}`))).toBe(true);
    expect(hintsOf(DASHBOARD_KEYS, ctx)).toBe('q quit · space pause · Tab panels · t tasks · l checklists · h history · ? help');
  });

  test('? opens the help in the store, any key closes it; Tab moves the focus', () => {
    const { press, ctl } = make();
    press(ch('?'));
    expect(ctl.store.getState().dash.help).toBe(true);
    press(ch('t'));
    expect(ctl.store.getState().dash.help).toBe(false);
    expect(ctl.store.getState().route.screen).toBe('dashboard');
    press('tab');
    expect(ctl.store.getState().dash.focus).toBe('disks');
  });

  test('the store publishes once per change and not for a key that changes nothing', () => {
    const { press, ctl } = make();
    const seen = vi.fn();
    ctl.store.subscribe(seen);
    press('backspace');
    expect(seen).not.toHaveBeenCalled();
    press('tab');
    expect(seen).toHaveBeenCalledTimes(1);
  });

  test('every screen of the table has keys, and every key binding that runs names its keys', () => {
    for (const [name, m] of Object.entries(SCREENS)) {
      expect(m.keys.length, name).toBeGreaterThan(0);
      for (const b of m.keys) if (b.run) expect(b.keys === 'any' || b.keys === 'typed' || b.keys.length > 0, name).toBe(true);
    }
  });
});
