// answerStep / WalkHandle.answer: the one mapping of a step's need and the operator's reply to
// what the walkthrough records, for the console and the headless runner alike. No Ink here:
// each need kind meets each reply kind on a real Walkthrough over a journal in a temp dir.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_TASKS } from '../../tasks/index';
import { parseChecklist, type Checklist } from '../../src/checklists/model';
import { checklistJournal, skipRefusal, Walkthrough, type Need, type WalkHandle, type WalkReply } from '../../src/checklists/walkthrough';
import { MaintenanceWindowSchema } from '../../src/config/schema';
import type { Operator } from '../../src/journal';
import { healthyState } from '../support/fixtures';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-walk-answer-'));
  chmodSync(dir, 0o700);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const OPERATOR: Operator = { user: 'alice', sudoUser: null, sshClient: null, tty: null, host: 'db-1', pid: process.pid };

const YAML = `id: a
title: A
steps:
  - { id: c, kind: confirm, title: Confirm it }
  - { id: n, kind: note, title: Read me }
  - { id: i, kind: input, title: Ticket, pattern: "^T-[0-9]+$", example: T-12 }
  - { id: k, kind: check, title: Check it, condition: { metric: pg.longest_query_sec, below: 300 } }
  - { id: gw, kind: gate, title: Warn gate, condition: { inWindow: true }, onFail: warn }
  - { id: gb, kind: gate, title: Block gate, condition: { inWindow: true }, onFail: block }
  - { id: t, kind: task, title: Analyze, task: analyze, params: { tables: [public.x] } }
  - { id: r, kind: confirm, title: Must, required: true }
`;
const C = 0, N = 1, I = 2, K = 3, GW = 4, GB = 5, T = 6, R = 7;

function parse(yaml: string): Checklist {
  const r = parseChecklist(yaml, 'a.yaml', BUILTIN_TASKS);
  if ('error' in r) throw new Error(r.error);
  return r.checklist;
}

function begin(): { w: WalkHandle; journal: ReturnType<typeof checklistJournal>; events: () => number } {
  const journal = checklistJournal(dir);
  const s = healthyState();
  const w = Walkthrough.begin({ checklist: parse(YAML), journal, target: 'postgres://t', operator: OPERATOR, window: MaintenanceWindowSchema.parse({}) }, { snapshot: s.snapshot, report: s.report });
  return { w, journal, events: () => journal.looseEvents().length };
}

const verdict = (value: string, pass: boolean | null = false) => ({ pass, value });
const NEEDS: Record<string, Need> = {
  confirm: { kind: 'confirm', index: C },
  note: { kind: 'note', index: N },
  input: { kind: 'input', index: I },
  checkFailed: { kind: 'check-failed', index: K, verdict: verdict('longest query 7m00s: not below 5m00s') },
  checkUnknown: { kind: 'check-failed', index: K, verdict: verdict('no data', null) },
  gateWarn: { kind: 'gate-warn', index: GW, verdict: verdict('outside the window') },
  gateBlock: { kind: 'gate-block', index: GB, verdict: verdict('outside the window') },
  waiting: { kind: 'waiting', index: K, why: 'waiting for the first health round' },
  task: { kind: 'task', index: T },
  taskStopped: { kind: 'task-stopped', index: T, taskRun: 'run-1', taskOutcome: 'interrupted' },
  required: { kind: 'confirm', index: R },
};
const ENTER: WalkReply = { kind: 'enter' };

describe('Enter at each need', () => {
  it('confirm, note and a failed check are recorded; the journal gets them', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.confirm, ENTER)).toEqual({ kind: 'recorded' });
    expect(w.state.steps[C]).toMatchObject({ status: 'confirmed', by: 'alice' });
    expect(w.state.steps[C].notes).toEqual([]);
    expect(w.answer(NEEDS.note, ENTER)).toEqual({ kind: 'recorded' });
    expect(w.state.steps[N].status).toBe('read');
    expect(w.answer(NEEDS.checkFailed, ENTER)).toEqual({ kind: 'recorded' });
    expect(w.state.steps[K]).toMatchObject({ status: 'failed', value: 'longest query 7m00s: not below 5m00s' });
    expect(events()).toBe(n0 + 3);
  });

  it('a check that could not be judged is recorded unknown', () => {
    const { w } = begin();
    expect(w.answer(NEEDS.checkUnknown, ENTER)).toEqual({ kind: 'recorded' });
    expect(w.state.steps[K]).toMatchObject({ status: 'unknown', value: 'no data' });
  });

  it('a note given with Enter goes to the journal with the outcome (headless --confirm)', () => {
    const { w } = begin();
    w.answer(NEEDS.confirm, { kind: 'enter', note: 'pre-confirmed with --confirm' });
    expect(w.state.steps[C].notes.map((x) => x.text)).toEqual(['pre-confirmed with --confirm']);
  });

  it('an input step and a warn gate ask for text; nothing is recorded', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.input, ENTER)).toEqual({ kind: 'ask', what: 'input' });
    expect(w.answer(NEEDS.gateWarn, ENTER)).toEqual({ kind: 'ask', what: 'gate' });
    expect(events()).toBe(n0);
  });

  it('a blocking gate refuses, a waiting step waits, a task step says what to run', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.gateBlock, ENTER)).toEqual({ kind: 'refused', error: 'blocked: the gate must pass first (x ends the walkthrough here, q leaves it open)' });
    expect(w.answer(NEEDS.waiting, ENTER)).toEqual({ kind: 'wait', why: 'waiting for the first health round' });
    expect(w.answer(NEEDS.task, ENTER)).toEqual({ kind: 'run-task', index: T, taskId: 'analyze', params: { tables: ['public.x'] } });
    expect(w.answer(NEEDS.taskStopped, ENTER)).toEqual({ kind: 'run-task', index: T, taskId: 'analyze', params: { tables: ['public.x'] } });
    expect(events()).toBe(n0);
  });

  it('at done there is nothing to answer', () => {
    const { w } = begin();
    expect(w.answer({ kind: 'done' }, ENTER)).toEqual({ kind: 'refused', error: 'every step has an outcome' });
  });
});

describe('typed text', () => {
  it('an input value is checked against the pattern, then recorded', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.input, { kind: 'text', text: 'nope' })).toEqual({ kind: 'refused', error: '"nope" does not match ^T-[0-9]+$ (e.g. T-12)' });
    expect(w.answer(NEEDS.input, { kind: 'text', text: '  ' })).toEqual({ kind: 'refused', error: '"Ticket" needs a value (e.g. T-12)' });
    expect(events()).toBe(n0);
    expect(w.answer(NEEDS.input, { kind: 'text', text: ' T-42 ' })).toEqual({ kind: 'recorded' });
    expect(w.state.steps[I]).toMatchObject({ status: 'entered', value: 'T-42' });
  });

  it('a warn gate goes on with a typed yes (any case), and refuses anything else for a new try', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.gateWarn, { kind: 'text', text: 'ok' })).toEqual({ kind: 'refused', error: '"ok" is not yes: type yes to go on past the failed gate, or Esc', retype: true });
    expect(events()).toBe(n0);
    expect(w.answer(NEEDS.gateWarn, { kind: 'text', text: ' YES ' })).toEqual({ kind: 'recorded' });
    expect(w.state.steps[GW]).toMatchObject({ status: 'overridden', value: 'outside the window' });
    expect(w.state.steps[GW].notes.map((x) => x.text)).toEqual(['operator typed yes']);
  });

  it('the headless runner overrides a pre-confirmed warn gate with its own note', () => {
    const { w } = begin();
    w.answer(NEEDS.gateWarn, { kind: 'text', text: 'yes', note: 'pre-confirmed with --confirm' });
    expect(w.state.steps[GW].notes.map((x) => x.text)).toEqual(['pre-confirmed with --confirm']);
  });

  it('other steps take no typed answer', () => {
    const { w } = begin();
    for (const need of [NEEDS.confirm, NEEDS.note, NEEDS.checkFailed, NEEDS.gateBlock, NEEDS.waiting, NEEDS.task]) {
      expect(w.answer(need, { kind: 'text', text: 'yes' })).toEqual({ kind: 'refused', error: 'this step takes no typed answer' });
    }
    expect(w.state.steps.every((s) => s.status === 'open')).toBe(true);
  });
});

describe('skip', () => {
  it('a gate and a required step are not skipped; another asks for a reason, then records it', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.gateWarn, { kind: 'skip' })).toEqual({ kind: 'refused', error: 'a gate is not skipped: it passes, or (warn gates) is overridden with a typed yes' });
    expect(w.answer(NEEDS.gateBlock, { kind: 'skip', reason: 'x' })).toEqual({ kind: 'refused', error: 'a gate is not skipped: it passes, or (warn gates) is overridden with a typed yes' });
    expect(w.answer(NEEDS.required, { kind: 'skip' })).toEqual({ kind: 'refused', error: '"Must" is required: it cannot be skipped' });
    expect(w.answer(NEEDS.confirm, { kind: 'skip' })).toEqual({ kind: 'ask', what: 'skip' });
    expect(w.answer(NEEDS.confirm, { kind: 'skip', reason: '  ' })).toEqual({ kind: 'refused', error: 'skipping a step needs a reason' });
    expect(events()).toBe(n0);
    expect(w.answer(NEEDS.confirm, { kind: 'skip', reason: 'not tonight' })).toEqual({ kind: 'recorded' });
    expect(w.state.steps[C]).toMatchObject({ status: 'skipped', reason: 'not tonight' });
    expect(skipRefusal(w.checklist.steps[T])).toBeNull();
  });
});

describe('ending at a gate, giving up on a wait', () => {
  it('x at a blocked gate records it blocked with what was seen, and ends', () => {
    const { w } = begin();
    expect(w.answer(NEEDS.gateBlock, { kind: 'end-blocked' })).toEqual({ kind: 'end', outcome: 'blocked' });
    expect(w.state.steps[GB]).toMatchObject({ status: 'blocked', value: 'outside the window' });
    // the headless runner ends at a warn gate nobody pre-confirmed the same way
    expect(w.answer(NEEDS.gateWarn, { kind: 'end-blocked' })).toEqual({ kind: 'end', outcome: 'blocked' });
    expect(w.state.steps[GW].status).toBe('blocked');
  });

  it('only a failed gate ends blocked; only a waiting step is given up on', () => {
    const { w, events } = begin();
    const n0 = events();
    expect(w.answer(NEEDS.confirm, { kind: 'end-blocked' })).toEqual({ kind: 'refused', error: 'only a failed gate ends the walkthrough blocked' });
    expect(w.answer(NEEDS.confirm, { kind: 'give-up' })).toEqual({ kind: 'refused', error: 'only a step waiting for data is given up on' });
    expect(events()).toBe(n0);
    expect(w.answer(NEEDS.waiting, { kind: 'give-up' })).toEqual({ kind: 'recorded' });
    expect(w.state.steps[K]).toMatchObject({ status: 'unknown', value: 'waiting for the first health round' });
  });

  it('an ended walkthrough refuses every answer with the line the console shows', () => {
    const { w } = begin();
    w.end('abandoned', null);
    expect(w.answer(NEEDS.confirm, ENTER)).toEqual({ kind: 'refused', error: `walkthrough ${w.run} has ended` });
  });
});

describe('the handle', () => {
  it('subscribers hear every record and note, and stop when unsubscribed', () => {
    const { w } = begin();
    let calls = 0;
    const off = w.subscribe(() => calls++);
    w.answer(NEEDS.confirm, ENTER);
    w.note(C, 'looked fine');
    w.note(C, '   '); // empty: nothing journaled, nobody told
    expect(calls).toBe(2);
    off();
    w.answer(NEEDS.note, ENTER);
    expect(calls).toBe(2);
  });

  it('a task step: started, then ended with its run\'s outcome; or not started', () => {
    const { w } = begin();
    w.taskStarted(T, 'run-9', 'analyze');
    expect(w.state.steps[T]).toMatchObject({ status: 'started', taskRun: 'run-9', value: 'task analyze' });
    w.taskEnded(T, 'run-9', 'succeeded', 1200);
    expect(w.state.steps[T]).toMatchObject({ status: 'done', taskRun: 'run-9', taskOutcome: 'succeeded', value: 'run run-9 succeeded', durationMs: 1200 });
    const b = begin().w;
    b.taskEnded(T, 'run-8', 'interrupted');
    expect(b.state.steps[T]).toMatchObject({ status: 'failed', taskOutcome: 'interrupted', value: 'run run-8 interrupted' });
    expect(b.state.steps[T].durationMs).toBeUndefined();
    const c = begin().w;
    c.taskNotStarted(T, 'cannot connect', { runId: 'run-7', durationMs: 5 });
    expect(c.state.steps[T]).toMatchObject({ status: 'failed', taskRun: 'run-7', taskOutcome: 'not started', value: 'cannot connect', durationMs: 5 });
    const d = begin().w;
    d.taskNotStarted(T, 'unknown task nope');
    expect(d.state.steps[T]).toMatchObject({ status: 'failed', value: 'unknown task nope' });
    expect(d.state.steps[T].taskRun).toBeUndefined();
  });
});
