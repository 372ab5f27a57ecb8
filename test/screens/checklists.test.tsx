// The checklist walkthrough screen inside the console: progress, confirming, skipping with a
// reason, required steps, typed and blocking gates, and the step list's scrolling at 80x24.
// A ChecklistServiceLike built here from the real Walkthrough and a real checklist journal in a
// temporary directory (no database); checklists parsed from inline YAML. Every render and key
// press inside act(), no sleeps.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, render } from 'ink-testing-library';
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { App, type AppProps } from '../../screens/App';
import { parseChecklist, type Checklist } from '../../src/checklists/model';
import type { ChecklistServiceLike, Health } from '../../src/checklists/service';
import { checklistJournal, CHECKLIST_JOURNAL, Walkthrough, type WalkOutcome } from '../../src/checklists/walkthrough';
import { WEEKDAYS, type MaintenanceWindow } from '../../src/config/schema';
import type { Journal, Operator } from '../../src/journal';
import type { MonitorState } from '../../src/types';
import { FIXED_AT, fixedMonitor, healthyState, unhealthyState, type FixedMonitor } from '../support/fixtures';
import { KEY, stripAnsi, widthOf } from './render';
import { BUILTIN_TASKS } from '../../tasks/index';
import { fakeService } from '../support/fake-tasks';

// ---------------------------------------------------------------- a checklist service without a database

const WINDOW: MaintenanceWindow = { days: [...WEEKDAYS], start: '02:00', end: '04:00', timezone: 'UTC' };

const OPERATOR: Operator = { user: 'alice', sudoUser: null, sshClient: '10.9.8.7', tty: '/dev/pts/3', host: 'maint-01', pid: process.pid };
/** formatOperator(OPERATOR): who every outcome is recorded as */
const BY = 'alice@10.9.8.7';

/** 2025-01-15 (a Wednesday) 03:00 UTC: inside the 02:00–04:00 window. FIXED_AT (10:30 UTC) is outside it. */
const INSIDE = Date.UTC(2025, 0, 15, 3, 0, 0);

interface TestService extends ChecklistServiceLike {
  dir: string;
  journal: Journal;
  /** the walkthroughs begun, oldest first */
  walks: Walkthrough[];
  finished: { run: string; outcome: WalkOutcome }[];
  /** the journal file's events, in order */
  events(): Record<string, unknown>[];
}

const dirs: string[] = [];
const journals: Journal[] = [];

function parse(yaml: string, dir: string): Checklist {
  const r = parseChecklist(yaml, join(dir, 'test.yaml'), []);
  if ('error' in r) throw new Error(r.error);
  return r.checklist;
}

function testService(...yamls: string[]): TestService {
  const dir = mkdtempSync(join(tmpdir(), 'ops-checklists-'));
  dirs.push(dir);
  const journal = checklistJournal(dir);
  journals.push(journal);
  const lists = yamls.map((y) => parse(y, dir));
  const walks: Walkthrough[] = [];
  const finished: TestService['finished'] = [];
  return {
    dir,
    journal,
    walks,
    finished,
    events: () =>
      readFileSync(join(dir, CHECKLIST_JOURNAL), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    checklists: () => ({ checklists: lists, errors: [] }),
    unfinished: () => [],
    begin(id: string, health: Health) {
      const checklist = lists.find((c) => c.id === id);
      if (!checklist) throw new Error(`unknown checklist "${id}"`);
      const w = Walkthrough.begin({ checklist, journal, target: 'postgres://t', operator: OPERATOR, window: WINDOW }, health);
      walks.push(w);
      return w;
    },
    resume(runPrefix: string) {
      const w = Walkthrough.resume({ journal, target: 'postgres://t', operator: OPERATOR, window: WINDOW, checklists: lists }, runPrefix);
      walks.push(w);
      return w;
    },
    live: (health: Health, now = new Date()) => ({ snapshot: health.snapshot, report: health.report, now, window: WINDOW }),
    taskOutcome: () => null,
    finish(w: Walkthrough, outcome: WalkOutcome, health: Health | null) {
      w.end(outcome, health);
      finished.push({ run: w.run, outcome });
      return join(dir, 'reports', `${w.run}.md`);
    },
  };
}

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
  for (const j of journals.splice(0)) j.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------- rendering

interface Screen {
  monitor: FixedMonitor;
  svc: TestService;
  frame(): string;
  lines(): string[];
  /** every frame written so far, escapes removed */
  frames(): string[];
  press(chunk: string): Promise<void>;
  /** the walkthrough the screen drives */
  walk(): Walkthrough;
}

async function openWalk(svc: TestService, checklist: string, opts: { state?: MonitorState; now?: () => number } & Partial<AppProps> = {}): Promise<Screen> {
  const { state = healthyState(), ...props } = opts;
  const monitor = fixedMonitor(state);
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(
      <App monitor={monitor} checklists={svc} walk={{ begin: checklist }} onQuit={vi.fn()} columns={80} rows={24} color={false} redrawMs={0} tickMs={0} {...props} />,
    );
  });
  const frame = () => stripAnsi(r.lastFrame() ?? '');
  const s: Screen = {
    monitor,
    svc,
    frame,
    lines: () => frame().split('\n'),
    frames: () => r.frames.map(stripAnsi),
    press: async (chunk) => {
      await act(async () => {
        r.stdin.write(chunk);
      });
    },
    walk: () => {
      expect(svc.walks).toHaveLength(1);
      return svc.walks[0];
    },
  };
  await until(s, () => /\d+\/\d+ steps/.test(frame()), 'the walkthrough begun');
  return s;
}

/** Flushes React and Ink (inside act) until the frame satisfies `ok`; bounded, no timers. */
async function until(s: Pick<Screen, 'frame'>, ok: () => boolean, what: string, tries = 20): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await act(async () => {
      await Promise.resolve();
    });
  }
  throw new Error(`never saw ${what}; the last frame:\n${s.frame()}`);
}

/** The list row of step `n` (1-based): "▶> 2 Title … now", " ✓  1 Title … confirmed". */
const row = (s: Screen, n: number, title: string) => s.lines().find((l) => new RegExp(`^[▶ ].\\s+${n} ${title}`).test(l));

const stepEvents = (s: Screen) => s.svc.events().filter((e) => e.type === 'cl.step');

function fits(frame: string, columns = 80, rows = 24) {
  const lines = frame.split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
}

// ---------------------------------------------------------------- checklists

const THREE = `
id: three
title: Three confirmations
steps:
  - id: drain
    kind: confirm
    title: Drain the application servers
  - id: announce
    kind: confirm
    title: Announce the maintenance
  - id: page
    kind: confirm
    title: Put up the maintenance page
`;

const SKIPPABLE = `
id: skippable
title: Skippable steps
steps:
  - id: ticket
    kind: confirm
    title: Open a change ticket
  - id: notify
    kind: confirm
    title: Notify the on-call engineer
  - id: last
    kind: confirm
    title: Last step
`;

const REQUIRED = `
id: required
title: A required step
steps:
  - id: backup
    kind: confirm
    title: Take a fresh backup
    required: true
  - id: after
    kind: confirm
    title: Afterwards
`;

const WARN_GATE = `
id: warn-gate
title: Warn gate
steps:
  - id: window
    kind: gate
    title: Inside the maintenance window
    condition: { inWindow: true }
    onFail: warn
  - id: after
    kind: confirm
    title: Stop the batch jobs
`;

const BLOCK_GATE = `
id: block-gate
title: Block gate
steps:
  - id: window
    kind: gate
    title: Inside the maintenance window
    condition: { inWindow: true }
    onFail: block
  - id: after
    kind: confirm
    title: Stop the batch jobs
`;

const LONG = `
id: long
title: Thirty steps
steps:
${Array.from({ length: 30 }, (_, i) => `  - id: s${i + 1}\n    kind: confirm\n    title: Long step number ${i + 1}\n`).join('')}`;

// ---------------------------------------------------------------- tests

describe('walkthrough screen', () => {
  test('progress: 0/3 steps, Enter confirms the current step, journaled with the operator; the last completes it', async () => {
    const svc = testService(THREE);
    const s = await openWalk(svc, 'three');
    expect(s.lines()[0]).toBe("Checklist · Three confirmations · on postgres://app:***@127.0.0.1:5432/app");
    expect(s.frame()).toMatch(/\] 0\/3 steps · \d{8}-\S+$/m);
    expect(row(s, 1, 'Drain the application servers')).toMatch(/^▶>\s+1 Drain the application servers +now$/);
    expect(s.frame()).toContain('Enter confirms it is done');
    const w = s.walk();
    expect(w.current).toBe(0);
    expect(svc.events().find((e) => e.type === 'cl.start')?.operator).toEqual(OPERATOR);

    await s.press(KEY.enter);
    await until(s, () => /\] 1\/3 steps · \d{8}-\S+$/m.test(s.frame()), '1/3 steps');
    expect(row(s, 1, 'Drain the application servers')).toMatch(/^ ✓\s+1 Drain the application servers +confirmed$/);
    expect(row(s, 2, 'Announce the maintenance')).toMatch(/^▶>\s+2 Announce the maintenance +now$/);
    // the walkthrough and the journal file agree: confirmed, by the operator
    expect(w.current).toBe(1);
    expect(w.state.steps[0]).toMatchObject({ id: 'drain', status: 'confirmed', by: BY });
    expect(w.state.steps[1].status).toBe('open');
    const ev = stepEvents(s);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ run: w.run, step: 'drain', index: 0, outcome: 'confirmed', by: BY });

    await s.press(KEY.enter);
    await until(s, () => /\] 2\/3 steps · \d{8}-\S+$/m.test(s.frame()), '2/3 steps');
    await s.press(KEY.enter);
    await until(s, () => s.frame().includes('Walkthrough completed.'), 'the walkthrough completed');
    expect(s.frame()).toMatch(/\] 3\/3 steps · \d{8}-\S+$/m);
    expect(s.frame()).toContain(`Report: ${join(svc.dir, 'reports', `${w.run}.md`)}`);
    expect(svc.finished).toEqual([{ run: w.run, outcome: 'completed' }]);
    expect(stepEvents(s).map((e) => [e.step, e.outcome, e.by])).toEqual([
      ['drain', 'confirmed', BY],
      ['announce', 'confirmed', BY],
      ['page', 'confirmed', BY],
    ]);
    expect(svc.events().at(-1)).toMatchObject({ type: 'cl.end', outcome: 'completed', by: BY });
    fits(s.frame());
  });

  test('s skips a step with the typed reason; an empty reason is refused and the step stays open', async () => {
    const svc = testService(SKIPPABLE);
    const s = await openWalk(svc, 'skippable');
    const w = s.walk();

    await s.press('s');
    expect(s.frame()).toMatch(/^Reason for skipping: ▏$/m);
    expect(s.frame()).toContain('Enter save · Esc cancel');
    await s.press('ticket filed by the change board');
    expect(s.frame()).toMatch(/^Reason for skipping: ticket filed by the change board▏$/m);
    // nothing is recorded while typing
    expect(stepEvents(s)).toHaveLength(0);
    await s.press(KEY.enter);
    await until(s, () => /\] 1\/3 steps · 1 skipped · \d{8}-\S+$/m.test(s.frame()), '1/3 steps · 1 skipped');
    expect(row(s, 1, 'Open a change ticket')).toMatch(/^ ↷\s+1 Open a change ticket +skipped$/);
    expect(row(s, 2, 'Notify the on-call engineer')).toMatch(/ now$/);
    expect(w.state.steps[0]).toMatchObject({ status: 'skipped', reason: 'ticket filed by the change board', by: BY });
    expect(stepEvents(s)).toEqual([expect.objectContaining({ step: 'ticket', outcome: 'skipped', reason: 'ticket filed by the change board', by: BY })]);

    // an empty reason (and one of blanks) is refused: the error line, the prompt still open
    await s.press('s');
    expect(s.frame()).toMatch(/^Reason for skipping: ▏$/m);
    await s.press(KEY.enter);
    await until(s, () => s.frame().includes('! skipping a step needs a reason'), 'the empty-reason error');
    expect(s.frame()).toMatch(/^Reason for skipping: ▏$/m);
    await s.press('   ');
    await s.press(KEY.enter);
    expect(s.frame()).toContain('! skipping a step needs a reason');
    expect(s.frame()).toMatch(/\] 1\/3 steps · 1 skipped · \d{8}-\S+$/m);
    expect(row(s, 2, 'Notify the on-call engineer')).toMatch(/^▶>\s+2 Notify the on-call engineer +now$/);
    expect(w.current).toBe(1);
    expect(w.state.steps[1].status).toBe('open');
    expect(stepEvents(s)).toHaveLength(1);

    // Esc cancels the prompt; the step is still there to confirm
    await s.press(KEY.esc);
    expect(s.frame()).not.toContain('Reason for skipping');
    expect(s.frame()).not.toContain('! skipping a step needs a reason');
    await s.press(KEY.enter);
    await until(s, () => /\] 2\/3 steps · 1 skipped · \d{8}-\S+$/m.test(s.frame()), '2/3 steps');
    expect(w.state.steps[1]).toMatchObject({ status: 'confirmed', by: BY });
  });

  test('a required step cannot be skipped: s shows the error and the step stays open', async () => {
    const svc = testService(REQUIRED);
    const s = await openWalk(svc, 'required');
    const w = s.walk();
    expect(s.frame()).toMatch(/^Step 1 of 2 · confirm · required$/m);

    await s.press('s');
    await until(s, () => s.frame().includes('is required'), 'the required-step error');
    expect(s.frame()).toMatch(/^! "Take a fresh backup" is required: it cannot be skipped$/m);
    expect(s.frame()).not.toContain('Reason for skipping');
    expect(w.current).toBe(0);
    expect(w.state.steps[0].status).toBe('open');
    expect(row(s, 1, 'Take a fresh backup')).toMatch(/^▶>\s+1 Take a fresh backup +now$/);
    expect(s.frame()).toMatch(/\] 0\/2 steps · \d{8}-\S+$/m);
    expect(stepEvents(s)).toHaveLength(0);

    // nor with a "reason" typed after it: no prompt opened, so those keys are not one
    await s.press('soops');
    expect(s.frame()).not.toContain('Reason for skipping');
    expect(stepEvents(s).filter((e) => e.outcome === 'skipped')).toHaveLength(0);

    await s.press(KEY.enter);
    await until(s, () => /\] 1\/2 steps · \d{8}-\S+$/m.test(s.frame()), '1/2 steps');
    expect(w.state.steps[0]).toMatchObject({ status: 'confirmed', by: BY });
    expect(stepEvents(s).map((e) => e.outcome)).toEqual(['confirmed']);
  });

  test('a failed warn gate: Enter asks for a typed yes; "no" does not pass, "yes" records it as overridden', async () => {
    const svc = testService(WARN_GATE);
    const s = await openWalk(svc, 'warn-gate', { now: () => FIXED_AT });
    const w = s.walk();
    expect(s.frame()).toMatch(/^Step 1 of 2 · gate \(warn on failure\)$/m);
    expect(s.frame()).toContain('Passes when: inside the maintenance window');
    expect(s.frame()).toMatch(/^Now: outside the window \(now Wed 10:30 UTC; window 02:00–04:00 UTC, every day\)$/m);
    expect(s.frame()).toContain('This gate failed. Enter, then type yes, to go on anyway');
    expect(w.state.steps[0].status).toBe('open');

    // a gate is never skipped
    await s.press('s');
    expect(s.frame()).toContain('! a gate is not skipped');
    expect(s.frame()).not.toContain('Reason for skipping');

    await s.press(KEY.enter);
    expect(s.frame()).toMatch(/^Type yes to go on anyway: ▏$/m);
    await s.press('no');
    expect(s.frame()).toMatch(/^Type yes to go on anyway: no▏$/m);
    await s.press(KEY.enter);
    await until(s, () => s.frame().includes('is not yes'), 'the not-yes error');
    expect(s.frame()).toMatch(/^! "no" is not yes: type yes to go on past the failed gate, or Esc$/m);
    expect(s.frame()).toMatch(/^Type yes to go on anyway: ▏$/m);
    expect(w.current).toBe(0);
    expect(w.state.steps[0].status).toBe('open');
    expect(s.frame()).toMatch(/\] 0\/2 steps · \d{8}-\S+$/m);
    expect(stepEvents(s)).toHaveLength(0);

    await s.press('yes');
    await s.press(KEY.enter);
    await until(s, () => /\] 1\/2 steps · \d{8}-\S+$/m.test(s.frame()), '1/2 steps');
    expect(row(s, 1, 'Inside the maintenance window')).toMatch(/^ !\s+1 Inside the maintenance window +overridden outside the wind/);
    expect(row(s, 2, 'Stop the batch jobs')).toMatch(/ now$/);
    expect(w.current).toBe(1);
    expect(w.state.steps[0]).toMatchObject({ status: 'overridden', by: BY });
    expect(w.state.steps[0].value).toMatch(/^outside the window \(now Wed 10:30 UTC/);
    expect(w.state.steps[0].notes.map((n) => n.text)).toEqual(['operator typed yes']);
    expect(stepEvents(s)).toEqual([expect.objectContaining({ step: 'window', outcome: 'overridden', note: 'operator typed yes', by: BY })]);
  });

  test('the same gate passes by itself when now is inside the window', async () => {
    const svc = testService(WARN_GATE);
    const s = await openWalk(svc, 'warn-gate', { now: () => INSIDE });
    const w = s.walk();
    await until(s, () => /\] 1\/2 steps · \d{8}-\S+$/m.test(s.frame()), '1/2 steps');
    expect(row(s, 1, 'Inside the maintenance window')).toMatch(/^ ✓\s+1 Inside the maintenance window +passed inside the window/);
    expect(s.frame()).not.toContain('This gate failed');
    expect(w.state.steps[0].status).toBe('passed');
    expect(w.current).toBe(1);
  });

  test('a failed block gate: Enter (or a typed yes) does not get past it; it passes once the window opens', async () => {
    const svc = testService(BLOCK_GATE);
    let now = FIXED_AT;
    const s = await openWalk(svc, 'block-gate', { now: () => now, state: unhealthyState() });
    const w = s.walk();
    expect(s.frame()).toMatch(/^Step 1 of 2 · gate \(block on failure\)$/m);
    expect(s.frame()).toContain('BLOCKED: this must pass to go on');

    await s.press(KEY.enter);
    await until(s, () => s.frame().includes('! blocked: the gate must pass first'), 'the blocked error');
    expect(s.frame()).not.toContain('Type yes');
    await s.press('yes');
    await s.press(KEY.enter);
    await s.press(KEY.enter);
    expect(s.frame()).not.toContain('Type yes');
    expect(s.frame()).toContain('! blocked: the gate must pass first');
    expect(w.current).toBe(0);
    expect(w.state.steps[0].status).toBe('open');
    expect(w.state.steps[1].status).toBe('open');
    expect(w.ended).toBe(false);
    expect(s.frame()).toMatch(/\] 0\/2 steps · \d{8}-\S+$/m);
    expect(row(s, 1, 'Inside the maintenance window')).toMatch(/ now$/);
    expect(stepEvents(s)).toHaveLength(0);
    expect(svc.finished).toEqual([]);

    // the next health round, inside the window: it re-checks and passes
    now = INSIDE;
    await act(async () => {
      s.monitor.set(unhealthyState());
    });
    await until(s, () => /\] 1\/2 steps · \d{8}-\S+$/m.test(s.frame()), 'the gate passed');
    expect(w.state.steps[0].status).toBe('passed');
    expect(row(s, 2, 'Stop the batch jobs')).toMatch(/ now$/);
  });

  test('x at a failed block gate ends the walkthrough blocked, the gate recorded as BLOCKED with what was seen', async () => {
    const svc = testService(BLOCK_GATE);
    const s = await openWalk(svc, 'block-gate', { now: () => FIXED_AT });
    const w = s.walk();
    await s.press('x');
    await until(s, () => s.frame().includes('Walkthrough blocked.'), 'the walkthrough blocked');
    expect(svc.finished).toEqual([{ run: w.run, outcome: 'blocked' }]);
    expect(w.ended).toBe(true);
    expect(w.state.outcome).toBe('blocked');
    // the journal says which gate stopped it and why (as `ops checklist run` records it)
    expect(w.state.steps[0]).toMatchObject({ status: 'blocked', by: BY });
    expect(w.state.steps[0].value).toMatch(/^outside the window \(now Wed 10:30 UTC/);
    expect(w.state.steps[1].status).toBe('open');
    expect(stepEvents(s)).toEqual([expect.objectContaining({ step: 'window', outcome: 'blocked' })]);
    expect(row(s, 1, 'Inside the maintenance window')).toMatch(/^▶✗\s+1 Inside the maintenance window +BLOCKED outside the wind/);
    expect(s.frame()).toMatch(/\] 0\/2 steps · \d{8}-\S+$/m);
    expect(s.frame()).toContain(`Report: ${join(svc.dir, 'reports', `${w.run}.md`)}`);
  });

  test('30 steps at 80x24: the current step\'s row stays in view, no frame over 23 lines', async () => {
    const svc = testService(LONG);
    const s = await openWalk(svc, 'long');
    const w = s.walk();
    expect(s.frame()).toMatch(/\] 0\/30 steps · \d{8}-\S+$/m);
    for (let i = 1; i <= 20; i++) {
      await s.press(KEY.enter);
      await until(s, () => new RegExp(`\\] ${i}/30 steps · \\d{8}-\\S+$`, 'm').test(s.frame()), `${i}/30 steps`);
      expect(row(s, i + 1, `Long step number ${i + 1}`)).toMatch(new RegExp(`^▶>\\s+${i + 1} Long step number ${i + 1} +now$`));
      fits(s.frame());
    }
    expect(w.current).toBe(20);
    expect(w.state.steps.slice(0, 20).every((x) => x.status === 'confirmed' && x.by === BY)).toBe(true);
    // scrolled: the first steps are out of view, the one before the current is in view
    expect(row(s, 1, 'Long step number 1')).toBeUndefined();
    expect(row(s, 20, 'Long step number 20')).toMatch(/confirmed$/);
    expect(s.lines().filter((l) => / now$/.test(l))).toHaveLength(1);
    const frames = s.frames();
    expect(frames.length).toBeGreaterThan(20);
    for (const f of frames) fits(f);
  });
});

describe('a task step whose run was interrupted', () => {
  test('on resume it shows that run\'s recorded outcome, and Enter offers the task again (its plan)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-checklists-'));
    dirs.push(dir);
    const journal = checklistJournal(dir);
    journals.push(journal);
    const r = parseChecklist(
      'id: with-task\ntitle: With a task\nsteps:\n  - { id: stats, kind: task, title: Refresh statistics, task: analyze }\n  - { id: after, kind: confirm, title: Afterwards }\n',
      join(dir, 'with-task.yaml'),
      BUILTIN_TASKS,
    );
    if ('error' in r) throw new Error(r.error);
    const checklist = r.checklist;
    const state = healthyState();
    const first = Walkthrough.begin({ checklist, journal, target: 'postgres://t', operator: OPERATOR, window: WINDOW }, state);
    first.record(0, 'started', { taskRun: '20261201-030000-analyze-beef' });
    const outcomes: Record<string, string> = { '20261201-030000-analyze-beef': 'interrupted' };
    const svc: ChecklistServiceLike = {
      checklists: () => ({ checklists: [checklist], errors: [] }),
      unfinished: () => [],
      begin: () => {
        throw new Error('not here');
      },
      resume: (id) => Walkthrough.resume({ journal, target: 'postgres://t', operator: OPERATOR, window: WINDOW, checklists: [checklist] }, id),
      live: (health, now = new Date()) => ({ snapshot: health.snapshot, report: health.report, now, window: WINDOW }),
      taskOutcome: (run) => outcomes[run] ?? null,
      finish: () => join(dir, 'report.md'),
    };
    const tasks = fakeService({ tasks: BUILTIN_TASKS });
    let rr!: ReturnType<typeof render>;
    await act(async () => {
      rr = render(<App monitor={fixedMonitor(state)} service={tasks} checklists={svc} walk={{ resume: first.run }} onQuit={vi.fn()} columns={80} rows={24} color={false} redrawMs={0} tickMs={0} />);
    });
    const frame = () => stripAnsi(rr.lastFrame() ?? '');
    await until({ frame }, () => frame().includes('ended interrupted'), 'the recorded outcome');
    expect(frame()).toContain('Its run 20261201-030000-analyze-beef ended interrupted.');
    expect(frame()).toMatch(/Enter runs the task again/);
    // the step is still open (nothing was recorded for it on resume)
    expect(readFileSync(join(dir, CHECKLIST_JOURNAL), 'utf8').split('\n').filter((l) => l.includes('"cl.step"'))).toHaveLength(1);
    await act(async () => {
      rr.stdin.write(KEY.enter);
    });
    await until({ frame }, () => /^Plan · analyze/.test(frame()), 'the task\'s plan');
    // and once the journal shows the run succeeded after all, the step is done by itself
    outcomes['20261201-030000-analyze-beef'] = 'succeeded';
    await act(async () => {
      rr.stdin.write(KEY.esc);
    });
    await until({ frame }, () => /Step 2 of 2 · confirm/.test(frame()), 'the next step');
    expect(frame()).toMatch(/✓\s+1 Refresh statistics\s+done run 20261201-030000-ana/);
    const steps = readFileSync(join(dir, CHECKLIST_JOURNAL), 'utf8').split('\n').filter((l) => l.includes('"cl.step"')).map((l) => JSON.parse(l));
    expect(steps.map((e) => e.outcome)).toEqual(['started', 'done']);
    expect(steps[1]).toMatchObject({ taskRun: '20261201-030000-analyze-beef', taskOutcome: 'succeeded' });
  });
});
