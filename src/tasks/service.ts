// What the console's task screens use: one object over the task registry, the engine, the run
// lock and the journal. The screens never open a connection or start a process themselves.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Settings } from '../config/load';
import { UserError } from '../errors';
import { availableTasks, openSession, pastRun, planRunner, readTaskChoices, readTaskPlan, refuseReadOnly, sessionRunner, type Session, type TaskPlan } from './session';
import { interruptedRuns, runsNeedingAttention } from './attention';
import { Journal, type RunSummary } from '../journal';
import { parseParams, TaskRunner, type RunnerLike } from './engine';
import { paramDefaults, type Choice, type TaskDef } from './model';

export type { TaskPlan } from './session';

export interface PlanStep {
  id: string;
  title: string;
  detail: string;
  rollback: string | null;
  irreversible: boolean;
}

/** What the console's screens hold of a run: its id, its task, its runner, and close(). */
export interface RunHandleLike {
  runId: string;
  task: TaskDef;
  runner: RunnerLike;
  /** ends the run if needed, releases the lock and the connection */
  close(): Promise<void>;
}

/** A run in progress (or a past run opened for its rollbacks): the runner plus its session. */
export interface RunHandle extends RunHandleLike {
  runId: string;
  task: TaskDef;
  runner: TaskRunner;
  /** ends the run if needed, releases the lock and the connection */
  close(): Promise<void>;
}

/**
 * Exactly what the console (screens/) uses of the task service; the screens depend on this
 * interface only, and their tests serve fixed data through a fake of it.
 */
export interface TaskServiceLike {
  /** the target, passwords redacted */
  readonly targetDisplay: string;
  /** the database a critical task's confirmation asks the operator to type */
  readonly databaseName: string;
  tasks(): { tasks: TaskDef[]; errors: string[] };
  /** throws a one-line error naming a bad parameter */
  plan(taskId: string, params: Record<string, unknown>): PlanStep[];
  /**
   * The plan with its read-only reading (what it found, a refusal, a pick list), as `ops run
   * --dry-run` shows it; throws a one-line error naming a bad parameter.
   */
  preview?(taskId: string, params: Record<string, unknown>): Promise<TaskPlan>;
  /** each parameter's default as text, for the form (a parameter without one is absent) */
  paramDefaults?(taskId: string): Record<string, string>;
  /** a parameter's pick list, read-only (drop-index's index: unused and invalid indexes with sizes); empty when it has none */
  choices?(taskId: string, param: string, given?: Record<string, unknown>): Promise<Choice[]>;
  /** `signal` gives up opening the session (connecting, taking the lock): nothing runs then */
  start(taskId: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<RunHandleLike>;
  openForRollback(runId: string): Promise<RunHandleLike>;
  /** newest first */
  history(limit?: number): RunSummary[];
  needingAttention(): RunSummary[];
  /** the terminal is gone: running steps finish and are journaled, runs end interrupted */
  hangUp(): Promise<void>;
  /** a run's full log, or null */
  log(runId: string): string | null;
}

export class TaskService implements TaskServiceLike {
  private readonly journal: Journal;
  private readonly active = new Set<RunHandle>();

  /** `builtins`: the built-in tasks (tasks/index.ts BUILTIN_TASKS, passed in by bin/) */
  constructor(
    private readonly settings: Settings,
    private readonly builtins: readonly TaskDef[],
  ) {
    this.journal = new Journal(undefined, { secrets: settings.target.secrets });
  }

  get targetDisplay(): string {
    return this.settings.target.display;
  }

  get databaseName(): string {
    return this.settings.target.database;
  }

  tasks(): { tasks: TaskDef[]; errors: string[] } {
    return availableTasks(this.builtins);
  }

  task(id: string): TaskDef {
    const t = this.tasks().tasks.find((x) => x.id === id);
    if (!t) throw new UserError(`unknown task "${id}"`);
    return t;
  }

  /** The plan for these parameters; throws a one-line UserError naming a bad parameter. */
  plan(taskId: string, params: Record<string, unknown>): PlanStep[] {
    const task = this.task(taskId);
    return this.planner(task, parseParams(task, params)).plan();
  }

  private planner(task: TaskDef, params: Record<string, unknown>): TaskRunner {
    return planRunner(this.settings, task, params);
  }

  /** The plan with its read-only reading, through the one path ops run takes (readTaskPlan). */
  async preview(taskId: string, params: Record<string, unknown>): Promise<TaskPlan> {
    const task = this.task(taskId);
    return await readTaskPlan(this.settings, task, parseParams(task, params));
  }

  async choices(taskId: string, param: string, given: Record<string, unknown> = {}): Promise<Choice[]> {
    return await readTaskChoices(this.settings, this.task(taskId), param, given);
  }

  paramDefaults(taskId: string): Record<string, string> {
    return paramDefaults(this.task(taskId), { config: this.settings.config, target: this.settings.target });
  }

  /**
   * Opens the session (connection, run lock) and starts the run; resolves once it started. The
   * plan is read first: a refusal (a bad value, a missing directory) rejects here, one line,
   * before anything runs or is journaled.
   */
  async start(taskId: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<RunHandle> {
    const task = this.task(taskId);
    refuseReadOnly(this.settings, task.id);
    const parsed = parseParams(task, params);
    const { findings } = await readTaskPlan(this.settings, task, parsed);
    if (findings?.refusal) throw new UserError(`${task.id}: ${findings.refusal}`, 1);
    if (signal?.aborted) throw new UserError(`${task.id}: cancelled`, 1);
    const runId = this.journal.newRunId(task.id);
    const session = await openSession(this.settings, task, runId, this.journal, discard(), { signal });
    const runner = sessionRunner(this.settings, task, parsed, runId, this.journal, session);
    const handle = this.handle(runId, task, runner, session);
    // run() journals its own failures; anything else still ends the run, never the console
    runner.run().catch((err: unknown) => runner.failWrite(err instanceof Error ? err : new Error(String(err))));
    return handle;
  }

  /** Opens a past run for its rollbacks (the emergency rollback session). */
  async openForRollback(runId: string): Promise<RunHandle> {
    refuseReadOnly(this.settings, `rollback ${runId}`);
    const { task, events, params } = pastRun(this.settings, this.journal, runId, 'rollback', this.tasks().tasks);
    const session = await openSession(this.settings, task, runId, this.journal, discard(), { database: 'if-reachable' });
    const runner = sessionRunner(this.settings, task, params, runId, this.journal, session);
    runner.restore(events);
    return this.handle(runId, task, runner, session);
  }

  private handle(runId: string, task: TaskDef, runner: TaskRunner, session: Session): RunHandle {
    // no signals here: the console's entry (screens/console.tsx) owns them, and a hang-up
    // reaches the runs through hangUp()
    session.attach(runner);
    let closed = false;
    const handle: RunHandle = {
      runId,
      task,
      runner,
      close: async () => {
        if (closed) return;
        closed = true;
        this.active.delete(handle);
        const touched = runner.state.steps.some((s) => s.status !== 'pending' || s.rollback !== 'none');
        if (runner.state.phase !== 'done' && touched) runner.end();
        await session.release();
      },
    };
    this.active.add(handle);
    return handle;
  }

  /** Runs in progress (the console waits for them on a hang-up). */
  get running(): RunHandle[] {
    return [...this.active].filter((h) => h.runner.state.phase === 'running' || h.runner.state.phase === 'rolling back');
  }

  /**
   * The terminal is gone: let every running step finish (it is not killed), record it, mark the
   * runs interrupted, then release them. Resolves when all have stopped.
   */
  async hangUp(): Promise<void> {
    await Promise.all(
      [...this.active].map(async (h) => {
        h.runner.interrupt('terminal hung up (SIGHUP): the running step finishes, then the run stops');
        await waitUntil(() => h.runner.state.phase !== 'running' && h.runner.state.phase !== 'rolling back', h.runner);
        if (h.runner.state.phase !== 'done') h.runner.end(h.runner.state.outcome === 'interrupted' ? 'interrupted' : undefined);
        await h.close();
      }),
    );
  }

  history(limit = 50): RunSummary[] {
    return this.journal.runs({ limit });
  }

  needingAttention(): RunSummary[] {
    return runsNeedingAttention(this.journal, { tasks: this.tasks().tasks });
  }

  interrupted(): RunSummary[] {
    return interruptedRuns(this.journal);
  }

  log(runId: string): string | null {
    try {
      return readFileSync(this.journal.logPath(runId), 'utf8');
    } catch {
      return null;
    }
  }
}

function waitUntil(done: () => boolean, runner: TaskRunner): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = runner.subscribe(() => {
      if (done()) {
        off();
        resolve();
      }
    });
  });
}

/** The console draws output from the runner's ring buffer; nothing is echoed to the terminal. */
function discard(): NodeJS.WritableStream {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
