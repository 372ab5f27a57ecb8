// A walkthrough: one operator's pass through a checklist, journaled step by step in
// `checklists.jsonl` beside the task journal (appended and fsynced per event, like it), so that a
// dropped connection loses nothing and `ops checklist resume` continues at the first open step.
//
// The Walkthrough records outcomes; `advance` does what the console can do by itself (checks,
// passing gates, steps whose `when` does not hold) and says what the current step needs from
// the operator; `answerStep` (WalkHandle.answer) maps that need and the operator's reply to what
// is recorded. The console and the headless runner both drive it through the WalkHandle.
//
// The checklist journal's records and their reading (summarizeWalk, listWalks, findWalk) are
// walk-journal.ts; the replies and answers answerStep maps between are walk-reply.ts. This
// module re-exports both.
import { formatOperator, type Journal, type LooseEvent, type Operator } from '../journal';
import { UserError } from '../config/load';
import type { HealthReport, Snapshot } from '../types';
import { describeWindow, inWindow, judgeCondition, type LiveContext, type Verdict } from './conditions';
import type { Checklist, ChecklistStep, When } from './model';
import { skipRefusal } from './skip';
import { findWalk, healthRecord, isSettled, summarizeWalk, type ChecklistOutcome, type WalkOutcome, type WalkSummary } from './walk-journal';
import { checkInput, type WalkAnswer, type WalkReply } from './walk-reply';

export {
  CHECKLIST_JOURNAL,
  checklistJournal,
  findWalk,
  healthRecord,
  isSettled,
  latestCompleted,
  listWalks,
  summarizeWalk,
  unfinishedWalks,
  type ChecklistOutcome,
  type ChecklistStepState,
  type HealthRecord,
  type StepRecord,
  type WalkOutcome,
  type WalkSummary,
} from './walk-journal';
export { checkInput, type WalkAnswer, type WalkReply } from './walk-reply';

type Ev = LooseEvent;

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
      case 'confirm':
      case 'note':
      case 'input':
        return { kind: step.kind, index: i };
      default: {
        // a new kind of step fails to compile here until advance settles it or says what it needs
        const unhandled: never = step;
        throw new Error(`no need for a step of kind ${(unhandled as ChecklistStep).kind}`);
      }
    }
  }
}

// ---------------------------------------------------------------- answering

export { skipRefusal };

const refused = (error: string, retype?: boolean): WalkAnswer => (retype ? { kind: 'refused', error, retype } : { kind: 'refused', error });
const note = (n: string | undefined) => (n ? { note: n } : {});
/** A new kind of Need fails to compile where this is called until answerStep maps its replies. */
const unhandledNeed = (need: never): never => {
  throw new Error(`no answer for a need of kind ${(need as Need).kind}`);
};

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
        switch (need.kind) {
          case 'input':
            w.record(i, 'entered', { value: checkInput(step, reply.text), ...note(reply.note) });
            return { kind: 'recorded' };
          case 'gate-warn':
            if (reply.text.trim().toLowerCase() !== 'yes') return refused(`"${reply.text}" is not yes: type yes to go on past the failed gate, or Esc`, true);
            w.record(i, 'overridden', { value: need.verdict.value, note: reply.note ?? 'operator typed yes' });
            return { kind: 'recorded' };
          case 'waiting':
          case 'confirm':
          case 'note':
          case 'task':
          case 'task-stopped':
          case 'check-failed':
          case 'gate-block':
            return refused('this step takes no typed answer');
          default:
            return unhandledNeed(need);
        }
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
          default:
            return unhandledNeed(need);
        }
    }
  } catch (err) {
    if (err instanceof UserError) return refused(String(err.message).split('\n')[0]);
    throw err;
  }
}
