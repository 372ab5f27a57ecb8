// A run's session, apart from any UI: the run log, the task's connection and the run lock
// (openSession), the runners of a plan, a run, or a past run's rollbacks, and the task registry
// (the built-in tasks, passed in by the composition root, plus the operator's own). Process
// signals are not bound here: each mode's entry point binds them (src/cli/run.ts, screens/console.tsx).
import type pg from 'pg';
import type { Settings } from '../config/load';
import { UserError } from '../errors';
import { operatorIdentity, type Journal, type JournalEvent, type RunSummary } from '../journal';
import { TaskRunner, type LogSink } from './engine';
import { acquireRunLock } from './lock';
import type { Choice, PlanFindings, TaskDef } from './model';
import { readChoices, readPlan, type PlanReadOptions } from './plan-read';
import { loadUserTasks, userTasksDir } from './user-tasks';
import { closeClient, DEFAULT_DB_LIMITS, openClient, type DbLimits, type GuardedClient } from '../util/db';
import { redact } from '../util/redact';
import { sanitizeLine } from '../util/sanitize';

/** The built-in tasks plus the operator's own (config dir tasks/*.yaml), and the load problems. */
export function availableTasks(builtins: readonly TaskDef[]): { tasks: TaskDef[]; errors: string[] } {
  const builtinIds = new Set(builtins.map((t) => t.id));
  const user = loadUserTasks(userTasksDir(), builtinIds);
  return { tasks: [...builtins, ...user.tasks], errors: user.errors };
}

/** --read-only: nothing that changes the target runs (a dry run still shows the plan). */
export function refuseReadOnly(settings: Settings, what: string): void {
  if (settings.readOnly) throw new UserError(`${what}: refused under --read-only (it would change the target); drop --read-only to run it, or see the plan with --dry-run`, 2);
}

export interface Session {
  log: LogSink;
  operator: ReturnType<typeof operatorIdentity>;
  connect: () => Promise<pg.Client>;
  /** before each step: the run lock still holds (after a lost connection: reconnect, take it again) */
  beforeStep: () => Promise<void>;
  /** whether the session has a database connection (a rollback of file steps may go without) */
  readonly hasDatabase: boolean;
  /** the runner the session reports a lost connection or an unwritable log to */
  attach(runner: TaskRunner): void;
  /** stops echoing the run log to the terminal (it is gone); the log file keeps everything */
  mute(): void;
  release(): Promise<void>;
}

export interface SessionOptions {
  /**
   * 'if-reachable': when the database cannot be reached, go on without it (a rollback whose
   * undo only touches files); the lock file then guards this host only. Default 'required'.
   */
  database?: 'required' | 'if-reachable';
  /** aborts opening the session (the console's Esc while "starting the run…") */
  signal?: AbortSignal;
}

/** The limits of every connection a run opens: connect, and each statement of ops' own. */
export function runDbLimits(settings: Settings): DbLimits {
  const ms = settings.config.taskConnectTimeoutMs ?? DEFAULT_DB_LIMITS.connectTimeoutMs;
  return { connectTimeoutMs: ms, queryTimeoutMs: ms };
}

/** Rejects with "cancelled" when `signal` aborts first; `onAbort` cleans up what was opened. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string, onAbort?: (value: T) => void): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.then((v) => onAbort?.(v), () => undefined);
    return Promise.reject(new UserError(`${what}: cancelled`, 1));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      p.then((v) => onAbort?.(v), () => undefined);
      reject(new UserError(`${what}: cancelled`, 1));
    };
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) return;
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/**
 * What a run (or a later rollback of it) needs around the runner: the run log (also echoed to
 * the terminal while there is one), the task's own connection, and the run lock held throughout.
 * Every connection is bounded (taskConnectTimeoutMs); a connection that breaks while the run
 * goes on is said at once and replaced, with the lock taken again, before the next step.
 */
export async function openSession(settings: Settings, task: TaskDef, runId: string, journal: Journal, out: NodeJS.WritableStream, opts: SessionOptions = {}): Promise<Session> {
  const target = settings.target;
  const secrets = target.secrets;
  const operator = operatorIdentity();
  const limits = runDbLimits(settings);
  let runner: TaskRunner | null = null;
  let echo = true;
  const safeWrite = (text: string) => {
    if (!echo) return;
    try {
      out.write(text);
    } catch {
      echo = false; // the terminal is gone; the log on disk has everything
    }
  };
  (out as NodeJS.WriteStream).on?.('error', () => {
    echo = false;
  });
  // a log that cannot be written (a full disk) stops the run at once, as the journal does
  const file = journal.openLog(runId, secrets, { onError: (err) => runner?.failWrite(err) });
  const log: LogSink = {
    write: (line, stream) => {
      file.write(line, stream);
      // the log file keeps the raw bytes; the terminal gets them sanitized (no escapes, one line)
      safeWrite(`${stream === 'err' ? '! ' : stream === 'out' ? '' : '· '}${sanitizeLine(redact(line, secrets))}\n`);
    },
    flush: () => file.flush(),
    close: () => file.close(),
  };
  const what = `${task.id}`;
  // the connection that holds the advisory lock; the task's SQL runs on it too
  let locked: GuardedClient | null = null;
  let handedOut = false;
  let lockLost: Error | null = null;
  const open = (holdsLock: boolean) =>
    openClient(target.connection, limits, {
      applicationName: `ops-console: ${task.id} ${runId}`.slice(0, 63),
      display: target.display,
      onLost: holdsLock
        ? (err) => {
            lockLost = err;
            runner?.connectionLost(err);
          }
        : undefined,
    });
  const cannotConnect = (err: unknown) => new UserError(`${what}: cannot connect to ${target.display}: ${redact(oneLine((err as Error).message), secrets)}`, 1);
  try {
    locked = await abortable(open(true), opts.signal, what, (c) => c.destroy());
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (opts.database !== 'if-reachable') throw cannotConnect(err);
    log.write(`no database connection (${redact(oneLine((err as Error).message), secrets)}): going on without one; the run lock guards this host only`, 'info');
    locked = null;
  }
  const hadDatabase = locked !== null;
  const lock = await abortable(
    acquireRunLock({
      client: locked,
      lockDir: `${journal.dir}/locks`,
      targetKey: target.display,
      holder: { user: operator.user, sshClient: operator.sshClient, host: operator.host, pid: process.pid, task: task.id, runId, since: new Date().toISOString() },
    }),
    opts.signal,
    what,
    (l) => void l.release(),
  ).catch(async (err) => {
    await closeClient(locked, 500);
    throw err instanceof UserError ? err : new UserError(`${what}: cannot take the run lock: ${redact(oneLine((err as Error).message), secrets)}`, 1);
  });
  return {
    log,
    operator,
    hasDatabase: hadDatabase,
    // the first connection, which holds the lock, is the task's; cancel requests get their own
    connect: async () => {
      if (locked && !handedOut && !locked.lost) {
        handedOut = true;
        return locked;
      }
      if (!hadDatabase) {
        // a rollback that went on without the database: try once more, for the step that needs it
        return open(false).catch((err) => {
          throw cannotConnect(err);
        });
      }
      if (lockLost) {
        await relock();
        handedOut = true;
        return locked!;
      }
      return open(false).catch((err) => {
        throw cannotConnect(err);
      });
    },
    beforeStep: async () => {
      if (lockLost) await relock();
    },
    attach(r) {
      runner = r;
    },
    mute() {
      echo = false;
    },
    async release() {
      await lock.release();
      await closeClient(locked, 1000);
    },
  };

  /** After the lock's connection broke: a new one, and the advisory lock on it, or a one-line refusal. */
  async function relock(): Promise<void> {
    const reason = lockLost;
    let next: GuardedClient;
    try {
      next = await open(true);
    } catch (err) {
      throw new UserError(`the run lock went with the lost connection (${oneLine(reason?.message ?? '')}), and the server cannot be reached again: ${redact(oneLine((err as Error).message), secrets)}`, 1);
    }
    try {
      await lock.relock(next);
    } catch (err) {
      await closeClient(next, 500);
      throw new UserError(`the run lock went with the lost connection, and could not be taken again: ${redact(oneLine((err as Error).message), secrets)}`, 1);
    }
    const old = locked;
    locked = next;
    handedOut = false;
    lockLost = null;
    if (old && old !== next) void closeClient(old, 200);
    log.write(`reconnected to ${target.display} and took the run lock again`, 'info');
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

const NO_JOURNAL = { append: () => undefined };
const NO_LOG = { write: () => undefined, flush: () => undefined, close: () => undefined };

/** A runner that only plans (or reads a past run): it journals and logs nothing. */
export function planRunner(settings: Settings, task: TaskDef, params: Record<string, unknown>, runId = 'plan'): TaskRunner {
  return new TaskRunner({ task, params, runId, target: settings.target, config: settings.config, journal: NO_JOURNAL, log: NO_LOG });
}

/** A plan as ops shows it: the steps (and undos) as far as they are known, and what its reading found. */
export interface TaskPlan {
  steps: ReturnType<TaskRunner['plan']>;
  /** the task's read-only reading (TaskDef.plan); null for a task with none */
  findings: PlanFindings | null;
}

/**
 * Reads a task's plan: its read-only reading first, on a connection of its own (every statement
 * READ ONLY, under taskConnectTimeoutMs on both sides), then the steps described with what it
 * found. The one way to a plan: `ops run` (--dry-run, the confirmation, before the run) and the
 * console's task service.
 */
export async function readTaskPlan(settings: Settings, task: TaskDef, params: Record<string, unknown>): Promise<TaskPlan> {
  const findings = await readPlan(task, params, planReadOptions(settings, task));
  return { steps: planRunner(settings, task, params).plan(findings?.values), findings };
}

/** A parameter's pick list (TaskDef.choices), read the plan's read-only way. */
export async function readTaskChoices(settings: Settings, task: TaskDef, param: string, given: Record<string, unknown> = {}): Promise<Choice[]> {
  return await readChoices(task, param, given, planReadOptions(settings, task));
}

function planReadOptions(settings: Settings, task: TaskDef): PlanReadOptions {
  const target = settings.target;
  const limits = runDbLimits(settings);
  return {
    target,
    config: settings.config,
    statementTimeoutMs: limits.queryTimeoutMs,
    connect: () => openClient(target.connection, limits, { applicationName: `ops-console: plan ${task.id}`.slice(0, 63), display: target.display }),
  };
}

/** The runner of a real run (or of a past run's rollbacks) inside an open session. */
export function sessionRunner(settings: Settings, task: TaskDef, params: Record<string, unknown>, runId: string, journal: Journal, session: Session): TaskRunner {
  return new TaskRunner({
    task,
    params,
    runId,
    target: settings.target,
    config: settings.config,
    journal,
    log: session.log,
    operator: { ...session.operator },
    connect: session.connect,
    beforeStep: session.beforeStep,
  });
}

export interface PastRun {
  runId: string;
  summary: RunSummary;
  task: TaskDef;
  events: JournalEvent[];
  /** the parameters as journaled (secrets redacted) */
  params: Record<string, unknown>;
}

/** A past run from the journal, checked to be on this target; errors start with `what`. */
export function pastRun(settings: Settings, journal: Journal, runPrefix: string, what: string, tasks: readonly TaskDef[]): PastRun {
  const runId = journal.findRun(runPrefix);
  const summary = journal.summary(runId);
  if (!summary) throw new UserError(`${what}: run ${runId} has no start in the journal`);
  const task = tasks.find((t) => t.id === summary.task);
  if (!task) throw new UserError(`${what}: run ${runId} used task "${summary.task}", which this ops does not know`);
  if (summary.target !== settings.target.display) {
    throw new UserError(`${what}: run ${runId} ran on ${summary.target}, not on ${settings.target.display}; pass --database or --target for it`, 2);
  }
  const events = journal.events(runId);
  const start = events.find((e) => e.type === 'run.start');
  const params = (start && 'params' in start ? start.params : {}) as Record<string, unknown>;
  return { runId, summary, task, events, params };
}

