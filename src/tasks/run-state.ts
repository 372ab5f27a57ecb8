// The state of one task run as the screens and the CLI read it (its steps, phase, outcome and
// recent output), the sinks a run writes to (journal, run log), the runner's options, and
// RunnerLike, the part of the runner the console's screens use. Types only, plus the state a
// run starts in. src/tasks/engine.ts re-exports all of it.
import type pg from 'pg';
import { LineRing } from '../util/ring';
import type { RunContext, TaskDef } from './model';
import type { StepProgress } from './progress';

export type LiveStepState = 'pending' | 'running' | 'ok' | 'failed' | 'cancelled' | 'timeout';
export type RollbackStatus = 'none' | 'running' | 'done' | 'failed';
export type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'rolled back' | 'interrupted';

export interface StepState {
  id: string;
  title: string;
  status: LiveStepState;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  error: string | null;
  /** what the step ran (argv or SQL), once it started */
  detail: string | null;
  irreversible: boolean;
  hasRollback: boolean;
  rollback: RollbackStatus;
  /** the running step's live progress (src/tasks/progress.ts), while it shows any */
  progress?: StepProgress | null;
}

export interface RunState {
  runId: string;
  task: string;
  title: string;
  risk: TaskDef['risk'];
  steps: StepState[];
  /** index of the running step (or rollback), else null */
  current: number | null;
  phase: 'ready' | 'running' | 'stopped' | 'rolling back' | 'done';
  outcome: Outcome | null;
  /** the recent output lines, for the screen */
  output: LineRing;
  /**
   * Why the run had to stop whatever its steps did: the journal or the run log could not be
   * written (a full disk), or the run lock was lost. One line, for the operator.
   */
  fault: string | null;
}

/** Where events go: src/journal.ts's Journal (appends and fsyncs each one). */
export interface JournalSink {
  append(event: { v: 1; ts: string; seq: number; run: string; type: string; [k: string]: unknown }): void;
}

/** Where every output line goes: the run's log file. */
export interface LogSink {
  write(line: string, stream: 'out' | 'err' | 'notice' | 'info'): void;
  flush(): void;
  close(): void;
}

export interface RollbackItem {
  step: string;
  index: number;
  title: string;
  /** what the rollback will run */
  detail: string;
  /**
   * the step started but its end was never recorded (ops was killed mid-step): it may have run,
   * in part or whole
   */
  mayHaveRun?: boolean;
}

export interface RunnerOptions {
  task: TaskDef;
  /** raw parameters; validated against task.params */
  params: unknown;
  runId: string;
  target: RunContext['target'];
  config: RunContext['config'];
  journal: JournalSink;
  log: LogSink;
  /** who runs it, journaled with run.start */
  operator?: Record<string, unknown>;
  /** opens the task's own PostgreSQL connection (the console's second, at most) */
  connect?: () => Promise<pg.Client>;
  /** between SIGINT, SIGTERM and SIGKILL on cancel; default 3 s */
  graceMs?: number;
  /** lines kept in memory for the screen; default 2000 */
  ringLines?: number;
  /**
   * Called before each step and rollback: the session makes sure the run lock still holds (after
   * a lost connection it reconnects and takes it again). A throw stops the run there.
   */
  beforeStep?: () => Promise<void>;
  /** how long a statement runs before its progress is first read; default 1 s */
  progressAfterMs?: number;
}

/**
 * The part of TaskRunner the console's screens use: its state (read at each redraw), change
 * notifications, cancel, and the rollback prompt. Screen tests drive a fake of it.
 */
export interface RunnerLike {
  readonly state: RunState;
  /** called after every change; returns the unsubscribe */
  subscribe(fn: () => void): () => void;
  cancel(): void;
  /** the completed steps' rollbacks, newest first (and steps that may have run, marked) */
  rollbackPlan(): RollbackItem[];
  /** runs the chosen rollbacks, newest step first */
  rollback(stepIds: readonly string[]): Promise<{ step: string; ok: boolean; error?: string }[]>;
  /** writes run.end */
  end(outcome?: Outcome): void;
}

/** A run's state before it starts: every step pending. */
export function initialRunState(task: TaskDef, runId: string, ringLines: number): RunState {
  return {
    runId,
    task: task.id,
    title: task.title,
    risk: task.risk,
    steps: task.steps.map((s) => ({
      id: s.id,
      title: s.title,
      status: 'pending',
      startedAt: null,
      endedAt: null,
      exitCode: null,
      error: null,
      detail: null,
      irreversible: !!s.irreversible,
      hasRollback: !!s.rollback,
      rollback: 'none',
    })),
    current: null,
    phase: 'ready',
    outcome: null,
    output: new LineRing(ringLines),
    fault: null,
  };
}
