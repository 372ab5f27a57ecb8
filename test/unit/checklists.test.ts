// Checklists without a database: loading (built-in ones and mistakes, each named by file and
// line), conditions (window, metrics, health, baseline), the walkthrough's rules (skips, `when`),
// and the report.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_TASKS } from '../../tasks/index';
import { inWindow, judgeCondition, type LiveContext } from '../../src/checklists/conditions';
import { builtinChecklistDir, loadChecklists, parseChecklist, type Checklist } from '../../src/checklists/model';
import { renderReport } from '../../src/checklists/report';
import { advance, checklistJournal, listWalks, Walkthrough } from '../../src/checklists/walkthrough';
import { MaintenanceWindowSchema } from '../../src/config/schema';
import type { Operator } from '../../src/journal';
import { healthyState, unhealthyState } from '../support/fixtures';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-checklists-'));
  chmodSync(dir, 0o700);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const none = join(tmpdir(), 'ops-no-such-dir-for-checklists');

function put(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

function parse(yaml: string): Checklist {
  const r = parseChecklist(yaml, 'x.yaml', BUILTIN_TASKS);
  if ('error' in r) throw new Error(r.error);
  return r.checklist;
}

function errorOf(yaml: string): string {
  const r = parseChecklist(yaml, '/etc/ops/x.yaml', BUILTIN_TASKS);
  if (!('error' in r)) throw new Error('expected an error');
  return r.error;
}

describe('loading checklists', () => {
  it('every built-in checklist loads and validates, task steps included', () => {
    const { checklists, errors } = loadChecklists(BUILTIN_TASKS, { builtin: builtinChecklistDir(), user: none });
    expect(errors).toEqual([]);
    expect(checklists.map((c) => c.id).sort()).toEqual(['daily', 'emergency', 'monthly', 'post-maintenance', 'pre-maintenance', 'weekly']);
    for (const c of checklists) {
      expect(c.builtin).toBe(true);
      expect(c.steps.length).toBeGreaterThan(2);
    }
    const pre = checklists.find((c) => c.id === 'pre-maintenance')!;
    expect(pre.steps.find((s) => s.id === 'take-backup')).toMatchObject({ kind: 'task', task: 'backup', when: { failed: 'backup-fresh' } });
    expect(pre.steps.find((s) => s.id === 'window')).toMatchObject({ kind: 'gate', onFail: 'warn', condition: { inWindow: true } });
    // the daily checklist has no manual step: it runs under cron
    const daily = checklists.find((c) => c.id === 'daily')!;
    expect(daily.steps.every((s) => s.kind === 'check')).toBe(true);
  });

  it('an operator file of a built-in id replaces it; a bad one is reported and left out whole', () => {
    put('daily.yaml', 'id: daily\ntitle: My daily\nsteps:\n  - { id: a, kind: confirm, title: Coffee }\n');
    put('bad.yaml', 'id: bad\ntitle: Bad\nsteps:\n  - { id: a, kind: confirm, title: One }\n  - { id: a, kind: confirm, title: Two }\n');
    const { checklists, errors } = loadChecklists(BUILTIN_TASKS, { builtin: builtinChecklistDir(), user: dir });
    expect(checklists.find((c) => c.id === 'daily')).toMatchObject({ title: 'My daily', builtin: false });
    expect(checklists.some((c) => c.id === 'bad')).toBe(false);
    expect(errors).toEqual([`${join(dir, 'bad.yaml')}:5: steps[1].id: step id "a" is already used by steps[0]`]);
  });

  it('a file others could write is refused, as sudo and ssh refuse such files', () => {
    put('open.yaml', 'id: open\ntitle: Open\nsteps:\n  - { id: a, kind: confirm, title: One }\n', 0o666);
    const { checklists, errors } = loadChecklists(BUILTIN_TASKS, { builtin: none, user: dir });
    expect(checklists).toEqual([]);
    expect(errors[0]).toMatch(/open\.yaml: refused: writable by group or others \(chmod go-w /);
  });

  it('names the file and line of each kind of mistake', () => {
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - { id: a, kind: confirm, title: [unclosed\n')).toMatch(/^\/etc\/ops\/x\.yaml:\d: not valid YAML: /);
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - id: a\n    kind: confirm\n    title: A\n    colour: red\n')).toBe(
      '/etc/ops/x.yaml:7: steps[0].colour: unknown key (allowed: id, kind, title, detail, required, when)',
    );
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - { id: a, kind: chat, title: A }\n')).toMatch(/^\/etc\/ops\/x\.yaml:4: steps\[0\]\.kind: kind must be confirm, check, gate, task, input or note/);
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - id: a\n    kind: gate\n    title: A\n    condition: { inWindow: true }\n')).toMatch(/^\/etc\/ops\/x\.yaml:4: steps\[0\]\.onFail: /);
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - { id: a, kind: confirm, title: A, when: { failed: b } }\n  - { id: b, kind: check, title: B, condition: { inWindow: true } }\n')).toBe(
      '/etc/ops/x.yaml:4: steps[0].when.failed: "b" is not an earlier step of this checklist',
    );
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - { id: a, kind: confirm, title: A }\n  - { id: b, kind: note, title: B, when: { passed: a } }\n')).toMatch(/steps\[1\]\.when\.passed: step "a" is a confirm step/);
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - id: t\n    kind: task\n    title: T\n    task: no-such-task\n')).toMatch(/^\/etc\/ops\/x\.yaml:7: steps\[0\]\.task: unknown task "no-such-task" \(tasks: .*backup/);
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - id: t\n    kind: task\n    title: T\n    task: set-setting\n    params:\n      name: work_mem\n')).toMatch(
      /^\/etc\/ops\/x\.yaml:\d+: steps\[0\]\.params(\.value)?: task set-setting: /,
    );
    expect(errorOf('id: x\ntitle: X\nsteps:\n  - id: i\n    kind: input\n    title: I\n    pattern: "(["\n')).toMatch(/^\/etc\/ops\/x\.yaml:7: steps\[0\]\.pattern: not a valid regular expression/);
    expect(errorOf('id: x\ntitle: X\nsteps: []\n')).toBe('/etc/ops/x.yaml:3: steps: a checklist needs at least one step');
  });

  it('a gate is always required: it is never skipped', () => {
    const c = parse('id: x\ntitle: X\nsteps:\n  - { id: g, kind: gate, title: G, condition: { inWindow: true }, onFail: warn }\n');
    expect(c.steps[0].required).toBe(true);
  });
});

// ---------------------------------------------------------------- conditions

const WIN = (over: Record<string, unknown> = {}) => MaintenanceWindowSchema.parse(over);

describe('the maintenance window', () => {
  it('is 02:00–04:00 UTC every day by default', () => {
    expect(inWindow(new Date('2026-12-01T02:30:00Z'), WIN())).toBe(true);
    expect(inWindow(new Date('2026-12-01T04:00:00Z'), WIN())).toBe(false);
    expect(inWindow(new Date('2026-12-01T01:59:00Z'), WIN())).toBe(false);
  });
  it('runs past midnight when it ends before it starts, counting the day it opened on', () => {
    const w = WIN({ days: ['sat'], start: '22:00', end: '02:00' });
    expect(inWindow(new Date('2026-11-28T23:00:00Z'), w)).toBe(true); // Saturday night
    expect(inWindow(new Date('2026-11-29T01:00:00Z'), w)).toBe(true); // early Sunday
    expect(inWindow(new Date('2026-11-29T23:00:00Z'), w)).toBe(false); // Sunday night
    expect(inWindow(new Date('2026-11-28T01:00:00Z'), w)).toBe(false); // early Saturday
  });
  it('is judged in its time zone', () => {
    const w = WIN({ start: '02:00', end: '04:00', timezone: 'America/New_York' });
    expect(inWindow(new Date('2026-12-01T07:30:00Z'), w)).toBe(true); // 02:30 in New York
    expect(inWindow(new Date('2026-12-01T02:30:00Z'), w)).toBe(false);
  });
  it('rejects a bad time or zone in the config', () => {
    expect(MaintenanceWindowSchema.safeParse({ start: '25:00' }).success).toBe(false);
    expect(MaintenanceWindowSchema.safeParse({ timezone: 'Mars/Olympus' }).success).toBe(false);
  });
});

function live(state = healthyState(), now = new Date('2026-12-01T03:00:00Z'), baseline: LiveContext['baseline'] = undefined): LiveContext {
  return { snapshot: state.snapshot, report: state.report, now, window: WIN(), baseline };
}

describe('conditions', () => {
  it('metrics compare with their value in words', () => {
    const bad = unhealthyState();
    expect(judgeCondition({ metric: 'pg.longest_query_sec', below: 300 }, live())).toMatchObject({ pass: true });
    expect(judgeCondition({ metric: 'pg.longest_query_sec', below: 300 }, live(bad))).toEqual({ pass: false, value: 'longest query 7m00s: not below 5m00s' });
    expect(judgeCondition({ metric: 'pg.active_sessions', below: 10 }, live(bad))).toEqual({ pass: false, value: 'active sessions 12: not below 10' });
  });
  it('health conditions take the worst of the checks named, and unknown is not a pass', () => {
    expect(judgeCondition({ health: 'overall', atWorst: 'WARNING' }, live())).toMatchObject({ pass: true, value: 'overall OK' });
    const v = judgeCondition({ health: 'sessions', atWorst: 'OK' }, live(unhealthyState()));
    expect(v.pass).toBe(false);
    expect(v.value).toMatch(/^sessions CRITICAL: /);
    expect(judgeCondition({ health: 'backup.nope' }, live())).toEqual({ pass: null, value: 'no check "backup.nope" is configured (set backup.dir in the config)' });
    expect(judgeCondition({ metric: 'pg.up', atLeast: 1 }, { ...live(), snapshot: null, report: null })).toMatchObject({ pass: null });
  });
  it('the window condition says where now falls', () => {
    expect(judgeCondition({ inWindow: true }, live(healthyState(), new Date('2026-12-01T12:00:00Z')))).toEqual({
      pass: false,
      value: 'outside the window (now Tue 12:00 UTC; window 02:00–04:00 UTC, every day)',
    });
  });
  it('baseline: passes when no check is worse than at the start of the last walkthrough', () => {
    const good = healthyState();
    const statuses = Object.fromEntries(good.report!.checks.map((c) => [c.id, c.status]));
    const base = () => ({ run: 'pre-1', at: '2026-12-01T02:00:00Z', statuses });
    expect(judgeCondition({ baseline: 'pre-maintenance' }, live(good, undefined, base))).toMatchObject({ pass: true });
    const worse = judgeCondition({ baseline: 'pre-maintenance' }, live(unhealthyState(), undefined, base));
    expect(worse.pass).toBe(false);
    expect(worse.value).toMatch(/^\d+ checks worse than at pre-1: /);
    expect(judgeCondition({ baseline: 'pre-maintenance' }, live(good, undefined, () => null))).toMatchObject({ pass: null });
  });
});

// ---------------------------------------------------------------- the walkthrough

const OPERATOR: Operator = { user: 'alice', sudoUser: null, sshClient: '10.1.2.3', tty: '/dev/pts/4', host: 'db-maint-1', pid: process.pid };

function begin(yaml: string, state = healthyState()) {
  const journal = checklistJournal(dir);
  const w = Walkthrough.begin({ checklist: parse(yaml), journal, target: 'postgres://t', operator: OPERATOR, window: WIN() }, { snapshot: state.snapshot, report: state.report });
  return { w, journal };
}

describe('the walkthrough', () => {
  const YAML = `id: w
title: W
steps:
  - { id: fresh, kind: check, title: Backup fresh, condition: { metric: pg.longest_query_sec, below: 300 } }
  - { id: fix, kind: task, title: Fix it, task: analyze, when: { failed: fresh } }
  - { id: optional, kind: confirm, title: Optional }
  - { id: must, kind: confirm, title: Must, required: true }
`;

  it('settles passing checks itself and skips a step whose `when` does not hold', () => {
    const { w } = begin(YAML);
    const need = advance(w, live(), () => null);
    expect(need).toEqual({ kind: 'confirm', index: 2 });
    expect(w.state.steps.map((s) => s.status)).toEqual(['passed', 'not-applicable', 'open', 'open']);
    expect(w.state.steps[1].value).toBe('"fresh" passed');
  });

  it('a failed check makes the `when: failed` task step apply', () => {
    const { w } = begin(YAML, unhealthyState());
    const need = advance(w, live(unhealthyState()), () => null);
    expect(need).toMatchObject({ kind: 'check-failed', index: 0 });
    w.record(0, 'failed', { value: 'x' });
    expect(advance(w, live(unhealthyState()), () => null)).toEqual({ kind: 'task', index: 1 });
  });

  it('a skip needs a reason, a required step is never skipped, and both refusals journal nothing', () => {
    const { w, journal } = begin(YAML);
    advance(w, live(), () => null);
    const before = journal.looseEvents().length;
    expect(() => w.record(2, 'skipped', { reason: '  ' })).toThrow('skipping a step needs a reason');
    expect(() => w.record(3, 'skipped', { reason: 'no time' })).toThrow('"Must" is required: it cannot be skipped');
    expect(journal.looseEvents().length).toBe(before);
    w.record(2, 'skipped', { reason: 'not needed tonight' });
    expect(w.state.steps[2]).toMatchObject({ status: 'skipped', reason: 'not needed tonight', by: 'alice@10.1.2.3' });
  });

  it('a task step whose run the journal shows succeeded is done on resume; one interrupted is shown as such', () => {
    const { w } = begin(YAML, unhealthyState());
    advance(w, live(unhealthyState()), () => null);
    w.record(0, 'failed');
    w.record(1, 'started', { taskRun: 'run-1' });
    expect(advance(w, live(), () => 'interrupted')).toEqual({ kind: 'task-stopped', index: 1, taskRun: 'run-1', taskOutcome: 'interrupted' });
    expect(advance(w, live(), () => 'succeeded')).toEqual({ kind: 'confirm', index: 2 });
    expect(w.state.steps[1]).toMatchObject({ status: 'done', taskRun: 'run-1' });
  });

  it('resumes with earlier outcomes intact, and refuses an ended or changed walkthrough', () => {
    const { w, journal } = begin(YAML);
    advance(w, live(), () => null);
    w.record(2, 'confirmed', { note: 'done by hand' });
    const again = Walkthrough.resume({ journal, target: 'postgres://t', operator: { ...OPERATOR, user: 'bob' }, window: WIN(), checklists: [parse(YAML)] }, w.run.slice(0, 20));
    expect(again.current).toBe(3);
    expect(again.state.steps[2]).toMatchObject({ status: 'confirmed', by: 'alice@10.1.2.3' });
    expect(again.state.steps[2].notes[0].text).toBe('done by hand');
    expect(again.state.resumes).toHaveLength(1);
    const changed = parse(YAML.replace('id: must', 'id: must2'));
    expect(() => Walkthrough.resume({ journal, target: 'postgres://t', operator: OPERATOR, window: WIN(), checklists: [changed] }, w.run)).toThrow(/changed since walkthrough/);
    expect(() => Walkthrough.resume({ journal, target: 'postgres://other', operator: OPERATOR, window: WIN(), checklists: [parse(YAML)] }, w.run)).toThrow(/ran on postgres:\/\/t/);
    again.record(3, 'confirmed');
    again.end('completed', null);
    expect(() => Walkthrough.resume({ journal, target: 'postgres://t', operator: OPERATOR, window: WIN(), checklists: [parse(YAML)] }, w.run)).toThrow(/has ended \(completed\)/);
  });
});

describe('the report', () => {
  it('has every step with outcome, value, note and time, the tasks, the figures before and after, and the open problems', () => {
    const { w, journal } = begin(YAML_REPORT, healthyState());
    advance(w, live(), () => null);
    w.record(1, 'failed', { value: 'bad thing seen' });
    w.record(2, 'started', { taskRun: 'r-9' });
    w.record(2, 'failed', { taskRun: 'r-9', taskOutcome: 'failed' });
    w.record(3, 'skipped', { reason: 'no access', note: 'ask Bob' });
    const bad = unhealthyState();
    w.end('completed', { snapshot: bad.snapshot, report: bad.report });
    const md = renderReport(listWalks(journal)[0], (run) =>
      run === 'r-9'
        ? ({ run: 'r-9', task: 'analyze', outcome: 'failed', startedAt: '2026-12-01T03:00:00.000Z', endedAt: '2026-12-01T03:01:30.000Z', pendingRollbacks: 1 } as never)
        : null,
    );
    expect(md).toMatch(/^# R: walkthrough .*-cl-r-/);
    expect(md).toContain('- Operator: alice@10.1.2.3 on /dev/pts/4');
    expect(md).toContain('- Host: db-maint-1');
    expect(md).toContain('- Maintenance window: 02:00–04:00 UTC, every day');
    expect(md).toMatch(/\| 1 \| Up \| check \| passed \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \| alice@10\.1\.2\.3 \| longest query 0s \|/);
    expect(md).toMatch(/\| 2 \| Seen \| check \| FAILED \| .* \| bad thing seen \|/);
    expect(md).toMatch(/\| 4 \| Manual \| confirm \| skipped \| .* \| reason: no access; note \(alice@10\.1\.2\.3\): ask Bob \|/);
    expect(md).toContain('| Run it | r-9 (analyze) | failed | 1m30s | 1 |');
    expect(md).toContain('| overall | OK | CRITICAL |');
    expect(md).toContain('| longest query | 0s | 7m00s |');
    expect(md).toContain('- Step "Seen": FAILED: bad thing seen');
    expect(md).toContain('- Task run r-9 (analyze) failed with 1 rollback(s) not applied: ops rollback r-9');
    expect(md).toMatch(/- Health at end: CRITICAL /);
  });
});

const YAML_REPORT = `id: r
title: R
steps:
  - { id: up, kind: check, title: Up, condition: { metric: pg.longest_query_sec, below: 300 } }
  - { id: seen, kind: check, title: Seen, condition: { metric: pg.blocked_sessions, below: 0 } }
  - { id: task, kind: task, title: Run it, task: analyze }
  - { id: manual, kind: confirm, title: Manual }
`;

