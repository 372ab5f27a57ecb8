// Run summaries: one run's events folded, in journal order, into what history and the console show.
import { isObj, type JournalEvent, type Risk, type RunOutcome, type StepEnd } from './events';
import type { Operator } from './operator';

export type JournalStepState = 'pending' | 'started' | StepEnd;

export interface StepSummary {
  id: string;
  title: string;
  /** 'started': a start and no finish, so it ran with an unknown outcome */
  status: JournalStepState;
  rolledBack: boolean;
  rollback: string | null;
  irreversible: boolean;
  /** 'none' when no rollback of this step was started */
  rollbackStatus: 'none' | 'started' | StepEnd;
  attempts: number;
  durationMs: number | null;
  exitCode: number | null;
  error?: string;
  /**
   * The process group of the step's last start (null when it recorded none): with status
   * 'started', what may still run ("outcome unknown, its process group N"). Always set by
   * summarize; optional only so that summaries built by hand need not name it.
   */
  pgid?: number | null;
  /** the task connection's backend pid at the step's last start, or null */
  backendPid?: number | null;
}

export interface RunSummary {
  run: string;
  task: string;
  title: string;
  risk: Risk | '?';
  target: string;
  operator: Operator | null;
  startedAt: string;
  endedAt: string | null;
  /** 'unfinished': no run.end (still running, or the process died) */
  outcome: RunOutcome | 'unfinished';
  error?: string;
  dryRun: boolean;
  resumeOf?: string;
  steps: StepSummary[];
  /** completed (ok) steps with a rollback that has not been applied */
  pendingRollbacks: number;
  notes: { ts: string; text: string }[];
}

export function emptySummary(run: string, ts: string): RunSummary {
  return {
    run,
    task: '?',
    title: '?',
    risk: '?',
    target: '?',
    operator: null,
    startedAt: ts,
    endedAt: null,
    outcome: 'unfinished',
    dryRun: false,
    steps: [],
    pendingRollbacks: 0,
    notes: [],
  };
}

function newStep(id: string, title: string, rollback: string | null, irreversible: boolean): StepSummary {
  return { id, title, status: 'pending', rolledBack: false, rollback, irreversible, rollbackStatus: 'none', attempts: 0, durationMs: null, exitCode: null, pgid: null, backendPid: null };
}

function stepFor(s: RunSummary, id: string, index: unknown): StepSummary {
  let step = s.steps.find((x) => x.id === id);
  if (!step && typeof index === 'number' && s.steps[index]?.id === id) step = s.steps[index];
  if (!step) {
    step = newStep(id, id, null, false);
    s.steps.push(step);
  }
  return step;
}

/** Folds one more event of the run (in journal order) into its summary. */
export function fold(s: RunSummary, e: JournalEvent): void {
  switch (e.type) {
    case 'run.start':
      s.task = String(e.task ?? '?');
      s.title = String(e.title ?? s.task);
      s.risk = e.risk ?? '?';
      s.target = String(e.target ?? '?');
      s.operator = isObj(e.operator) ? e.operator : null;
      s.startedAt = e.ts;
      s.dryRun = e.dryRun === true;
      if (e.resumeOf) s.resumeOf = e.resumeOf;
      s.steps = (Array.isArray(e.steps) ? e.steps : []).filter(isObj).map((p) => newStep(String(p.id), String(p.title ?? p.id), p.rollback ?? null, p.irreversible === true));
      break;
    case 'step.start': {
      const st = stepFor(s, e.step, e.index);
      st.status = 'started';
      st.attempts = Math.max(st.attempts + 1, typeof e.attempt === 'number' ? e.attempt : 0);
      st.durationMs = null;
      st.exitCode = null;
      st.pgid = typeof e.pgid === 'number' ? e.pgid : null;
      st.backendPid = typeof e.backendPid === 'number' ? e.backendPid : null;
      // the undo as it stands at the step's start (a run's plan could not know its values)
      if (typeof e.rollback === 'string') st.rollback = e.rollback;
      delete st.error;
      break;
    }
    case 'step.finish': {
      const st = stepFor(s, e.step, e.index);
      st.status = e.outcome;
      st.durationMs = typeof e.durationMs === 'number' ? e.durationMs : null;
      st.exitCode = e.exitCode ?? null;
      if (e.error) st.error = e.error;
      // the undo with the values the step captured: what its rollback runs
      if (typeof e.rollback === 'string') st.rollback = e.rollback;
      break;
    }
    case 'rollback.start':
      stepFor(s, e.step, e.index).rollbackStatus = 'started';
      break;
    case 'rollback.finish': {
      const st = stepFor(s, e.step, e.index);
      st.rollbackStatus = e.outcome;
      if (e.outcome === 'ok') st.rolledBack = true;
      break;
    }
    case 'run.end':
      s.outcome = e.outcome;
      s.endedAt = e.ts;
      if (e.error) s.error = e.error;
      break;
    case 'note':
      s.notes.push({ ts: e.ts, text: String(e.text) });
      break;
  }
}

export function finish(s: RunSummary): RunSummary {
  s.pendingRollbacks = s.steps.filter((x) => x.status === 'ok' && x.rollback !== null && !x.rolledBack).length;
  return s;
}

/** Folds one run's events (in journal order) into its summary. */
export function summarize(run: string, events: readonly JournalEvent[]): RunSummary {
  const s = emptySummary(run, events[0]?.ts ?? '');
  for (const e of events) fold(s, e);
  return finish(s);
}
