// Pure pieces of the task screens: parameter fields from zod schemas (the built-in tasks'), the
// confirmation by risk, output scrolling, the redraw throttle, and the router reducer.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BUILTIN_TASKS } from '../../tasks/index';
import { createThrottle } from '../../screens/hooks/useRunnerVersion';
import { keysOf } from '../../screens/keys';
import { FOLLOW, hardWrap, outputTop, paramFields, paramsFromForm, scrollOutput } from '../../screens/tasks/model';
import { appReducer, chosenInOrder, INITIAL_APP, type AppState } from '../../screens/state';
import type { RunRoute } from '../../screens/tasks/state';
import { confirmationFor } from '../../src/tasks/confirm';

const confirmKind = (risk: 'low' | 'medium' | 'high' | 'critical', steps: { irreversible: boolean }[]) => confirmationFor({ risk }, { params: {}, steps }, 'db').kind;
import { fakeRunner, PLANS, TASKS } from '../support/fake-tasks';

const builtin = (id: string) => BUILTIN_TASKS.find((t) => t.id === id)!;

describe('parameter fields', () => {
  test('read from the built-in tasks\' zod objects, with required/optional', () => {
    expect(paramFields(builtin('set-setting'))).toEqual([
      { name: 'name', required: true, description: null },
      { name: 'value', required: true, description: null },
    ]);
    expect(paramFields(builtin('vacuum-analyze')).map((f) => [f.name, f.required])).toEqual([
      ['tables', false],
      ['minDeadTuples', false],
      ['minDeadPct', false],
    ]);
    // an object with a refinement on top
    expect(paramFields(builtin('reindex-concurrently')).map((f) => f.name)).toEqual(['index', 'table']);
  });

  test('form values: empty ones left out; commas make a list where the field takes one', () => {
    const analyze = builtin('analyze');
    expect(paramsFromForm(analyze, { tables: '' })).toEqual({});
    expect(paramsFromForm(analyze, { tables: 'public.orders' })).toEqual({ tables: 'public.orders' });
    expect(paramsFromForm(analyze, { tables: 'public.orders, public.items' })).toEqual({ tables: ['public.orders', 'public.items'] });
    // a plain text field keeps its commas
    expect(paramsFromForm(builtin('set-setting'), { name: 'search_path', value: 'app, public' })).toEqual({ name: 'search_path', value: 'app, public' });
  });
});

describe('confirmation by risk', () => {
  test('low none, medium and high y/N, critical the name; an irreversible step always asks', () => {
    const plain = [{ irreversible: false }];
    const irrev = [{ irreversible: false }, { irreversible: true }];
    expect(confirmKind('low', plain)).toBe('none');
    expect(confirmKind('low', irrev)).toBe('yes-no');
    expect(confirmKind('medium', plain)).toBe('yes-no');
    expect(confirmKind('high', plain)).toBe('yes-no');
    expect(confirmKind('critical', plain)).toBe('type-word');
    expect(confirmKind('critical', irrev)).toBe('type-word');
  });
});

describe('output view', () => {
  const env = { height: 10, total: 3000, kept: 2000 };
  test('follows the newest lines; scrolling holds an absolute line; End follows again', () => {
    expect(outputTop(FOLLOW, env)).toBe(2990);
    const up = scrollOutput(FOLLOW, -1, env);
    expect(up).toEqual({ follow: false, top: 2989 });
    // more lines arrive: the held view does not move
    expect(outputTop(up, { ...env, total: 3050 })).toBe(2989);
    expect(scrollOutput(up, 'page-up', env).top).toBe(2979);
    expect(scrollOutput(up, 'home', env).top).toBe(1000); // the oldest line kept
    expect(scrollOutput(up, 'end', env)).toBe(FOLLOW);
    // lines dropped from the ring under a held view: it shows the oldest kept
    expect(outputTop({ follow: false, top: 5 }, env)).toBe(1000);
  });

  test('nothing to scroll when everything fits', () => {
    expect(scrollOutput(FOLLOW, -1, { height: 10, total: 4, kept: 4 })).toBe(FOLLOW);
  });

  test('hard wrap keeps every character of a command', () => {
    const sql = `ALTER SYSTEM SET work_mem = '64MB'; -- ${'x'.repeat(50)}`;
    const parts = hardWrap(sql, 20);
    expect(parts.join('')).toBe(sql);
    expect(parts.every((p) => p.length <= 20)).toBe(true);
  });
});

describe('redraw throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  test('first change at once, then at most one flush per window', () => {
    vi.useFakeTimers();
    const flush = vi.fn();
    const t = createThrottle(flush, 100, () => Date.now());
    t.trigger();
    expect(flush).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 1000; i++) t.trigger();
    expect(flush).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(100);
    expect(flush).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    expect(flush).toHaveBeenCalledTimes(2);
    t.trigger();
    t.trigger();
    t.cancel();
    expect(flush).toHaveBeenCalledTimes(3);
  });
});

describe('keys', () => {
  const none = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false };
  test('a chunk is split; Enter and Backspace inside a paste too', () => {
    expect(keysOf('ab\r', none as never)).toEqual([{ ch: 'a' }, { ch: 'b' }, 'enter']);
    expect(keysOf('', { ...none, return: true } as never)).toEqual(['enter']);
    expect(keysOf('', { ...none, delete: true } as never)).toEqual(['backspace']);
    expect(keysOf('x\x7f', none as never)).toEqual([{ ch: 'x' }, 'backspace']);
  });
});

describe('router', () => {
  test('rollback choices are step ids, run newest first whatever the order chosen', () => {
    const task = TASKS.find((t) => t.id === 'backup')!;
    const runner = fakeRunner(task, 'r1', PLANS.backup({}));
    for (let i = 0; i < 3; i++) runner.state.steps[i].status = 'ok';
    const route: RunRoute = {
      screen: 'run',
      handle: { runId: 'r1', task, runner, close: async () => undefined },
      back: { screen: 'history', mode: 'all' },
      stage: 'live',
      view: FOLLOW,
      modal: null,
      cancelRequested: false,
      result: null,
    };
    let s: AppState = { ...INITIAL_APP, route };
    s = appReducer(s, { type: 'offer', items: runner.rollbackPlan() });
    s = appReducer(s, { type: 'select', delta: 1 });
    s = appReducer(s, { type: 'toggle' }); // dump
    s = appReducer(s, { type: 'select', delta: -1 });
    s = appReducer(s, { type: 'toggle' }); // checksum
    const r = s.route as RunRoute;
    expect(r.modal!.chosen).toEqual(['dump', 'checksum']);
    expect(chosenInOrder(r.modal!)).toEqual(['checksum', 'dump']);
  });
});
