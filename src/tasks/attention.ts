// The attention queries over the task journal: runs that still have rollbacks to apply or never
// ended cleanly, runs left interrupted, and the start-up notice the console and ops run show.
import { hostname } from 'node:os';
import type { Journal, JournalEvent, RunSummary } from '../journal';
import { groupAlive } from './engine';
import type { TaskDef } from './model';

/** A run as the emergency list shows it: its summary and one line saying what it changed. */
export type AttentionRun = RunSummary & { changed?: string | null };

export interface AttentionOptions {
  limit?: number;
  /** the task definitions (their `changed` and `discardsOutput`); without them a generic line */
  tasks?: readonly TaskDef[];
}

/**
 * Runs that still have something to undo, or that never ended cleanly; newest first, each with
 * what it changed (runChanged). A succeeded run whose pending undos only delete its own output
 * (StepDef.discardsOutput: a backup's rm -f of its dump), or only clear what a failed attempt leaves
 * (StepDef.cleanupOnly: REINDEX CONCURRENTLY's INVALID indexes), is left out: it stays in the history.
 */
export function runsNeedingAttention(journal: Journal, opts: AttentionOptions | number = {}): AttentionRun[] {
  const { limit = 50, tasks = [] } = typeof opts === 'number' ? { limit: opts } : opts;
  return needingAttention(journal.runs({ limit }), (run) => journal.events(run), tasks);
}

/**
 * The same rule over runs from anywhere (the journal's mirror gives every host's): those with
 * rollbacks not applied, or that stopped mid-way, less those whose only undo discards their output.
 */
export function needingAttention(runs: readonly RunSummary[], eventsOf: (run: string) => readonly JournalEvent[], tasks: readonly Pick<TaskDef, 'id' | 'steps' | 'changed'>[] = []): AttentionRun[] {
  const out: AttentionRun[] = [];
  for (const r of runs) {
    if (!(r.pendingRollbacks > 0 || r.outcome === 'interrupted' || r.outcome === 'unfinished' || r.steps.some((s) => s.status === 'started'))) continue;
    let events: readonly JournalEvent[] = [];
    try {
      events = eventsOf(r.run);
    } catch {
      // the summary alone still lists it
    }
    const task = tasks.find((t) => t.id === r.task);
    if (onlyDiscardsOutput(r, task, events)) continue;
    out.push({ ...r, changed: runChanged(task, r, events) });
  }
  return out;
}

/**
 * Whether a succeeded run has nothing left that needs undoing: each pending undo's step is marked
 * discardsOutput (it deletes the run's own output) or cleanupOnly (it clears what a failed attempt
 * leaves), in its run.start (when journaled) or its definition.
 */
function onlyDiscardsOutput(r: RunSummary, task: Pick<TaskDef, 'steps'> | undefined, events: readonly JournalEvent[]): boolean {
  if (r.outcome !== 'succeeded' || r.pendingRollbacks === 0) return false;
  const start = events.find((e) => e.type === 'run.start');
  const planned = start && start.type === 'run.start' && Array.isArray(start.steps) ? (start.steps as { id?: unknown; discardsOutput?: unknown; cleanupOnly?: unknown }[]) : [];
  const pending = r.steps.filter((s) => s.status === 'ok' && s.rollback !== null && !s.rolledBack);
  return pending.every((s) => {
    const p = planned.find((x) => x && x.id === s.id);
    if (p && (typeof p.discardsOutput === 'boolean' || typeof p.cleanupOnly === 'boolean')) return p.discardsOutput === true || p.cleanupOnly === true;
    const d = task?.steps.find((x) => x.id === s.id);
    return d?.discardsOutput === true || d?.cleanupOnly === true;
  });
}

/** What a run's journal holds for its summary line: its parameters and its succeeded steps' values, merged in order. */
export function journaledValues(events: readonly JournalEvent[]): { params: Record<string, unknown>; values: Record<string, unknown> } {
  let params: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  for (const e of events) {
    if (e.type === 'run.start' && e.params && typeof e.params === 'object') params = e.params;
    else if (e.type === 'step.finish' && e.outcome === 'ok' && e.values && typeof e.values === 'object' && !Array.isArray(e.values)) Object.assign(values, e.values);
  }
  return { params, values };
}

/**
 * The one line saying what a run changed, from its journal only (so it holds after a restart):
 * the task's own `changed` over the journaled values, else what its steps did. The emergency
 * list of `ops rollback` and the console's `u` both show it.
 */
export function runChanged(task: Pick<TaskDef, 'changed'> | undefined, r: RunSummary, events: readonly JournalEvent[]): string {
  if (task?.changed) {
    try {
      const { params, values } = journaledValues(events);
      const line = task.changed(values, params);
      if (line) return oneLine(line);
    } catch {
      // an old journal without the values it reads: the generic line
    }
  }
  return stepsLine(r);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** What a run's steps did, for a task that does not say: "done: A, B; started, outcome unknown: C". */
function stepsLine(r: RunSummary): string {
  const done = r.steps.filter((s) => s.status === 'ok' && !s.rolledBack).map((s) => s.title);
  const started = r.steps.filter((s) => s.status === 'started').map((s) => s.title);
  const parts: string[] = [];
  if (done.length) parts.push(`done: ${done.join(', ')}`);
  if (started.length) parts.push(`started, outcome unknown: ${started.join(', ')}`);
  return parts.length ? parts.join('; ') : 'no step completed';
}

/**
 * What is known of a step that started and has no recorded end: its process group, and whether
 * anything of it still runs on this host. "" when nothing more is known.
 */
export function unknownStepState(s: { pgid?: number | null; backendPid?: number | null }, runHost: string | null | undefined): string {
  const parts: string[] = [];
  if (typeof s.pgid === 'number' && s.pgid > 0) {
    if (runHost && runHost !== hostname()) parts.push(`its process group ${s.pgid} ran on ${runHost}`);
    else parts.push(groupAlive(s.pgid) ? `its process group ${s.pgid} is still running` : `its process group ${s.pgid} has ended`);
  }
  if (typeof s.backendPid === 'number' && s.backendPid > 0) parts.push(`its statement ran as backend pid ${s.backendPid}`);
  return parts.join('; ');
}

/** Runs that stopped without ending: interrupted (hang-up), or left unfinished by a process that died. */
export function interruptedRuns(journal: Journal, limit = 50): RunSummary[] {
  const host = hostname();
  return journal.runs({ limit }).filter((r) => {
    if (r.outcome === 'interrupted') return r.pendingRollbacks > 0 || r.steps.some((s) => s.status === 'pending' || s.status === 'started');
    if (r.outcome !== 'unfinished' || !r.operator) return false;
    if (r.operator.host !== host) return false; // cannot tell whether it still runs there
    try {
      process.kill(r.operator.pid, 0);
      return false; // still running
    } catch {
      return true;
    }
  });
}

/** The line the console (and ops run) shows at start when a run was left interrupted. */
export function startupNotice(journal: Journal): string | null {
  let runs: RunSummary[];
  try {
    runs = interruptedRuns(journal);
  } catch {
    return null; // an unreadable journal must not stop the console
  }
  if (runs.length === 0) return null;
  if (runs.length > 1) return `${runs.length} runs were interrupted; "ops rollback" lists them`;
  const r = runs[0];
  const started = r.steps.find((s) => s.status === 'started');
  if (started) {
    const known = unknownStepState(started as { pgid?: number | null; backendPid?: number | null }, r.operator?.host);
    return `run ${r.run} (${r.task}) stopped mid-step: "${started.title}" may have run${known ? ` (${known})` : ''}; "ops rollback ${r.run}" shows what ran and how to undo it`;
  }
  const at = r.steps.find((s) => s.status === 'pending');
  return `run ${r.run} (${r.task}) was interrupted${at ? ` at "${at.title}"` : ''}; "ops rollback ${r.run}" shows what ran and how to undo it`;
}
