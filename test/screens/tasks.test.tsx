// The task screens inside the console: task list, parameter form, plan and confirmation, the run
// with its live output, the rollback prompt, and the history. Fixed data from a fake
// TaskServiceLike and scriptable fake runners; every render and key press inside act(), no sleeps.
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';

// Ink colours through chalk, which turns itself off without a terminal: force it on before ink
// loads, so "no colour" below is a property of the screens.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

import { cleanup } from 'ink-testing-library';
import { healthyState, unhealthyState } from '../support/fixtures';
import { DROP_SLOT_TASK, fakeService, RUNS, TASKS, TERMINATE_TASK, type FakeService } from '../support/fake-tasks';
import { KEY, renderApp, widthOf, type Rendered } from './render';

// eslint-disable-next-line no-control-regex
const COLOUR = /\x1b\[(?:3[0-9]|9[0-7]|4[0-9]|10[0-7])(?:;[0-9]+)*m/;

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

async function open(over: Parameters<typeof fakeService>[0] = {}, props: Parameters<typeof renderApp>[1] = {}) {
  const service = fakeService(over);
  const d = await renderApp(healthyState(), { service, ...props });
  return { d, service };
}

/** Opens the task list and the task with this id (Down until it is selected, then Enter). */
async function openTask(d: Rendered, service: FakeService, id: string) {
  await d.press('t');
  const i = service.tasks().tasks.findIndex((t) => t.id === id);
  for (let k = 0; k < i; k++) await d.press(KEY.down);
  await d.press(KEY.enter);
}

function fits(d: Rendered, columns = 80, rows = 24) {
  const lines = d.raw().split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
}

const selected = (d: Rendered) => d.lines().find((l) => l.startsWith('▶ '));

describe('dashboard → tasks', () => {
  test('a badge (the drill\'s DRILL) heads every screen, not only the dashboard', async () => {
    const d = await renderApp(healthyState({ badge: 'DRILL' }), { service: fakeService() });
    expect(d.lines()[0]).toMatch(/^\[DRILL\] ops /);
    await d.press('t');
    expect(d.lines()[0]).toMatch(/^\[DRILL\] Tasks · /);
    const plain = await renderApp(healthyState(), { service: fakeService() });
    await plain.press('t');
    expect(plain.lines()[0]).toMatch(/^Tasks · /);
  });

  test('t opens the task list, Esc returns to the dashboard', async () => {
    const { d } = await open();
    expect(d.frame()).toContain('t tasks');
    await d.press('t');
    expect(d.lines()[0]).toMatch(/^Tasks · 6 · on postgres:\/\/app:\*\*\*@127\.0\.0\.1:5432\/appdb/);
    expect(d.frame()).not.toContain('Host');
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^ops db-maint-01/);
    expect(d.frame()).toContain('Host');
    // the dashboard's own keys still work after coming back
    await d.press(' ');
    expect(d.monitor.calls.togglePause).toBe(1);
    await d.press('q');
    expect(d.onQuit).toHaveBeenCalledTimes(1);
  });

  test('the help overlay names the task keys', async () => {
    const { d } = await open();
    await d.press('?');
    const help = d.frame();
    expect(help).toMatch(/^ {2}t +tasks/m);
    expect(help).toMatch(/^ {2}h +history/m);
    expect(help).toMatch(/^ {2}u +emergency rollback/m);
    fits(d);
  });

  test('without a task service, t h u do nothing and the footer keeps the old hints', async () => {
    const d = await renderApp(unhealthyState());
    await d.press('thu');
    expect(d.lines()[0]).toMatch(/^ops db-maint-01/);
    expect(d.frame()).toContain('Tab panel');
    expect(d.frame()).not.toContain('t tasks');
  });
});

describe('task list', () => {
  test('risk badges, readable without colour, the selected task described; ↑↓ and Enter', async () => {
    const { d, service } = await open({}, { color: false });
    await d.press('t');
    const f = d.frame();
    for (const b of ['[low]', '[medium]', '[HIGH]', '[CRITICAL]']) expect(f).toContain(b);
    expect(d.lines().find((l) => l.includes('set-setting'))).toMatch(/^ {2}\[HIGH\] +set-setting +Change a server setting/);
    expect(selected(d)).toMatch(/^▶ \[low\] +analyze /);
    expect(f).toContain('ANALYZE VERBOSE the given tables');
    expect(d.raw()).not.toMatch(COLOUR);
    await d.press(KEY.down);
    expect(selected(d)).toMatch(/^▶ \[medium\] +vacuum-analyze /);
    expect(d.frame()).toContain('VACUUM (VERBOSE, ANALYZE) the given tables');
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^vacuum-analyze \[medium\]/);
    expect(d.frame()).toMatch(/▶ tables +\(optional\) : █/);
    expect(service.start).not.toHaveBeenCalled();
    fits(d);
  });

  test('badges are coloured when colour is on', async () => {
    const { d } = await open();
    await d.press('t');
    const line = d.raw().split('\n').find((l) => l.includes('[CRITICAL]'))!;
    expect(line).toContain('\x1b[31m'); // red
    expect(d.raw().split('\n').find((l) => l.includes('[low]'))).toContain('\x1b[32m'); // green
  });
});

describe('parameter form', () => {
  test('one line per parameter with required/optional; Tab moves; typing edits the focused field', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'set-setting');
    expect(d.frame()).toMatch(/▶ name +\(required\) : █/);
    expect(d.frame()).toMatch(/ {2}value +\(required\) :$/m);
    await d.press('work_mem');
    await d.press(KEY.tab);
    await d.press('64MX');
    await d.press(KEY.backspace);
    await d.press('B');
    expect(d.frame()).toMatch(/ {2}name +\(required\) : work_mem$/m);
    expect(d.frame()).toMatch(/▶ value +\(required\) : 64MB█/);
  });

  test('a bad parameter: the one-line error from plan() is shown and the form stays', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'vacuum-analyze');
    await d.press(KEY.tab);
    await d.press('500');
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^vacuum-analyze \[medium\]/);
    expect(d.frame()).toMatch(/^! vacuum-analyze: --param minDeadPct: .*100/m);
    expect(d.frame()).toMatch(/▶ minDeadPct +\(optional\) : 500█/);
    // a missing required one, too
    await d.press(KEY.esc);
    await d.press(KEY.down);
    await d.press(KEY.enter); // set-setting
    await d.press(KEY.enter);
    expect(d.frame()).toMatch(/^! set-setting: --param name: /m);
    expect(d.frame()).toContain('--param value: ');
    expect(service.start).not.toHaveBeenCalled();
    fits(d);
  });
});

describe('plan and confirmation', () => {
  test('the plan shows each step with its exact SQL and its undo', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'set-setting');
    await d.press('work_mem');
    await d.press(KEY.tab);
    await d.press('64MB');
    await d.press(KEY.enter);
    const f = d.frame();
    expect(d.lines()[0]).toMatch(/^Plan · set-setting \[HIGH\] · 3 steps/);
    expect(f).toContain(`run:  ALTER SYSTEM SET work_mem = '64MB'`);
    expect(f).toContain('undo: ALTER SYSTEM RESET work_mem');
    expect(f).toContain('run:  SELECT setting FROM pg_settings WHERE name = $1  -- with "work_mem"');
    expect(f).toContain('undo: nothing to undo');
    expect(f).toMatch(/\[HIGH\] Run set-setting\? \[y\/N\] · on postgres:/);
    fits(d);
  });

  test('an irreversible step is marked, and a low-risk task with one asks y/N', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'purge-archives'); // low risk, no parameters: straight to the plan
    expect(d.frame()).toContain('2. Delete them [IRREVERSIBLE]');
    expect(d.frame()).toContain('undo: IRREVERSIBLE: cannot be undone');
    expect(d.frame()).toMatch(/\[low\] Run purge-archives\? \[y\/N\] · it has an IRREVERSIBLE step/);
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('purge-archives was not run');
  });

  test('low risk: Enter runs it', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'analyze');
    await d.press('public.orders');
    await d.press(KEY.enter);
    expect(d.frame()).toContain('run:  ANALYZE VERBOSE public.orders');
    expect(d.frame()).toContain('Enter runs it');
    await d.press(KEY.enter);
    expect(service.start).toHaveBeenCalledTimes(1);
    expect(service.start).toHaveBeenCalledWith('analyze', { tables: 'public.orders' }, expect.any(AbortSignal));
  });

  test('medium: y/N; Enter and n do not start, y starts the task and parameters shown', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'vacuum-analyze');
    await d.press('public.orders');
    await d.press(KEY.enter);
    expect(d.frame()).toContain('run:  VACUUM (VERBOSE, ANALYZE) public.orders');
    await d.press(KEY.enter); // N is the default
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toMatch(/▶ tables +\(optional\) : public\.orders█/); // back on the form, values kept
    await d.press(KEY.enter);
    await d.press('n');
    expect(service.start).not.toHaveBeenCalled();
    await d.press(KEY.enter);
    // keys that move things on other screens change nothing here; y runs what was shown
    await d.press(`${KEY.down}${KEY.up}x`);
    await d.press('y');
    expect(service.start).toHaveBeenCalledTimes(1);
    expect(service.start).toHaveBeenCalledWith('vacuum-analyze', { tables: 'public.orders' }, expect.any(AbortSignal));
    expect(d.lines()[0]).toMatch(/^Run · vacuum-analyze \[medium\] · running step 1\/2/);
  });

  test('critical: only the exact database name starts it', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'restore');
    await d.press(KEY.enter); // no parameters given
    expect(d.frame()).toContain('type the database name "appdb" to run it: █');
    expect(d.frame()).toContain('run:  pg_restore --clean --if-exists -d appdb /var/backups/app-20250115.dump');
    await d.press('y');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('"y" is not the database name: type appdb exactly');
    await d.press('APPDB');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    await d.press('appd');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    await d.press('appdbx');
    await d.press(KEY.backspace);
    expect(d.frame()).toContain('to run it: appdb█');
    await d.press(KEY.enter);
    expect(service.start).toHaveBeenCalledTimes(1);
    expect(service.start).toHaveBeenCalledWith('restore', {}, expect.any(AbortSignal));
  });

  test('critical with its own confirm word: the plan asks for the slot name, not the database name, and starts only on it', async () => {
    const { d, service } = await open({ tasks: [...TASKS, DROP_SLOT_TASK] });
    await openTask(d, service, 'drop-replication-slot');
    await d.press('stale_slot');
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Plan · drop-replication-slot \[CRITICAL\]/);
    expect(d.frame()).toContain('run:  SELECT pg_drop_replication_slot($1)  -- with "stale_slot"');
    expect(d.frame()).toContain('type the slot name "stale_slot" to run it: █');
    expect(d.frame()).not.toContain('database name');
    // the database name no longer does it
    await d.press('appdb');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('"appdb" is not the slot name: type stale_slot exactly, or Esc');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    expect(d.frame()).toContain('type stale_slot to run it, or Esc');
    await d.press('stale_slo');
    await d.press(KEY.enter);
    expect(service.start).not.toHaveBeenCalled();
    await d.press('stale_slot');
    expect(d.frame()).toContain('to run it: stale_slot█');
    await d.press(KEY.enter);
    expect(service.start).toHaveBeenCalledTimes(1);
    expect(service.start).toHaveBeenCalledWith('drop-replication-slot', { slot: 'stale_slot' }, expect.any(AbortSignal));
  });

  test('Esc goes back from the plan to the form, and from the form to the list', async () => {
    const { d, service } = await open();
    await openTask(d, service, 'backup');
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Plan · backup/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^backup \[medium\]/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Tasks/);
    expect(selected(d)).toMatch(/backup/);
  });

  test('a start that does not come back (a server that does not answer) is given up with Esc: its signal aborts and the plan says nothing ran', async () => {
    const { d, service } = await open();
    let signal: AbortSignal | undefined;
    service.start.mockImplementationOnce(
      (_id: string, _params: Record<string, unknown>, s?: AbortSignal) =>
        new Promise((_resolve, reject) => {
          signal = s;
          s?.addEventListener('abort', () => reject(new Error('analyze: cancelled')));
        }),
    );
    await openTask(d, service, 'analyze');
    await d.press(KEY.enter);
    await d.press(KEY.enter);
    expect(d.frame()).toContain('starting analyze…');
    await d.press('q');
    expect(d.onQuit).not.toHaveBeenCalled();
    expect(d.frame()).toContain('Esc or c gives up');
    await d.press(KEY.esc);
    expect(signal?.aborted).toBe(true);
    expect(d.frame()).toContain('analyze was not started: given up while connecting (nothing ran)');
    expect(d.frame()).not.toContain('starting analyze…');
    expect(d.frame()).not.toContain('q does not quit now');
    expect(d.lines()[0]).toMatch(/^Plan · analyze/);
  });

  test('the notice said while starting is gone once the run has started', async () => {
    const { d, service } = await open();
    let go: (() => void) | undefined;
    const real = service.start.getMockImplementation() as (id: string, params: Record<string, unknown>) => Promise<unknown>;
    service.start.mockImplementationOnce((id: string, params: Record<string, unknown>) => new Promise((resolve) => (go = () => resolve(real(id, params)))));
    await openTask(d, service, 'analyze');
    await d.press(KEY.enter);
    await d.press(KEY.enter);
    await d.press('q');
    expect(d.onQuit).not.toHaveBeenCalled();
    expect(d.frame()).toContain('starting the run… (Esc or c gives up)');
    await act(async () => go!());
    expect(service.last().runner.state.phase).toBe('running');
    expect(d.frame()).not.toContain('starting the run…');
  });

  test('a start refused by the service (the run lock) is shown on the plan', async () => {
    const { d, service } = await open();
    service.start.mockRejectedValueOnce(new Error('another run holds the lock: bob@10.0.0.9, backup, since 10:12'));
    await openTask(d, service, 'analyze');
    await d.press(KEY.enter);
    await d.press(KEY.enter);
    expect(d.frame()).toContain('! another run holds the lock: bob@10.0.0.9, backup, since 10:12');
    expect(d.lines()[0]).toMatch(/^Plan · analyze/);
  });
});

async function startedRun(task = 'backup', props: Parameters<typeof renderApp>[1] = {}) {
  const { d, service } = await open({}, props);
  await openTask(d, service, task);
  await d.press(KEY.enter); // the form, empty
  await d.press(task === 'analyze' ? KEY.enter : 'y'); // low risk: Enter; medium: y
  const h = service.last();
  expect(h).toBeDefined();
  return { d, service, h, runner: h.runner };
}

describe('run screen', () => {
  test('step statuses with marks and the last output lines', async () => {
    const { d, runner } = await startedRun();
    await act(async () => {
      runner.push(['pg_dump: reading schemas', 'pg_dump: dumping contents of table "public.orders"']);
      runner.setStep(0, { status: 'ok', endedAt: (runner.state.steps[0].startedAt ?? 0) + 1200 });
      runner.state.current = 1;
      runner.setStep(1, { status: 'running', startedAt: Date.now() });
    });
    const lines = d.lines();
    expect(lines.find((l) => l.includes('Check the backup directory'))).toMatch(/^✓ 1\. Check the backup directory +1\.2s +ok/);
    expect(lines.find((l) => l.includes('Dump the database'))).toMatch(/^▶ 2\. Dump the database +\d+\.\ds +running/);
    expect(lines.find((l) => l.includes('Verify the archive'))).toMatch(/^· 4\. Verify the archive +pending/);
    expect(d.frame()).toContain('pg_dump: dumping contents of table "public.orders"');
    expect(lines[0]).toMatch(/running step 2\/4/);
  });

  test('200 output lines pushed at once: the newest shown, within rows - 1 lines at 80x24', async () => {
    const { d, runner } = await startedRun();
    await act(async () => {
      runner.push(Array.from({ length: 200 }, (_, i) => `output line ${i + 1} ${'x'.repeat(i % 3 === 0 ? 120 : 10)}`));
    });
    fits(d);
    const f = d.frame();
    expect(f).toContain('output line 200 ');
    expect(f).not.toContain('output line 150 ');
    expect(f).toMatch(/following · lines \d+-200 of 200/);
  });

  test('↑ and PgUp hold the view while output arrives; End follows again', async () => {
    const { d, runner } = await startedRun();
    await act(async () => {
      runner.push(Array.from({ length: 100 }, (_, i) => `L${i + 1}`));
    });
    await d.press(KEY.pageUp);
    const held = d.lines().find((l) => l.startsWith('── output'))!;
    expect(held).toMatch(/held at lines \d+-\d+ of 100 · End follows/);
    expect(d.lines()).not.toContain('L100');
    await act(async () => {
      runner.push(['L101', 'L102']);
    });
    expect(d.lines().find((l) => l.startsWith('── output'))).toBe(held.replace('of 100', 'of 102'));
    await d.press(KEY.up);
    await d.press(KEY.end);
    expect(d.lines()).toContain('L102');
    expect(d.frame()).toMatch(/following · lines \d+-102 of 102/);
    fits(d);
  });

  test('redraws are batched: many runner notifications, at most one redraw per window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      const { d, runner } = await startedRun('backup', { redrawMs: 100 });
      await act(async () => {
        vi.advanceTimersByTime(500); // a quiet spell after the run screen's first frame
      });
      // the first change after a quiet spell redraws at once (with everything pushed so far)
      await act(async () => {
        for (let i = 1; i <= 50; i++) runner.push([`burst ${i}`]);
      });
      expect(d.frame()).toContain('burst 50');
      // changes within the next 100 ms wait for the end of the window, then one redraw has them all
      await act(async () => {
        for (let i = 1; i <= 30; i++) runner.push([`late ${i}`]);
      });
      expect(d.frame()).not.toContain('late 1');
      await act(async () => {
        vi.advanceTimersByTime(99);
      });
      expect(d.frame()).not.toContain('late 1');
      await act(async () => {
        vi.advanceTimersByTime(1);
      });
      expect(d.frame()).toContain('late 30');
    } finally {
      vi.useRealTimers();
    }
  });

  test('c cancels (runner.cancel), the cancel is shown; q does not quit while it runs', async () => {
    const { d, runner } = await startedRun();
    await d.press('q');
    expect(d.onQuit).not.toHaveBeenCalled();
    expect(d.frame()).toContain('a run is in progress: q does not quit; c cancels it');
    await d.press('c');
    expect(runner.cancel).toHaveBeenCalledTimes(1);
    expect(d.lines()[0]).toContain('CANCELLING');
    expect(d.frame()).toContain('cancel sent: SIGINT, then SIGTERM, then SIGKILL');
    expect(d.frame()).toContain('· cancel requested');
  });

  test('Ctrl-C cancels the run instead of quitting', async () => {
    const { d, runner } = await startedRun();
    await d.press(KEY.ctrlC);
    expect(runner.cancel).toHaveBeenCalledTimes(1);
    expect(d.onQuit).not.toHaveBeenCalled();
  });

  test('a run that succeeds is closed (handle.close) and Esc goes back to the list', async () => {
    const { d, h, runner } = await startedRun('analyze');
    await act(async () => {
      runner.setStep(0, { status: 'ok', endedAt: Date.now() });
      runner.setPhase('done', 'succeeded');
    });
    expect(h.close).toHaveBeenCalledTimes(1);
    expect(d.frame()).toContain('the run succeeded');
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^Tasks/);
    await d.press(KEY.esc);
    await d.press('q');
    expect(d.onQuit).toHaveBeenCalledTimes(1);
  });
});

/** A backup run that failed at its last step, after three done: two of them have rollbacks. */
async function failedRun() {
  const r = await startedRun('backup');
  await act(async () => {
    for (let i = 0; i < 3; i++) r.runner.setStep(i, { status: 'ok', endedAt: Date.now() });
    r.runner.setStep(3, { status: 'failed', error: 'pg_restore: error: could not read input file', endedAt: Date.now() });
    r.runner.setPhase('stopped', 'failed');
  });
  return r;
}

describe('rollback prompt', () => {
  test('after a failure: the rollbacks newest first, each with what it runs; nothing chosen yet', async () => {
    const { d } = await failedRun();
    const lines = d.lines();
    expect(lines[0]).toMatch(/^Rollback · backup \[medium\]/);
    expect(d.frame()).toContain('The run failed at "Verify the archive"');
    const checksum = lines.findIndex((l) => l.includes('undo 3. Write the checksum'));
    const dump = lines.findIndex((l) => l.includes('undo 2. Dump the database'));
    expect(checksum).toBeGreaterThan(0);
    expect(dump).toBeGreaterThan(checksum);
    expect(lines[checksum]).toMatch(/^▶ \[ \] undo 3/);
    expect(lines[checksum + 1]).toContain('rm -f /var/backups/postgres/appdb-20250115-103000.dump.sha256');
    expect(lines[dump + 1]).toContain('rm -f /var/backups/postgres/appdb-20250115-103000.dump');
    expect(d.frame()).toContain('0 of 2 chosen');
    fits(d);
  });

  test('space toggles; Enter runs exactly the chosen ids, newest first; then end() and close()', async () => {
    const { d, h, runner } = await failedRun();
    await d.press(KEY.down);
    await d.press(' '); // the dump (older)
    await d.press(KEY.up);
    await d.press(' '); // the checksum (newer)
    await d.press(' ');
    await d.press(' '); // off and on again
    expect(d.frame()).toContain('2 of 2 chosen');
    expect(d.lines().find((l) => l.includes('undo 2.'))).toMatch(/\[x\]/);
    await d.press(KEY.enter);
    expect(runner.rollback).toHaveBeenCalledTimes(1);
    expect(runner.rollback).toHaveBeenCalledWith(['checksum', 'dump']);
    expect(d.lines()[0]).toMatch(/^Rollback · backup .*rolling back/);
    expect(runner.end).not.toHaveBeenCalled();
    await act(async () => {
      runner.push(['↶ undo Write the checksum: rm -f …']);
      runner.finishRollback();
    });
    expect(runner.end).toHaveBeenCalledTimes(1);
    expect(h.close).toHaveBeenCalledTimes(1);
    expect(d.frame()).toContain('the run was rolled back');
    expect(d.lines().find((l) => l.includes('Write the checksum'))).toContain('↶ undone');
  });

  test('only one chosen: only that id', async () => {
    const { d, runner } = await failedRun();
    await d.press(KEY.down);
    await d.press(' ');
    await d.press(KEY.enter);
    expect(runner.rollback).toHaveBeenCalledWith(['dump']);
  });

  test('a chooses all, n none; Enter with none leaves them pending and closes the run', async () => {
    const { d, h, runner } = await failedRun();
    await d.press('a');
    expect(d.frame()).toContain('2 of 2 chosen');
    await d.press('n');
    expect(d.frame()).toContain('0 of 2 chosen');
    await d.press(KEY.enter);
    expect(runner.rollback).not.toHaveBeenCalled();
    expect(runner.end).toHaveBeenCalledTimes(1);
    expect(h.close).toHaveBeenCalledTimes(1);
    expect(d.frame()).toContain('2 rollbacks left');
  });

  test('q does not quit while the prompt is open', async () => {
    const { d } = await failedRun();
    await d.press('q');
    expect(d.onQuit).not.toHaveBeenCalled();
    expect(d.frame()).toContain('answer the rollback prompt first');
  });

  test('after a cancel: offered the same way', async () => {
    const { d, runner } = await startedRun('backup');
    await d.press('c');
    await act(async () => {
      runner.setStep(0, { status: 'ok', endedAt: Date.now() });
      runner.setStep(1, { status: 'ok', endedAt: Date.now() });
      runner.setStep(2, { status: 'cancelled', error: 'cancelled', endedAt: Date.now() });
      runner.setPhase('stopped', 'cancelled');
    });
    expect(d.frame()).toContain('The run was cancelled');
    await d.press('a');
    await d.press(KEY.enter);
    expect(runner.rollback).toHaveBeenCalledWith(['dump']);
  });
});

describe('history', () => {
  test('h lists the runs newest first with outcome and pending rollbacks; Enter shows the log', async () => {
    const { d } = await open();
    await d.press('h');
    const lines = d.lines();
    expect(lines[0]).toMatch(/^History · 3 runs/);
    const rows = RUNS.map((r) => lines.findIndex((l) => l.includes(r.run.slice(0, 24))));
    expect(rows.every((i) => i > 0)).toBe(true);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    expect(lines[rows[0]]).toMatch(/^▶ 20250115-101500-backup-ab12 .*backup +interrupted +2 left/);
    expect(lines[rows[1]]).toMatch(/succeeded +-$/);
    expect(d.frame()).toContain('2 rollbacks not applied: u opens them');
    fits(d);
    await d.press(KEY.down);
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Log · 20250114-220000-vacuum-analyze-cd34 · \[40-60\/60\]/);
    expect(d.frame()).toContain('out log line 60');
    await d.press('g');
    expect(d.frame()).toContain('out log line 1\n');
    fits(d);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^History/);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^ops db-maint-01/);
  });

  test('u on a run with pending rollbacks opens it into the rollback prompt (openForRollback)', async () => {
    const { d, service } = await open();
    await d.press('h');
    await d.press('u');
    expect(service.openForRollback).toHaveBeenCalledWith('20250115-101500-backup-ab12');
    expect(d.lines()[0]).toMatch(/^Rollback · backup/);
    expect(d.frame()).toContain('The run was interrupted');
    const runner = service.last().runner;
    // a past run's undos: all chosen, and y (the confirmation) runs them; Enter alone runs nothing
    expect(d.frame()).toContain('2 of 2 chosen · y runs them');
    await d.press(KEY.enter);
    expect(runner.rollback).not.toHaveBeenCalled();
    await d.press('y');
    expect(runner.rollback).toHaveBeenCalledWith(['checksum', 'dump']);
    await act(async () => {
      runner.finishRollback();
    });
    expect(service.last().close).toHaveBeenCalledTimes(1);
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^History/);
  });

  test('u on a run with nothing to undo says so and opens nothing', async () => {
    const { d, service } = await open();
    await d.press('h');
    await d.press(KEY.down);
    await d.press('u');
    expect(service.openForRollback).not.toHaveBeenCalled();
    expect(d.frame()).toContain('nothing to undo in 20250114-220000-vacuum-analyze-cd34');
  });

  test('u on the dashboard: the emergency rollback session, runs needing attention only', async () => {
    const { d, service } = await open();
    await d.press('u');
    expect(d.lines()[0]).toMatch(/^Emergency rollback · runs needing attention · 2 runs/);
    expect(d.frame()).not.toContain('vacuum-analyze-cd34');
    await d.press(KEY.down);
    await d.press('u');
    expect(service.openForRollback).toHaveBeenCalledWith('20250113-090000-set-setting-ef56');
    expect(d.frame()).toContain('undo 2. ALTER SYSTEM SET');
  });
});

describe('layout and colour', () => {
  test('every task screen fits 80x24 and stays colourless with color=false', async () => {
    const service = fakeService();
    const d = await renderApp(healthyState(), { service, color: false });
    const check = () => {
      fits(d);
      expect(d.raw()).not.toMatch(COLOUR);
    };
    await d.press('t');
    check();
    await d.press(`${KEY.down}${KEY.down}`);
    await d.press(KEY.enter);
    check();
    await d.press(`work_mem${KEY.tab}`);
    await d.press(`${'9'.repeat(200)}`);
    await d.press(KEY.enter);
    check();
    await d.press('y');
    await act(async () => {
      service.last().runner.push(Array.from({ length: 300 }, (_, i) => `\x1b[31mred ${i}\x1b[0m\ttab ${'y'.repeat(i)}`));
    });
    check();
    expect(d.raw()).not.toContain('\x1b[31mred');
    expect(d.frame()).toMatch(/^red 299 tab\s*\ny{80}$/m); // the command's colour escapes dropped, not shown as junk; the line wraps
    await act(async () => {
      const r = service.last().runner;
      r.setStep(0, { status: 'ok' });
      r.setStep(1, { status: 'ok' });
      r.setStep(2, { status: 'failed', error: 'x'.repeat(300) });
      r.setPhase('stopped', 'failed');
    });
    check();
    expect(d.frame()).toContain('[ ] undo 2. ALTER SYSTEM SET');
    await d.press(KEY.esc);
    check();
    await d.press(KEY.esc);
    await d.press(KEY.esc);
    await d.press('h');
    check();
    await d.press(KEY.enter);
    check();
  });

  test('a small terminal (60x12): still within rows - 1 and the width', async () => {
    const { d, service } = await open({}, { columns: 60, rows: 12 });
    await openTask(d, service, 'backup');
    await d.press(KEY.enter);
    fits(d, 60, 12);
    await d.press(`${KEY.pageDown}${KEY.pageDown}`);
    fits(d, 60, 12);
    expect(d.frame()).toMatch(/\[medium\] Run backup/);
    await d.press('y');
    await act(async () => {
      service.last().runner.push(Array.from({ length: 50 }, (_, i) => `line ${i}`));
    });
    fits(d, 60, 12);
  });
});

describe('f: from a finding to the task that fixes it', () => {
  test('f on the focused Tables panel opens the plan of vacuum-analyze bound to the worst table, and runs nothing yet', async () => {
    const service = fakeService();
    const d2 = await renderApp(unhealthyState(), { service, columns: 120, rows: 40 });
    for (let i = 0; i < 6 && !/▶ Tables/.test(d2.frame()); i++) await d2.press(KEY.tab);
    expect(d2.frame()).toMatch(/▶ Tables/);
    await d2.press('f');
    expect(d2.lines()[0]).toMatch(/^Plan · vacuum-analyze/);
    expect(d2.frame()).toContain('VACUUM (VERBOSE, ANALYZE) public.orders');
    expect(service.start).not.toHaveBeenCalled();
    await d2.press('y');
    expect(service.start).toHaveBeenCalledWith('vacuum-analyze', { tables: ['public.orders'] }, expect.any(AbortSignal));
  });

  test('f where nothing has a fix says so and opens nothing', async () => {
    const service = fakeService();
    const d = await renderApp(healthyState(), { service });
    await d.press('f');
    expect(d.frame()).toMatch(/no finding in .* that a built-in task fixes/);
    expect(d.lines()[0]).not.toMatch(/^Plan/);
  });

  test('the help names f', async () => {
    const d = await renderApp(healthyState(), { service: fakeService() });
    await d.press('?');
    expect(d.frame()).toMatch(/f +fix: the plan of the task/);
  });
});

describe('Sessions panel → terminate', () => {
  test('x on the focused Sessions panel opens the plan bound to the marked row\'s pid, and runs nothing yet', async () => {
    const service = fakeService({ tasks: [...fakeService().tasks().tasks, TERMINATE_TASK] });
    const d = await renderApp(unhealthyState(), { service, columns: 120, rows: 40 });
    expect(d.frame()).not.toContain('▸');
    for (let i = 0; i < 6 && !/▶ Sessions/.test(d.frame()); i++) await d.press(KEY.tab);
    expect(d.frame()).toMatch(/▶ Sessions/);
    expect(d.frame()).toMatch(/▸ pid 4242 blocked by 4141/);
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    expect(d.frame()).toContain('pg_terminate_backend(4242)');
    expect(service.start).not.toHaveBeenCalled();
    await d.press('y');
    expect(service.start).toHaveBeenCalledWith('terminate-sessions', { pids: [4242] }, expect.any(AbortSignal));
  });

  test('↓ moves the mark to another row even when every row fits, and x is bound to that row\'s pid', async () => {
    const service = fakeService({ tasks: [...fakeService().tasks().tasks, TERMINATE_TASK] });
    const d = await renderApp(unhealthyState(), { service, columns: 120, rows: 40 });
    for (let i = 0; i < 6 && !/▶ Sessions/.test(d.frame()); i++) await d.press(KEY.tab);
    const rows = d.frame().match(/(▸|!{1,2}) +pid \d+/g) ?? [];
    expect(rows.length).toBe(3); // all of them shown: nothing to scroll
    expect(d.frame()).toMatch(/▸ pid 4242 /);
    await d.press(KEY.down);
    await d.press(KEY.down);
    const marked = d.frame().match(/▸ pid (\d+)/g) ?? [];
    expect(marked).toHaveLength(1);
    const pid = Number(/pid (\d+)/.exec(marked[0] ?? '')?.[1]);
    expect(pid).toBe(5151); // the third row: the idle-in-transaction session
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^Plan · terminate-sessions/);
    expect(d.frame()).toContain(`pg_terminate_backend(${pid})`);
    // opened from the dashboard, Esc goes back there (not to the task list)
    await d.press(KEY.esc);
    expect(d.lines()[0]).toMatch(/^ops /);
  });

  test('c and x do nothing unless the Sessions panel has the focus', async () => {
    const service = fakeService({ tasks: [...fakeService().tasks().tasks, TERMINATE_TASK] });
    const d = await renderApp(unhealthyState(), { service, columns: 120, rows: 40 });
    await d.press('x');
    expect(d.lines()[0]).toMatch(/^ops /);
  });
});
