// The journal's event types, as written and as read.
import type { Operator } from './operator';

import type { Risk } from '../risk';
export type { Risk } from '../risk';
/** How a task step (or its rollback) ended, as the journal records it. */
export type StepEnd = 'ok' | 'failed' | 'cancelled' | 'timeout';
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'rolled back' | 'interrupted' | 'refused';

export interface EventBase {
  v: 1;
  /** ISO 8601, UTC */
  ts: string;
  /** per run, from 1 */
  seq: number;
  run: string;
}

export interface StepPlan {
  id: string;
  title: string;
  /** what undoes the step (display), or null when nothing does */
  rollback: string | null;
  irreversible: boolean;
  /** its undo only deletes the run's own output (a backup's dump): a succeeded run needs no attention */
  discardsOutput?: boolean;
  /** its undo only clears what a failed attempt leaves: a succeeded run needs no attention */
  cleanupOnly?: boolean;
}

export interface RunStartEvent extends EventBase {
  type: 'run.start';
  task: string;
  title: string;
  risk: Risk;
  params: Record<string, unknown>;
  target: string;
  operator: Operator | null;
  steps: StepPlan[];
  dryRun: boolean;
  resumeOf?: string;
}

export interface StepStartEvent extends EventBase {
  type: 'step.start';
  step: string;
  index: number;
  attempt: number;
  /** the exact command (argv joined) or SQL */
  detail: string;
  /** the process group of the step's command (a command step), to find it after ops died */
  pgid?: number;
  /** the backend pid of the task's database connection when the step started */
  backendPid?: number;
  /** what undoes the step should it have run with no end recorded (the values so far); absent when nothing does */
  rollback?: string;
}

export interface StepFinishEvent extends EventBase {
  type: 'step.finish';
  step: string;
  index: number;
  outcome: StepEnd;
  exitCode: number | null;
  durationMs: number;
  error?: string;
  /** values the step passed forward */
  values?: Record<string, unknown>;
  /** what undoes the step, with the values it captured: exactly what its rollback runs */
  rollback?: string;
}

export interface RollbackStartEvent extends EventBase {
  type: 'rollback.start';
  step: string;
  index: number;
  detail: string;
}

export interface RollbackFinishEvent extends EventBase {
  type: 'rollback.finish';
  step: string;
  index: number;
  outcome: StepEnd;
  exitCode: number | null;
  durationMs: number;
  error?: string;
}

export interface RunEndEvent extends EventBase {
  type: 'run.end';
  outcome: RunOutcome;
  error?: string;
}

export interface NoteEvent extends EventBase {
  type: 'note';
  text: string;
}

export type JournalEvent =
  | RunStartEvent
  | StepStartEvent
  | StepFinishEvent
  | RollbackStartEvent
  | RollbackFinishEvent
  | RunEndEvent
  | NoteEvent;

export type JournalEventType = JournalEvent['type'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What `append` takes: an event without `v`, and with `ts` and `seq` optional (filled in). */
export type JournalEventInput = DistributiveOmit<JournalEvent, 'v' | 'ts' | 'seq'> & { ts?: string; seq?: number };

/**
 * An event as another module builds it: the task engine stamps `v`, `ts` and `seq` itself
 * (tasks/engine.ts's JournalSink). Written as given (redacted and size-limited like any other).
 */
export interface LooseEventInput {
  v?: 1;
  ts?: string;
  seq?: number;
  run: string;
  type: string;
  [k: string]: unknown;
}

/** An event of any type, as `looseEvents` gives it. */
export type LooseEvent = LooseEventInput & { v: 1; ts: string; seq: number };

export type Obj = Record<string, unknown>;

export function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function isLooseEvent(x: unknown): x is LooseEvent {
  return isObj(x) && x.v === 1 && typeof x.run === 'string' && typeof x.ts === 'string' && typeof x.type === 'string';
}
