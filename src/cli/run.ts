// `ops run TASK [--param k=v ...] [--dry-run] [--yes]`: one task, headless or at a plain
// terminal prompt. The console's task screens drive the same TaskRunner.
import type pg from 'pg';
import { UserError, type Settings } from '../config/load';
import { Journal, operatorIdentity, type JournalEvent, type RunSummary } from '../journal';
import { groupAlive, parseParams, TaskRunner, type LogSink } from '../tasks/engine';
import { hostname } from 'node:os';
import { acquireRunLock } from '../tasks/lock';
import type { TaskDef } from '../tasks/model';
import { confirmationFor, type Confirmation } from '../tasks/confirm';
import { readlinePrompter, typeWordQuestion, type Prompter } from './prompt';
import { closeClient, DEFAULT_DB_LIMITS, openClient, type DbLimits, type GuardedClient } from '../util/db';
import { redact } from '../util/redact';
import { sanitizeLine, sanitizeText } from '../util/sanitize';
import { BUILTIN_TASKS } from '../../tasks/index';
import { loadUserTasks, userTaskSource, userTasksDir } from '../tasks/user-tasks';
import { startupNotice } from './rollback';

/**
 * `--param k=v` pairs to an object. Values stay strings (tasks coerce numbers); a value in JSON
 * list or object syntax is parsed; a repeated key makes a list.
 */
export function parseParamFlags(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UserError(`--param: expected KEY=VALUE, got "${redact(p)}"`, 2);
    const key = p.slice(0, eq);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    if (/^\s*[[{]/.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new UserError(`--param ${key}: not valid JSON: ${redact(raw)}`, 2);
      }
    }
    if (key in out) out[key] = ([] as unknown[]).concat(out[key], value);
    else out[key] = value;
  }
  return out;
}

/** The built-in tasks plus the operator's own (config dir tasks/*.yaml), and the load problems. */
export function availableTasks(): { tasks: TaskDef[]; errors: string[] } {
  const builtinIds = new Set(BUILTIN_TASKS.map((t) => t.id));
  const user = loadUserTasks(userTasksDir(), builtinIds);
  return { tasks: [...BUILTIN_TASKS, ...user.tasks], errors: user.errors };
}

export function taskOrFail(id: string | undefined): TaskDef {
  const { tasks, errors } = availableTasks();
  const ids = tasks.map((t) => t.id).join(', ');
  if (!id) throw new UserError(`run: name a task (${ids})`, 2);
  const t = tasks.find((x) => x.id === id);
  if (!t) {
    const hint = errors.length ? `; a task file did not load: ${errors[0]}` : '';
    throw new UserError(`run: unknown task "${id}" (tasks: ${ids})${hint}`, 2);
  }
  return t;
}

export function listTasks(warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const { tasks, errors } = availableTasks();
  for (const e of errors) warn(`ops: warning: ${e}`);
  const w = Math.max(...tasks.map((t) => t.id.length));
  return `${tasks.map((t) => `${t.id.padEnd(w)}  ${t.risk.padEnd(8)}  ${t.title}${userTaskSource(t) ? `  (${userTaskSource(t)})` : ''}`).join('\n')}\n`;
}

function planText(runner: TaskRunner, task: TaskDef, params: Record<string, unknown>, target: string): string {
  const lines = [`${task.id} (${task.risk} risk) on ${target}`, `  ${task.description}`];
  const shown = JSON.stringify(params);
  if (shown !== '{}') lines.push(`  parameters: ${shown}`);
  runner.plan().forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}${s.irreversible ? '  [IRREVERSIBLE]' : ''}`);
    lines.push(`       runs: ${s.detail}`);
    lines.push(`       undo: ${s.rollback ?? (s.irreversible ? 'none: cannot be undone' : 'nothing to undo')}`);
  });
  return `${lines.join('\n')}\n`;
}

/** Asks what the policy (confirmationFor) says: y/N after the plan, or the word typed. */
function confirmRun(prompter: Prompter, c: Confirmation): Promise<boolean> {
  return prompter.confirmAs(c, {
    yesNo: `${c.kind === 'yes-no' && c.irreversible ? 'This task has an irreversible step. ' : ''}Run it? [y/N] `,
    typeWord: c.kind === 'type-word' ? `This is a critical task. ${typeWordQuestion(c.word, c.what)}` : undefined,
  });
}

/** --read-only: nothing that changes the target runs (a dry run still shows the plan). */
export function refuseReadOnly(settings: Settings, what: string): void {
  if (settings.readOnly) throw new UserError(`${what}: refused under --read-only (it would change the target); drop --read-only to run it, or see the plan with --dry-run`, 2);
}

export interface RunFlags {
  params: string[];
  dryRun: boolean;
  yes: boolean;
}

export async function runCommand(settings: Settings, taskId: string | undefined, flags: RunFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const task = taskOrFail(taskId);
  const params = parseParams(task, parseParamFlags(flags.params));
  const target = settings.target;
  const secrets = target.secrets;
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));

  const journal = new Journal(undefined, { secrets });
  const planOnly = planRunner(settings, task, params);
  if (flags.dryRun) {
    print(planText(planOnly, task, params, target.display));
    print('dry run: nothing was changed\n');
    return 0;
  }
  refuseReadOnly(settings, `run ${task.id}`);
  // a critical task names what it destroys: its own word, else the database it overwrites
  const confirmation = confirmationFor(task, { params, steps: task.steps }, target.database);
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const prompter = readlinePrompter();
  if (confirmation.kind !== 'none' && !flags.yes) {
    if (!interactive) {
      throw new UserError(`run ${task.id}: a ${task.risk}-risk task asks for confirmation; run it at a terminal, or pass --yes (see the plan with --dry-run)`, 2);
    }
    print(planText(planOnly, task, params, target.display));
    if (!(await confirmRun(prompter, confirmation))) {
      print('not confirmed: nothing was run\n');
      return 1;
    }
  }

  const notice = startupNotice(journal);
  if (notice) print(`note: ${notice}\n`);
  const runId = journal.newRunId(task.id);
  const session = await openSession(settings, task, runId, journal, out);
  const runner = sessionRunner(settings, task, params, runId, journal, session);
  const detach = session.watch(runner);
  try {
    print(`run ${runId}: ${task.title} on ${target.display}\n`);
    const state = await runner.run();
    if (state.outcome === 'succeeded') {
      print(`run ${runId} succeeded\n`);
      return 0;
    }
    if (state.outcome === 'interrupted') {
      runner.end('interrupted');
      return 1;
    }
    if (state.fault) {
      // the journal or the log cannot be written: say so, and leave the rollbacks to ops rollback
      runner.end();
      print(`run ${runId} ${runner.state.outcome}: ${state.fault}\n`);
      return 1;
    }
    const plan = runner.rollbackPlan();
    if (plan.length && interactive && !flags.yes) {
      print(`\nThe run stopped (${state.outcome}). Steps done, with their rollbacks, newest first:\n`);
      plan.forEach((p, i) => print(`  ${i + 1}. ${p.title}: ${p.detail}\n`));
      const ids = await prompter.chooseRollbacks(plan);
      if (ids.length) await runner.rollback(ids);
    } else if (plan.length) {
      print(`run ${runId} ${state.outcome}; rollbacks not applied: ${plan.map((p) => p.step).join(', ')} (ops rollback ${runId})\n`);
    }
    runner.end();
    print(`run ${runId} ${runner.state.outcome}${runner.state.fault ? `: ${runner.state.fault}` : ''}\n`);
    return 1;
  } finally {
    detach();
    if (runner.state.phase !== 'done') runner.end();
    await session.release();
  }
}

export interface Session {
  log: LogSink;
  operator: ReturnType<typeof operatorIdentity>;
  connect: () => Promise<pg.Client>;
  /** before each step: the run lock still holds (after a lost connection: reconnect, take it again) */
  beforeStep: () => Promise<void>;
  /** whether the session has a database connection (a rollback of file steps may go without) */
  readonly hasDatabase: boolean;
  /** Ctrl-C cancels; a hang-up lets the running step finish, then stops the run (interrupted). */
  watch(runner: TaskRunner): () => void;
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
    watch(r) {
      runner = r;
      const onInt = () => r.cancel();
      const onHup = () => {
        echo = false;
        r.interrupt('terminal hung up (SIGHUP): the running step finishes, then the run stops');
      };
      process.on('SIGINT', onInt);
      process.on('SIGHUP', onHup);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
      };
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
export function pastRun(settings: Settings, journal: Journal, runPrefix: string, what: string): PastRun {
  const runId = journal.findRun(runPrefix);
  const summary = journal.summary(runId);
  if (!summary) throw new UserError(`${what}: run ${runId} has no start in the journal`);
  const task = availableTasks().tasks.find((t) => t.id === summary.task);
  if (!task) throw new UserError(`${what}: run ${runId} used task "${summary.task}", which this ops does not know`);
  if (summary.target !== settings.target.display) {
    throw new UserError(`${what}: run ${runId} ran on ${summary.target}, not on ${settings.target.display}; pass --database or --target for it`, 2);
  }
  const events = journal.events(runId);
  const start = events.find((e) => e.type === 'run.start');
  const params = (start && 'params' in start ? start.params : {}) as Record<string, unknown>;
  return { runId, summary, task, events, params };
}

/** `ops run --resume RUN_ID`: rebuilds the run from the journal and goes on from its first step
 *  not done (an interrupted step whose outcome was not recorded, or a failed one, runs again). */
export async function resumeCommand(settings: Settings, runPrefix: string, flags: { yes: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const secrets = settings.target.secrets;
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));
  const journal = new Journal(undefined, { secrets });
  const { runId, summary, task, events, params } = pastRun(settings, journal, runPrefix, 'run --resume');
  refuseReadOnly(settings, `run --resume ${runId}`);
  const probe = planRunner(settings, task, params, runId);
  probe.restore(events);
  const from = probe.resumeIndex();
  if (from === null) {
    print(`run ${runId}: every step is done; nothing to resume\n`);
    return 0;
  }
  const uncertain = probe.outcomeUnknown(from);
  print(`run ${runId}: ${task.title}, ${summary.outcome}. Going on from step ${from + 1}: ${task.steps[from].title}` +
    `${uncertain ? ' (its end was never recorded: it may have run)' : probe.state.steps[from].status !== 'pending' ? ` (it ${probe.state.steps[from].status}: it runs again)` : ''}\n`);
  if (uncertain) {
    // a step that may have run is never run again unasked, and never while its processes live
    const st = summary.steps[from] as { pgid?: number | null } | undefined;
    const pgid = typeof st?.pgid === 'number' ? st.pgid : null;
    if (pgid && summary.operator?.host === hostname() && groupAlive(pgid)) {
      throw new UserError(`run --resume ${runId}: step "${task.steps[from].title}" is still running as process group ${pgid}; wait for it to end (or stop it: kill -- -${pgid}), then resume`, 1);
    }
    if (!process.stdin.isTTY) {
      throw new UserError(`run --resume ${runId}: step "${task.steps[from].title}" may have run (its end was never recorded); run the resume at a terminal to confirm running it again, or undo it with "ops rollback ${runId}"`, 2);
    }
    if (!(await readlinePrompter().confirm(`Step "${task.steps[from].title}" may have run already. Run it again? [y/N] `))) {
      print(`nothing was run ("ops rollback ${runId}" undoes what ran)\n`);
      return 1;
    }
  } else if (!flags.yes) {
    if (!process.stdin.isTTY) throw new UserError(`run --resume ${runId}: asks for confirmation; run it at a terminal, or pass --yes ("ops rollback ${runId}" undoes it instead)`, 2);
    if (!(await readlinePrompter().continueOrQuit('[c]ontinue, or [q]uit (ops rollback undoes it instead)? '))) {
      print('nothing was run\n');
      return 1;
    }
  }
  const session = await openSession(settings, task, runId, journal, out);
  const runner = sessionRunner(settings, task, params, runId, journal, session);
  const detach = session.watch(runner);
  try {
    runner.restore(events);
    const state = await runner.resume(`${session.operator.user}${session.operator.sshClient ? ` from ${session.operator.sshClient}` : ''}`);
    if (state.outcome !== 'succeeded' && runner.state.phase !== 'done') runner.end(state.outcome === 'interrupted' ? 'interrupted' : undefined);
    print(`run ${runId} ${runner.state.outcome}\n`);
    return state.outcome === 'succeeded' ? 0 : 1;
  } finally {
    detach();
    if (runner.state.phase !== 'done') runner.end();
    await session.release();
  }
}
