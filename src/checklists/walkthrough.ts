// A walkthrough: one operator's pass through a checklist, journaled step by step in
// `checklists.jsonl` beside the task journal (appended and fsynced per event, like it), so that a
// dropped connection loses nothing and `ops checklist resume` continues at the first open step.
//
// The Walkthrough records outcomes; `advance` does what the console can do by itself (checks,
// passing gates, steps whose `when` does not hold) and says what the current step needs from
// the operator; `answerStep` (WalkHandle.answer) maps that need and the operator's reply to what
// is recorded. The console and the headless runner both drive it through the WalkHandle.
import { hostname } from 'node:os';
import { Journal, formatOperator, pickByPrefix, type LooseEvent, type Operator } from '../journal';
import { UserError } from '../config/load';
import type { HealthReport, Snapshot, Status } from '../types';
import { describeWindow, inWindow, judgeCondition, metricsOf, type LiveContext, type Verdict } from './conditions';
import type { Checklist, ChecklistStep, When } from './model';
import { skipRefusal } from './skip';

/** Outcomes that settle a step; 'started' (a task under way) and 'blocked' (a gate) leave it open. */
export type ChecklistOutcome =
  | 'passed'
  | 'failed'
  | 'unknown'
  | 'confirmed'
  | 'skipped'
  | 'not-applicable'
  | 'overridden'
  | 'done'
  | 'entered'
  | 'read';
export type ChecklistStepState = 'open' | 'started' | 'blocked' | ChecklistOutcome;

const SETTLED = new Set<string>(['passed', 'failed', 'unknown', 'confirmed', 'skipped', 'not-applicable', 'overridden', 'done', 'entered', 'read']);
export const isSettled = (s: ChecklistStepState): boolean => SETTLED.has(s);

export type WalkOutcome = 'completed' | 'blocked' | 'failed' | 'abandoned';

export interface StepRecord {
  id: string;
  kind: ChecklistStep['kind'];
  title: string;
  required: boolean;
  status: ChecklistStepState;
  /** what was seen (checks, gates), or what was entered (input) */
  value?: string;
  reason?: string;
  notes: { ts: string; by: string; text: string }[];
  by?: string;
  at?: string;
  taskRun?: string;
  taskOutcome?: string;
  durationMs?: number;
}

export interface HealthRecord {
  at: string;
  status: Status | null;
  score: number | null;
  metrics: Record<string, number | null>;
  statuses: Record<string, Status>;
  /** check id → one-line summary, for the report's open problems */
  problems: Record<string, string>;
}

export interface WalkSummary {
  run: string;
  checklist: string;
  title: string;
  source: string;
  target: string;
  operator: Operator | null;
  host: string;
  window: string;
  insideWindow: boolean | null;
  startedAt: string;
  endedAt: string | null;
  outcome: WalkOutcome | 'unfinished';
  steps: StepRecord[];
  start: HealthRecord | null;
  end: HealthRecord | null;
  /** who resumed it, and when */
  resumes: { ts: string; by: string }[];
}

// ---------------------------------------------------------------- journal

export const CHECKLIST_JOURNAL = 'checklists.jsonl';

/** The checklist journal in the state directory (or `dir`). */
export function checklistJournal(dir?: string, secrets: readonly string[] = []): Journal {
  return new Journal(dir, { file: CHECKLIST_JOURNAL, secrets });
}

export function healthRecord(snapshot: Snapshot | null, report: HealthReport | null): HealthRecord {
  const statuses: Record<string, Status> = {};
  const problems: Record<string, string> = {};
  for (const c of report?.checks ?? []) {
    statuses[c.id] = c.status;
    if (c.status !== 'OK') problems[c.id] = `${c.status} ${c.label}: ${c.summary}`;
  }
  return {
    at: new Date(report?.at ?? snapshot?.at ?? Date.now()).toISOString(),
    status: report?.status ?? null,
    score: report?.score ?? null,
    metrics: metricsOf(snapshot, report),
    statuses,
    problems,
  };
}

type Ev = LooseEvent;

/** Folds one walkthrough's events (journal order) into its summary; null without a start. */
export function summarizeWalk(events: readonly Ev[]): WalkSummary | null {
  const start = events.find((e) => e.type === 'cl.start');
  if (!start) return null;
  const steps = (Array.isArray(start.steps) ? start.steps : []) as { id: string; kind: ChecklistStep['kind']; title: string; required?: boolean }[];
  const s: WalkSummary = {
    run: start.run,
    checklist: String(start.checklist ?? '?'),
    title: String(start.title ?? start.checklist ?? '?'),
    source: String(start.source ?? ''),
    target: String(start.target ?? '?'),
    operator: (start.operator as Operator) ?? null,
    host: String((start.operator as Operator | undefined)?.host ?? '?'),
    window: String(start.window ?? ''),
    insideWindow: typeof start.insideWindow === 'boolean' ? start.insideWindow : null,
    startedAt: start.ts,
    endedAt: null,
    outcome: 'unfinished',
    steps: steps.map((p) => ({ id: String(p.id), kind: p.kind, title: String(p.title ?? p.id), required: p.required === true, status: 'open', notes: [] })),
    start: null,
    end: null,
    resumes: [],
  };
  const stepOf = (id: unknown) => s.steps.find((x) => x.id === id);
  for (const e of events) {
    switch (e.type) {
      case 'cl.snapshot':
        if (e.which === 'start') s.start = e.health as HealthRecord;
        else s.end = e.health as HealthRecord;
        break;
      case 'cl.step': {
        const st = stepOf(e.step);
        if (!st) break;
        st.status = String(e.outcome) as ChecklistStepState;
        st.at = e.ts;
        st.by = typeof e.by === 'string' ? e.by : undefined;
        for (const k of ['value', 'reason', 'taskRun', 'taskOutcome'] as const) {
          if (typeof e[k] === 'string') st[k] = e[k] as string;
        }
        if (typeof e.durationMs === 'number') st.durationMs = e.durationMs;
        if (typeof e.note === 'string' && e.note) st.notes.push({ ts: e.ts, by: st.by ?? '?', text: e.note });
        break;
      }
      case 'cl.note': {
        const st = stepOf(e.step);
        if (st && typeof e.text === 'string') st.notes.push({ ts: e.ts, by: typeof e.by === 'string' ? e.by : '?', text: e.text });
        break;
      }
      case 'cl.resume':
        s.resumes.push({ ts: e.ts, by: String(e.by ?? '?') });
        break;
      case 'cl.end':
        s.outcome = String(e.outcome) as WalkOutcome;
        s.endedAt = e.ts;
        break;
    }
  }
  return s;
}

/** Every walkthrough in the journal, newest first. */
export function listWalks(journal: Journal): WalkSummary[] {
  const byRun = new Map<string, Ev[]>();
  for (const e of journal.looseEvents()) {
    if (!e.type.startsWith('cl.')) continue;
    let l = byRun.get(e.run);
    if (!l) byRun.set(e.run, (l = []));
    l.push(e);
  }
  const out: WalkSummary[] = [];
  for (const events of byRun.values()) {
    const s = summarizeWalk(events);
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
}

/** The walkthrough whose id is or starts with `prefix`. */
export function findWalk(journal: Journal, prefix: string): WalkSummary {
  const all = listWalks(journal);
  const run = pickByPrefix(all.map((w) => w.run), prefix, { one: 'checklist walkthrough', many: 'walkthroughs', where: journal.file });
  return all.find((w) => w.run === run)!;
}

/**
 * Unfinished walkthroughs nobody is walking now: their process is gone (a crash, a dropped SSH
 * session, a headless run that stopped at a manual step), or it is this process (left with q).
 */
export function unfinishedWalks(journal: Journal): WalkSummary[] {
  const host = hostname();
  return listWalks(journal).filter((w) => {
    if (w.outcome !== 'unfinished') return false;
    const op = w.operator;
    if (!op || op.host !== host) return true;
    if (op.pid === process.pid) return true; // left open in this very console

    try {
      process.kill(op.pid, 0);
      return false; // its console is still open
    } catch {
      return true;
    }
  });
}

/** The newest finished (completed) walkthrough of `checklist` on `target`, for baseline comparisons. */
export function latestCompleted(journal: Journal, checklist: string, target: string): WalkSummary | null {
  return listWalks(journal).find((w) => w.checklist === checklist && w.target === target && w.outcome === 'completed' && w.start) ?? null;
}

// ---------------------------------------------------------------- the walkthrough

export interface WalkOptions {
  checklist: Checklist;
  journal: Journal;
  target: string;
  operator: Operator;
  window: import('../config/schema').MaintenanceWindow;
}

/**
 * What a UI holds of a walkthrough instead of the class: what it shows (run, checklist, state,
 * current, ended), a subscription called after every journaled event (so a screen redraws on
 * it, no version counter), and the operator's actions. Recording goes through `answer` (the
 * one mapping of need and reply, answerStep), `note`, and the task step's start and end.
 */
export interface WalkHandle {
  readonly run: string;
  readonly checklist: Checklist;
  /** the walkthrough as journaled so far (a new object after each event) */
  readonly state: WalkSummary;
  /** the first step not settled, or null */
  readonly current: number | null;
  readonly ended: boolean;
  /** `listener` is called after every record, note and end; returns the unsubscribe */
  subscribe(listener: () => void): () => void;
  /** settles what needs no operator and says what the current step needs (see advance) */
  advance(live: LiveContext, taskOutcome: (run: string) => string | null): Need;
  /** the operator's reply to the current step's need (see answerStep) */
  answer(need: Need, reply: WalkReply): WalkAnswer;
  /** a note on any step (the current one, or one under review); empty text is ignored */
  note(index: number, text: string): void;
  /** a task step's run has started (journaled before the task runs: a crash shows its run) */
  taskStarted(index: number, runId: string, taskId: string): void;
  /** a task step's run has closed with `outcome` ('succeeded' → done, else failed) */
  taskEnded(index: number, runId: string, outcome: string, durationMs?: number): void;
  /** a task step could not run: `why` is recorded failed; `run` when a run id was taken but its session did not open */
  taskNotStarted(index: number, why: string, run?: { runId: string; durationMs: number }): void;
  /** journals the health at the end and how the walkthrough ended (ChecklistService.finish calls it) */
  end(outcome: WalkOutcome, health: { snapshot: Snapshot | null; report: HealthReport | null } | null): void;
}

export class Walkthrough implements WalkHandle {
  private summary: WalkSummary;
  private readonly listeners = new Set<() => void>();
  readonly by: string;

  /** `events`: this walkthrough's events as journaled; each new one is appended to it as written */
  private constructor(
    readonly opts: WalkOptions,
    private readonly events: Ev[],
  ) {
    this.summary = summarizeWalk(events)!;
    this.by = formatOperator(opts.operator);
  }

  /** Starts a new walkthrough: journals its plan and the health at the start (the baseline). */
  static begin(opts: WalkOptions, health: { snapshot: Snapshot | null; report: HealthReport | null }, now = new Date()): Walkthrough {
    const { checklist, journal } = opts;
    const run = journal.newRunId(`cl-${checklist.id}`);
    const start = journal.append({
      run,
      type: 'cl.start',
      checklist: checklist.id,
      title: checklist.title,
      source: checklist.source,
      target: opts.target,
      operator: opts.operator,
      window: describeWindow(opts.window),
      insideWindow: inWindow(now, opts.window),
      steps: checklist.steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, required: s.required })),
    });
    const snapshot = journal.append({ run, type: 'cl.snapshot', which: 'start', health: healthRecord(health.snapshot, health.report) });
    return new Walkthrough(opts, [start, snapshot] as unknown as Ev[]);
  }

  /** Picks up an unfinished walkthrough from the journal; earlier outcomes stay as recorded. */
  static resume(opts: Omit<WalkOptions, 'checklist'> & { checklists: readonly Checklist[] }, runPrefix: string): Walkthrough {
    const found = findWalk(opts.journal, runPrefix);
    if (found.outcome !== 'unfinished') throw new UserError(`walkthrough ${found.run} has ended (${found.outcome}); "ops report ${found.run}" shows it`);
    if (found.target !== opts.target) throw new UserError(`walkthrough ${found.run} ran on ${found.target}, not on ${opts.target}; pass --database or --target for it`, 2);
    const checklist = opts.checklists.find((c) => c.id === found.checklist);
    if (!checklist) throw new UserError(`walkthrough ${found.run} follows checklist "${found.checklist}", which no longer loads`);
    const ids = checklist.steps.map((s) => s.id).join(',');
    if (ids !== found.steps.map((s) => s.id).join(',')) {
      throw new UserError(`checklist "${checklist.id}" changed since walkthrough ${found.run} started (${checklist.source}); finish it with the old file, or start anew`);
    }
    const w = new Walkthrough({ ...opts, checklist }, opts.journal.looseEvents().filter((e) => e.run === found.run));
    w.append({ type: 'cl.resume', by: w.by, operator: opts.operator });
    return w;
  }

  get run(): string {
    return this.summary.run;
  }

  get checklist(): Checklist {
    return this.opts.checklist;
  }

  get state(): WalkSummary {
    return this.summary;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Journals one event (fsynced before this returns) and folds it into the summary. */
  private append(event: Record<string, unknown> & { type: string }): void {
    this.events.push(this.opts.journal.append({ run: this.run, ...event }) as unknown as Ev);
    this.summary = summarizeWalk(this.events)!;
    for (const l of this.listeners) l();
  }

  /** The first step not settled, or null when every step is. */
  get current(): number | null {
    const i = this.summary.steps.findIndex((s) => !isSettled(s.status));
    return i < 0 ? null : i;
  }

  get ended(): boolean {
    return this.summary.outcome !== 'unfinished';
  }

  /** Journals a step's outcome (fsynced before this returns). */
  record(index: number, outcome: ChecklistOutcome | 'started' | 'blocked', extra: { value?: string; note?: string; reason?: string; taskRun?: string; taskOutcome?: string; durationMs?: number } = {}): void {
    const step = this.opts.checklist.steps[index];
    if (!step) throw new Error(`no step ${index}`);
    if (this.ended) throw new UserError(`walkthrough ${this.run} has ended`);
    if (outcome === 'skipped') {
      if (step.required) throw new UserError(`step "${step.title}" is required: it cannot be skipped`);
      if (!extra.reason?.trim()) throw new UserError('skipping a step needs a reason');
    }
    this.append({ type: 'cl.step', step: step.id, index, kind: step.kind, outcome, by: this.by, ...clean(extra) });
  }

  /** Adds a note to any step (the current one, or an earlier one under review). */
  note(index: number, text: string): void {
    const step = this.opts.checklist.steps[index];
    if (!step || !text.trim()) return;
    this.append({ type: 'cl.note', step: step.id, index, text: text.trim(), by: this.by });
  }

  advance(live: LiveContext, taskOutcome: (run: string) => string | null): Need {
    return advance(this, live, taskOutcome);
  }

  answer(need: Need, reply: WalkReply): WalkAnswer {
    return answerStep(this, need, reply);
  }

  taskStarted(index: number, runId: string, taskId: string): void {
    this.record(index, 'started', { taskRun: runId, value: `task ${taskId}` });
  }

  taskEnded(index: number, runId: string, outcome: string, durationMs?: number): void {
    this.record(index, outcome === 'succeeded' ? 'done' : 'failed', { taskRun: runId, taskOutcome: outcome, value: `run ${runId} ${outcome}`, durationMs });
  }

  taskNotStarted(index: number, why: string, run?: { runId: string; durationMs: number }): void {
    this.record(index, 'failed', run ? { taskRun: run.runId, taskOutcome: 'not started', value: why, durationMs: run.durationMs } : { value: why });
  }

  /** Journals the health at the end and how the walkthrough ended. */
  end(outcome: WalkOutcome, health: { snapshot: Snapshot | null; report: HealthReport | null } | null): void {
    if (this.ended) return;
    if (health) this.append({ type: 'cl.snapshot', which: 'end', health: healthRecord(health.snapshot, health.report) });
    this.append({ type: 'cl.end', outcome, by: this.by });
  }

  /** Whether a step's `when` holds: true, false, or null (cannot tell yet). */
  applies(step: ChecklistStep, live: LiveContext): { applies: boolean | null; why: string } {
    const w: When | undefined = step.when;
    if (!w) return { applies: true, why: '' };
    if ('condition' in w) {
      const v = judgeCondition(w.condition, live);
      return { applies: v.pass, why: v.value };
    }
    const ref = 'failed' in w ? w.failed : w.passed;
    const other = this.summary.steps.find((s) => s.id === ref);
    const st = other?.status ?? 'open';
    const passed = st === 'passed' || st === 'overridden' || st === 'done';
    const failed = st === 'failed' || st === 'unknown' || st === 'blocked';
    if (!passed && !failed) return { applies: null, why: `"${ref}" has no outcome yet` };
    const applies = 'failed' in w ? !passed : passed;
    return { applies, why: `"${ref}" ${passed ? 'passed' : 'did not pass'}` };
  }
}

function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
}

// ---------------------------------------------------------------- advancing

/** What the current step needs from whoever drives the walkthrough. */
export type Need =
  | { kind: 'done' }
  /** no health data yet: wait for the next probe round */
  | { kind: 'waiting'; index: number; why: string }
  | { kind: 'confirm' | 'note' | 'input'; index: number }
  | { kind: 'task'; index: number }
  /** a task step whose run stopped without succeeding (interrupted, failed): its recorded outcome */
  | { kind: 'task-stopped'; index: number; taskRun: string; taskOutcome: string }
  | { kind: 'check-failed'; index: number; verdict: Verdict }
  | { kind: 'gate-warn' | 'gate-block'; index: number; verdict: Verdict };

/**
 * Settles every step that needs no operator (checks that pass, gates that pass, steps whose
 * `when` does not hold, task steps whose run the journal shows succeeded) and returns what the
 * first open step needs. `taskOutcome` reads a task run's recorded outcome from the task journal.
 */
export function advance(w: Walkthrough, live: LiveContext, taskOutcome: (run: string) => string | null): Need {
  for (;;) {
    const i = w.current;
    if (i === null) return { kind: 'done' };
    const step = w.checklist.steps[i];
    const rec = w.state.steps[i];
    if (rec.status === 'started' && step.kind === 'task' && rec.taskRun) {
      const outcome = taskOutcome(rec.taskRun) ?? 'unfinished';
      if (outcome === 'succeeded') {
        w.record(i, 'done', { taskRun: rec.taskRun, taskOutcome: outcome, value: `run ${rec.taskRun} succeeded` });
        continue;
      }
      return { kind: 'task-stopped', index: i, taskRun: rec.taskRun, taskOutcome: outcome };
    }
    const when = w.applies(step, live);
    if (when.applies === false) {
      w.record(i, 'not-applicable', { value: when.why });
      continue;
    }
    if (when.applies === null) return { kind: 'waiting', index: i, why: when.why };
    switch (step.kind) {
      case 'check':
      case 'gate': {
        if (!live.report) return { kind: 'waiting', index: i, why: 'waiting for the first health round' };
        const v = judgeCondition(step.condition, live);
        if (v.pass === true) {
          w.record(i, 'passed', { value: v.value });
          continue;
        }
        if (step.kind === 'check') return { kind: 'check-failed', index: i, verdict: v };
        return { kind: step.onFail === 'block' ? 'gate-block' : 'gate-warn', index: i, verdict: v };
      }
      case 'task':
        return { kind: 'task', index: i };
      default:
        return { kind: step.kind, index: i };
    }
  }
}

/** An input step's value, checked against its pattern; throws a one-line error when it does not match. */
export function checkInput(step: ChecklistStep, value: string): string {
  const v = value.trim();
  if (step.kind !== 'input') return v;
  if (!v) throw new UserError(`"${step.title}" needs a value${step.example ? ` (e.g. ${step.example})` : ''}`);
  if (step.pattern && !new RegExp(step.pattern).test(v)) throw new UserError(`"${v}" does not match ${step.pattern}${step.example ? ` (e.g. ${step.example})` : ''}`);
  return v;
}

// ---------------------------------------------------------------- answering

/**
 * What the operator (or the headless runner, for them) replies to the current step's need.
 * - `enter`: go on (confirm, read a note, record a failed check, run a task step, or ask for the
 *   text an input step or a warn gate needs); `note` goes to the journal with the outcome (the
 *   headless runner's "pre-confirmed with --confirm").
 * - `text`: the typed value of an input step, or the word typed at a warn gate ("yes"); `note`
 *   as above (a gate override's default is "operator typed yes").
 * - `skip`: skip the step; without `reason`, asks whether it may be skipped (refused, or `ask skip`).
 * - `end-blocked`: end the walkthrough at a failed gate (the console's x; headless at any failed
 *   gate not pre-confirmed): the gate is recorded blocked, with what was seen.
 * - `give-up`: stop waiting for the data a step needs (headless, after some rounds): recorded unknown.
 */
export type WalkReply =
  | { kind: 'enter'; note?: string }
  | { kind: 'text'; text: string; note?: string }
  | { kind: 'skip'; reason?: string }
  | { kind: 'end-blocked' }
  | { kind: 'give-up' };

/**
 * What became of a reply.
 * - `recorded`: an outcome (or a skip) was journaled; advance again.
 * - `ask`: collect text first (the input value, the yes at a gate, the skip reason), then answer
 *   again with `text` (or `skip` with its reason).
 * - `refused`: nothing recorded; `error` is the one line to show. `retype`: the typed text is
 *   dropped for a new try (a gate's word that is not yes); otherwise it is kept to be corrected.
 * - `wait`: the step waits on data (the next health round); `why` says what it waits for.
 * - `run-task`: the step runs a task: its id and parameters (taskStarted / taskEnded record it).
 * - `end`: the gate was recorded blocked; the walkthrough ends (ChecklistService.finish) blocked.
 */
export type WalkAnswer =
  | { kind: 'recorded' }
  | { kind: 'ask'; what: 'input' | 'gate' | 'skip' }
  | { kind: 'refused'; error: string; retype?: boolean }
  | { kind: 'wait'; why: string }
  | { kind: 'run-task'; index: number; taskId: string; params: Record<string, unknown> }
  | { kind: 'end'; outcome: 'blocked' };

export { skipRefusal };

const refused = (error: string, retype?: boolean): WalkAnswer => (retype ? { kind: 'refused', error, retype } : { kind: 'refused', error });
const note = (n: string | undefined) => (n ? { note: n } : {});

/**
 * The one mapping of a step's need and the reply to what is recorded, for the console and the
 * headless runner alike. A refusal (a required step, a bad value, a word that is not yes, an
 * ended walkthrough) comes back as `refused` with the error line; a journal that cannot be
 * written throws, as record does.
 */
export function answerStep(w: Walkthrough, need: Need, reply: WalkReply): WalkAnswer {
  if (need.kind === 'done') return refused('every step has an outcome');
  const i = need.index;
  const step = w.checklist.steps[i];
  try {
    switch (reply.kind) {
      case 'skip': {
        const no = skipRefusal(step);
        if (no) return refused(no);
        if (reply.reason === undefined) return { kind: 'ask', what: 'skip' };
        w.record(i, 'skipped', { reason: reply.reason });
        return { kind: 'recorded' };
      }
      case 'end-blocked':
        if (need.kind !== 'gate-block' && need.kind !== 'gate-warn') return refused('only a failed gate ends the walkthrough blocked');
        // the gate that stopped it, and what was seen, go to the journal first
        w.record(i, 'blocked', { value: need.verdict.value });
        return { kind: 'end', outcome: 'blocked' };
      case 'give-up':
        if (need.kind !== 'waiting') return refused('only a step waiting for data is given up on');
        w.record(i, 'unknown', { value: need.why });
        return { kind: 'recorded' };
      case 'text':
        if (need.kind === 'input') {
          w.record(i, 'entered', { value: checkInput(step, reply.text), ...note(reply.note) });
          return { kind: 'recorded' };
        }
        if (need.kind === 'gate-warn') {
          if (reply.text.trim().toLowerCase() !== 'yes') return refused(`"${reply.text}" is not yes: type yes to go on past the failed gate, or Esc`, true);
          w.record(i, 'overridden', { value: need.verdict.value, note: reply.note ?? 'operator typed yes' });
          return { kind: 'recorded' };
        }
        return refused('this step takes no typed answer');
      case 'enter':
        switch (need.kind) {
          case 'confirm':
            w.record(i, 'confirmed', note(reply.note));
            return { kind: 'recorded' };
          case 'note':
            w.record(i, 'read', note(reply.note));
            return { kind: 'recorded' };
          case 'input':
            return { kind: 'ask', what: 'input' };
          case 'check-failed':
            w.record(i, need.verdict.pass === null ? 'unknown' : 'failed', { value: need.verdict.value });
            return { kind: 'recorded' };
          case 'gate-warn':
            return { kind: 'ask', what: 'gate' };
          case 'gate-block':
            return refused('blocked: the gate must pass first (x ends the walkthrough here, q leaves it open)');
          case 'waiting':
            return { kind: 'wait', why: need.why };
          case 'task':
          case 'task-stopped':
            if (step.kind !== 'task') return refused(`step "${step.title}" runs no task`);
            return { kind: 'run-task', index: i, taskId: step.task, params: step.params };
        }
    }
  } catch (err) {
    if (err instanceof UserError) return refused(String(err.message).split('\n')[0]);
    throw err;
  }
}
