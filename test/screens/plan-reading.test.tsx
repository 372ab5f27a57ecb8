// The plan's read-only reading in the console (TaskServiceLike.preview): "reading…" until the
// service answers, then what it found above the steps; a refusal is the plan's verdict and the
// plan cannot be confirmed; a failed reading shows its one line. The form shows each parameter's
// default (paramDefaults). A fake service answers when the test says so, inside act(); no sleeps.
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { healthyState } from '../support/fixtures';
import { fakeService, PLANS, TASKS, type FakeService } from '../support/fake-tasks';
import type { TaskPlan, TaskServiceLike } from '../../src/tasks/service';
import type { Choice, PlanFindings } from '../../src/tasks/model';
import { KEY, renderApp, widthOf, type Rendered } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** A preview that answers only when told: answer(findings) or fail(error). */
function deferredPreview() {
  const calls: { taskId: string; params: Record<string, unknown>; resolve: (p: TaskPlan) => void; reject: (e: Error) => void }[] = [];
  const preview = vi.fn(
    (taskId: string, params: Record<string, unknown>) =>
      new Promise<TaskPlan>((resolve, reject) => {
        calls.push({ taskId, params, resolve, reject });
      }),
  );
  const last = () => calls[calls.length - 1];
  return {
    preview: preview as unknown as NonNullable<TaskServiceLike['preview']>,
    calls,
    answer: async (findings: PlanFindings | null, which = calls.length - 1) => {
      const c = calls[which];
      await act(async () => {
        c.resolve({ steps: PLANS[c.taskId](c.params) as TaskPlan['steps'], findings });
      });
    },
    fail: async (message: string) => {
      await act(async () => {
        last().reject(new Error(message));
      });
    },
  };
}

async function openTask(d: Rendered, service: FakeService, id: string) {
  await d.press('t');
  const i = service.tasks().tasks.findIndex((t) => t.id === id);
  for (let k = 0; k < i; k++) await d.press(KEY.down);
  await d.press(KEY.enter);
}

async function planSetSetting(d: Rendered, service: FakeService) {
  await openTask(d, service, 'set-setting');
  await d.press('work_mem');
  await d.press(KEY.tab);
  await d.press('64MB');
  await d.press(KEY.enter);
}

function fits(d: Rendered, columns = 80, rows = 24) {
  const lines = d.raw().split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
}

describe('the plan with its reading', () => {
  test('reading… until the service answers, then the found lines above the steps, and y runs it', async () => {
    const r = deferredPreview();
    const service = fakeService({ preview: r.preview });
    const d = await renderApp(healthyState(), { service });
    await planSetSetting(d, service);
    expect(r.calls.map((c) => [c.taskId, c.params])).toEqual([['set-setting', { name: 'work_mem', value: '64MB' }]]);
    expect(d.lines()[0]).toMatch(/^Plan · set-setting \[HIGH\]/);
    expect(d.frame()).toContain('reading…');
    // not confirmable before the reading is in
    await d.press('y');
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('still reading the plan');

    await r.answer({ lines: ['work_mem 4MB → 64MB', 'postgresql.auto.conf sets work_mem = 4MB'] });
    const f = d.frame();
    expect(f).not.toContain('reading…');
    const lines = d.lines();
    const found = lines.findIndex((l) => l.includes('work_mem 4MB → 64MB'));
    const firstStep = lines.findIndex((l) => l.startsWith('1. Read the current value'));
    expect(found).toBeGreaterThan(0);
    expect(firstStep).toBeGreaterThan(found);
    expect(f).toContain('postgresql.auto.conf sets work_mem = 4MB');
    expect(f).toMatch(/\[HIGH\] Run set-setting\? \[y\/N\]/);
    fits(d);
    await d.press('y');
    expect(service.start).toHaveBeenCalledWith('set-setting', { name: 'work_mem', value: '64MB' }, expect.anything());
  });

  test('a refused plan: the refusal is its verdict, and neither y nor Enter runs it', async () => {
    const r = deferredPreview();
    const service = fakeService({ preview: r.preview });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'purge-archives'); // low risk: Enter would run it
    await r.answer({ lines: ['0 segments older than the newest base backup'], refusal: 'nothing to purge: no segment is older than the newest base backup' });
    const f = d.frame();
    expect(f).toContain('0 segments older than the newest base backup');
    expect(f).toMatch(/REFUSED: nothing to purge: no segment is older than the newest base backup/);
    expect(f).not.toContain('Enter runs it');
    expect(f).not.toContain('Enter run');
    await d.press(KEY.enter);
    await d.press('y');
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('purge-archives cannot run: nothing to purge');
    fits(d);
    // Esc still goes back
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Tasks · /);
  });

  test('a refused critical plan takes no typed word', async () => {
    const r = deferredPreview();
    const service = fakeService({ preview: r.preview });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'restore');
    await d.press(KEY.enter); // no file: the newest dump
    await r.answer({ lines: [], refusal: 'no dump in /var/backups' });
    expect(d.frame()).toContain('REFUSED: no dump in /var/backups');
    expect(d.frame()).not.toContain('to run it:');
    await d.press('appdb');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
  });

  test('a failed reading shows its one-line error and cannot be run', async () => {
    const r = deferredPreview();
    const service = fakeService({ preview: r.preview });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'purge-archives');
    await r.fail('connect ECONNREFUSED 127.0.0.1:5432');
    expect(d.frame()).toContain('! the plan could not be read: connect ECONNREFUSED 127.0.0.1:5432');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('purge-archives cannot run: the plan could not be read');
  });

  test('an answer for a plan no longer shown changes nothing', async () => {
    const r = deferredPreview();
    const service = fakeService({ preview: r.preview });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'purge-archives');
    await d.press(KEY.esc);
    await d.press(KEY.down);
    await d.press(KEY.enter); // backup: its form
    expect(d.lines()[0]).toMatch(/^backup \[medium\]/);
    await r.answer({ lines: ['stale'], refusal: 'stale' }, 0);
    expect(d.frame()).not.toContain('stale');
    expect(d.lines()[0]).toMatch(/^backup \[medium\]/);
  });
});

describe('the form with the defaults', () => {
  test('an empty field shows its default; typing replaces it', async () => {
    const service = fakeService({ paramDefaults: (id): Record<string, string> => (id === 'backup' ? { dir: '/var/backups' } : {}) });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'backup');
    expect(d.frame()).toMatch(/▶ dir +\(optional\) : █ \(default: \/var\/backups\)/);
    await d.press('/srv/dumps');
    expect(d.frame()).toMatch(/▶ dir +\(optional\) : \/srv\/dumps█$/m);
    expect(d.frame()).not.toContain('(default:');
  });
});

describe('the form with a pick list', () => {
  /** restore's file given a pick list (as drop-index's index has), answered when the test says so */
  const tasks = TASKS.map((t) => (t.id === 'restore' ? { ...t, choices: { file: async () => [] } } : t));
  function deferredChoices() {
    const calls: { param: string; resolve: (c: Choice[]) => void; reject: (e: Error) => void }[] = [];
    const choices = vi.fn((_task: string, param: string) => new Promise<Choice[]>((resolve, reject) => calls.push({ param, resolve, reject })));
    return { choices: choices as unknown as NonNullable<TaskServiceLike['choices']>, calls };
  }
  const ITEMS: Choice[] = [
    { value: '/var/backups/shop-20261201-0300.dump', label: 'shop-20261201-0300.dump: 32 MB, 1 day old' },
    { value: '/var/backups/shop-20261202-0300.dump', label: 'shop-20261202-0300.dump: 33 MB, 2 hours old' },
  ];

  test('the list is read when the field is focused; ↑↓ fill the field with the item; Enter plans it', async () => {
    const c = deferredChoices();
    const service = fakeService({ tasks, choices: c.choices });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'restore');
    expect(c.calls.map((x) => x.param)).toEqual(['file']);
    expect(d.frame()).toContain('reading the files to choose from…');
    await act(async () => c.calls[0].resolve(ITEMS));
    expect(d.frame()).toContain('to choose from (↑↓), 2:');
    expect(d.frame()).toContain('shop-20261202-0300.dump: 33 MB, 2 hours old');
    expect(d.frame()).toContain('↑↓ pick');
    await d.press(KEY.down);
    await d.press(KEY.down);
    expect(d.frame()).toMatch(/▶ file .*: \/var\/backups\/shop-20261202-0300\.dump█/);
    expect(d.frame()).toMatch(/▶ shop-20261202-0300\.dump/);
    await d.press(KEY.up);
    expect(d.frame()).toMatch(/▶ file .*: \/var\/backups\/shop-20261201-0300\.dump█/);
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Plan · restore/);
    fits(d);
  });

  test('a list that cannot be read says so, and the field is still typed', async () => {
    const c = deferredChoices();
    const service = fakeService({ tasks, choices: c.choices });
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'restore');
    await act(async () => c.calls[0].reject(new Error('connection refused')));
    expect(d.frame()).toContain('! no list to choose from: connection refused');
    expect(d.frame()).not.toContain('↑↓ pick');
    await d.press('x.dump');
    expect(d.frame()).toMatch(/▶ file .*: x\.dump█/);
  });
});
