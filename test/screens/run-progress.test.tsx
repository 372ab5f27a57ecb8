// The run screen's live progress (issue 13 §2, §3): a bar with percent, elapsed time and ETA from
// fixed progress rows, the lock-wait line naming the session that holds the lock, and `o`
// opening that session in the sessions view (Esc comes back to the run). Fake runner; every
// render and key press inside act(), no sleeps.
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { healthyState } from '../support/fixtures';
import { fakeService } from '../support/fake-tasks';
import type { StepProgress } from '../../src/tasks/progress';
import { KEY, renderApp, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

async function runningVacuum(progress: StepProgress) {
  const service = fakeService({});
  const d = await renderApp(healthyState(), { service, columns: 80, rows: 24 });
  await d.press('t');
  const i = service.tasks().tasks.findIndex((t) => t.id === 'vacuum-analyze');
  for (let k = 0; k < i; k++) await d.press(KEY.down);
  await d.press(KEY.enter); // the form
  await d.press(KEY.enter); // the plan
  await d.press('y');
  const runner = service.last().runner;
  await act(async () => {
    runner.setStep(0, { status: 'ok', startedAt: Date.now() - 20_000, endedAt: Date.now() - 10_000 });
    runner.state.current = 1;
    runner.setStep(1, { status: 'running', startedAt: Date.now() - 10_000, progress });
  });
  return { d, runner };
}

const vacuumRow = (over: Partial<StepProgress> = {}): StepProgress => ({
  source: 'vacuum',
  phase: 'scanning heap',
  done: 250,
  total: 1000,
  unit: 'blocks',
  extra: ['1 index pass'],
  at: Date.now(),
  waitingFor: null,
  ...over,
});

describe('run screen progress', () => {
  test('a bar with percent, elapsed time and ETA from fixed progress rows, at 80 columns', async () => {
    const { d } = await runningVacuum(vacuumRow());
    const lines = d.lines();
    const bar = lines.find((l) => l.includes('█'));
    expect(bar).toBeDefined();
    expect(bar).toMatch(/\[█+░+\] 25% · 1\ds elapsed · ETA (29|3\d)s/);
    expect(d.frame()).toContain('vacuum · scanning heap · 250 of 1,000 blocks · 1 index pass');
    for (const l of d.raw().split('\n')) expect(widthOf(l)).toBeLessThanOrEqual(80);
  });

  test('the lock-wait line names pid, user, state and query head; o opens that session, Esc comes back', async () => {
    const holder = { pid: 4242, user: 'alice', state: 'idle in transaction', query: 'UPDATE orders SET status = 1 WHERE id = 7' };
    const { d } = await runningVacuum(vacuumRow({ source: 'create index', phase: 'waiting for old snapshots', done: null, total: null, extra: [], waitingFor: holder }));
    expect(d.lines().join(' ').replace(/\s+/g, ' ')).toContain('waiting for a lock held by pid 4242 (alice, idle in transaction, UPDATE orders SET status = 1 WHERE id = 7)');
    expect(d.frame()).toContain('o open the blocking session');
    await d.press('o');
    expect(d.lines()[0]).not.toMatch(/^Run/);
    expect(d.frame()).toMatch(/Sessions/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Run/);
  });

  test('no lock wait: no o hint, and o does not leave the run', async () => {
    const { d } = await runningVacuum(vacuumRow());
    expect(d.frame()).not.toContain('o open the blocking session');
    await d.press('o');
    expect(d.lines()[0]).toMatch(/^Run/);
  });
});
