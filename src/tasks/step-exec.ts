// Running one action, of a step or of a rollback, for each kind of action: a command in a
// process group of its own (held at a gate until its start is journaled), SQL on the task's own
// connection, or a function of the core. Each runs under its step's timeout and ends on time even
// when what it waits for never answers. A cancel, a timeout or a journal that cannot be written
// stops it: SIGINT, SIGTERM, then SIGKILL to the command's group, a cancel request for the
// statement, the abort signal for a function.
import { execa, type ResultPromise } from 'execa';
import type pg from 'pg';
import type { GuardedClient } from '../util/db';
import { closeClient } from '../util/db';
import { LineSplitter } from '../util/ring';
import { describeAction, type Action, type StepResult } from './model';
import { CommandProgressWatch } from './command-progress';
import type { StepProgress } from './progress';
import { findExecutable, killGroup } from './process-group';

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const TAIL_LINES = 50;

export class StepFailure extends Error {
  constructor(
    message: string,
    readonly status: 'failed' | 'cancelled' | 'timeout',
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/**
 * What each kind of action needs of the runner around it. The compiler wants a row here for
 * every kind of Action, as it wants a case in StepExecutor.perform and in describeAction.
 * - `connectFirst`: the task's connection is opened before the start is journaled, so that the
 *   start names its backend (and a connection that cannot be had means the step did not start).
 * - `journalsOwnStart`: the executor journals the start itself (a command's, once its process
 *   group exists and before the command is let go); any other start is journaled before it runs.
 */
export const ACTION_KINDS = {
  command: { connectFirst: false, journalsOwnStart: true },
  sql: { connectFirst: true, journalsOwnStart: false },
  fn: { connectFirst: false, journalsOwnStart: false },
} satisfies Record<Action['kind'], { connectFirst: boolean; journalsOwnStart: boolean }>;

/**
 * A server message as its lines (issue 13 §4): VACUUM VERBOSE's INFO holds several, a NOTICE may
 * have a DETAIL and a HINT. The first line carries the severity, the others are indented under it.
 */
export function noticeLines(n: { severity?: string; message?: string; detail?: string; hint?: string }): string[] {
  const split = (s: string | undefined) => (s ?? '').split(/\r?\n/).filter((l, i, all) => l.trim() !== '' || (i > 0 && i < all.length - 1));
  const [first = '', ...rest] = split(n.message);
  const out = [`${n.severity ?? 'NOTICE'}: ${first}`, ...rest.map((l) => `  ${l}`)];
  for (const [label, text] of [['DETAIL', n.detail], ['HINT', n.hint]] as const) {
    split(text).forEach((l, i) => out.push(i === 0 ? `${label}: ${l}` : `  ${l}`));
  }
  return out;
}

/** What the executor needs of its run: where output goes, the redaction, and why the run stops. */
export interface ExecHost {
  out(line: string, stream: 'out' | 'err' | 'notice' | 'info'): void;
  clean(s: string): string;
  /** the operator asked to cancel */
  readonly cancelling: boolean;
  /** the first journal or log write that failed: the run stops */
  readonly writeFailure: Error | null;
  readonly state: { readonly fault: string | null };
  /** a statement starts on backend `pid`: its progress is watched until the returned stop */
  watchSql?(pid: number): () => void;
  /** a command starts that reports its own progress: where it goes (the running step's state) */
  commandReporter?(): (p: StepProgress | null) => void;
}

/**
 * Runs the actions of one run, one at a time, and holds what runs now: the command's process
 * group, the task's own PostgreSQL connection (opened on first use, reopened after it was lost),
 * and the abort signal of a function step.
 */
export class StepExecutor {
  private abort = new AbortController();
  private child: ResultPromise | null = null;
  private client: pg.Client | null = null;
  private clientPid: number | null = null;
  /** rejects the running step at once (a server that does not answer a cancel) */
  private hardStop: ((f: StepFailure) => void) | null = null;
  private timedOut = false;

  constructor(
    private readonly host: ExecHost,
    private readonly opts: { connect?: () => Promise<pg.Client>; graceMs?: number },
  ) {}

  /** The backend pid of the task's connection, while it is open. */
  get backendPid(): number | null {
    return this.clientPid;
  }

  /** A new abort signal for what runs next (a resume, or rollbacks after a cancel). */
  rearm(): void {
    this.abort = new AbortController();
  }

  /** The task connection broke: it is given up, and the next action that needs it reconnects. */
  dropConnection(): void {
    const c = this.client;
    this.client = null;
    this.clientPid = null;
    if (c) void closeClient(c, 200);
  }

  /** Releases the task's connection at the run's end. */
  release(): void {
    const c = this.client;
    this.client = null;
    void closeClient(c, 1000);
  }

  /**
   * Stops what runs now: SIGINT/SIGTERM/SIGKILL to the step's process group, a cancel request for
   * its statement, the abort signal for a function step. A server that does not answer the
   * cancel within the grace time has the step ended on our side (see execute).
   */
  stop(): void {
    this.abort.abort();
    const grace = this.opts.graceMs ?? 3000;
    const child = this.child;
    if (child?.pid) void killGroup(child.pid, grace);
    if (this.clientPid !== null) void this.cancelSql(this.clientPid);
    const hard = this.hardStop;
    if (hard) {
      // a command gets its SIGINT, SIGTERM and SIGKILL first; a statement or a function, the grace time
      const wait = child?.pid ? 3 * grace + 1000 : grace;
      const timer = setTimeout(() => {
        if (this.hardStop !== hard) return;
        const pid = this.clientPid;
        if (!child?.pid && this.client) {
          // the server did not answer the cancel: give the connection up, the next step reconnects
          const c = this.client;
          this.client = null;
          this.clientPid = null;
          (c as Partial<GuardedClient>).destroy?.();
          void closeClient(c, 0);
        }
        hard(
          new StepFailure(
            child?.pid
              ? `its process group ${child.pid} did not end after SIGKILL`
              : `the server did not answer${pid ? `; the statement may still be running as pid ${pid}` : ''}`,
            this.host.cancelling && !this.timedOut ? 'cancelled' : this.timedOut ? 'timeout' : 'failed',
            null,
          ),
        );
      }, wait);
      timer.unref?.();
    }
  }

  /**
   * Runs one action under `timeoutMs`. `startEvent` (a step's, null for a rollback) journals a
   * command's start with its process group before the command is let go; false stops it there.
   */
  async execute(action: Action, timeoutMs: number, startEvent: ((pgid: number) => boolean) | null): Promise<StepResult> {
    if (this.host.cancelling) throw new StepFailure('cancelled before it started', 'cancelled', null);
    this.timedOut = false;
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.host.out(`timed out after ${Math.round(timeoutMs / 1000)} s`, 'err');
      this.stop();
    }, timeoutMs);
    // the step ends on time even when what it waits for never answers (a stopped server)
    const hard = new Promise<never>((_, reject) => {
      this.hardStop = reject;
    });
    const work = this.perform(action, startEvent);
    work.catch(() => undefined); // when the hard stop wins, the work's own end is not awaited
    try {
      return await Promise.race([work, hard]);
    } catch (err) {
      // what the hard stop knows (the server did not answer, a group that outlived SIGKILL) is kept
      const known = err instanceof StepFailure && /did not answer|did not end/.test(err.message) ? `: ${err.message}` : '';
      const code = err instanceof StepFailure ? err.exitCode : null;
      if (this.host.writeFailure) throw new StepFailure(this.host.state.fault ?? 'the journal cannot be written', 'failed', code);
      if (this.timedOut) throw new StepFailure(`timed out after ${Math.round(timeoutMs / 1000)} s${known}`, 'timeout', code);
      if (this.host.cancelling) throw new StepFailure(`cancelled${known}`, 'cancelled', code);
      throw err;
    } finally {
      clearTimeout(timer);
      this.hardStop = null;
    }
  }

  private async perform(action: Action, startEvent: ((pgid: number) => boolean) | null): Promise<StepResult> {
    switch (action.kind) {
      case 'command':
        return await this.runCommand(action, startEvent);
      case 'sql':
        return await this.runSql(action.text, action.values);
      case 'fn': {
        const returned =
          (await action.run({
            log: (line, stream = 'out') => this.host.out(line, stream),
            signal: this.abort.signal,
            sql: (text, values) => this.runSql(text, values),
          })) ?? {};
        if (this.abort.signal.aborted) throw new Error('aborted');
        return { exitCode: null, stdoutTail: [], rows: [], returned };
      }
      default: {
        // a new kind of Action fails to compile here until it is run
        const unhandled: never = action;
        throw new StepFailure(`no way to run an action of kind ${(unhandled as Action).kind}`, 'failed', null);
      }
    }
  }

  /**
   * Runs a command in a process group of its own. With `startEvent` (a step, not a rollback) the
   * group is created held at a gate (`sh` waiting for one line on stdin): the step's start is
   * journaled with the group's id first, and only then is the command let go. ops killed before
   * that point leaves a gate that reads end-of-file and exits without running anything.
   */
  private async runCommand(action: Extract<Action, { kind: 'command' }>, startEvent: ((pgid: number) => boolean) | null): Promise<StepResult> {
    const [cmd, ...cmdArgs] = action.shell ? ['/bin/sh', '-c', action.argv[0], ...action.argv.slice(1)] : action.argv;
    if (!cmd) throw new StepFailure('empty command', 'failed', null);
    if (!findExecutable(cmd, action.env?.PATH ?? process.env.PATH ?? '', action.cwd)) throw new StepFailure(`${cmd}: command not found`, 'failed', 127);
    const [file, ...args] = startEvent ? ['/bin/sh', '-c', 'read -r _ || exit 125; exec "$0" "$@"', cmd, ...cmdArgs] : [cmd, ...cmdArgs];
    const tail: string[] = [];
    const outSplit = new LineSplitter((l) => {
      this.host.out(l, 'out');
      tail.push(l);
      // trimmed in batches: shift() per line was the costliest thing on the streaming path
      if (tail.length >= 4 * TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    });
    // a command that reports its progress (pg_dump, pg_restore --verbose): its own chatter on
    // standard error is logged as info, not as errors (src/tasks/command-progress.ts)
    const reporter = action.progress ? this.host.commandReporter?.() : undefined;
    const watch = action.progress ? new CommandProgressWatch(action.progress, (p) => reporter?.(p)) : null;
    const errSplit = new LineSplitter((l) => this.host.out(l, watch?.line(l) ? 'info' : 'err'));
    const child = execa(file, args, {
      // its own process group: a cancel reaches everything it started, and a terminal hang-up
      // (SIGHUP to the console's group) does not kill a step mid-flight
      detached: true,
      cleanup: false,
      stdin: startEvent ? 'pipe' : 'ignore',
      buffer: false,
      reject: false,
      encoding: 'utf8',
      env: action.env,
      cwd: action.cwd,
    });
    this.child = child;
    // decode as streams, so a UTF-8 character split across two chunks stays whole
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => outSplit.push(d));
    child.stderr?.on('data', (d: string) => errSplit.push(d));
    if (startEvent) {
      child.stdin?.on('error', () => undefined); // a gate that already exited
      if (!child.pid || !startEvent(child.pid)) {
        // not journaled: the command must not run
        child.stdin?.destroy();
        if (child.pid) void killGroup(child.pid, 200);
        await child.catch(() => undefined);
        this.child = null;
        throw new StepFailure(child.pid ? (this.host.state.fault ?? 'the journal cannot be written') : 'the command could not be started', 'failed', null);
      }
      child.stdin?.end('go\n');
    }
    watch?.start();
    let result;
    try {
      result = await child;
    } finally {
      this.child = null;
      watch?.stop();
    }
    outSplit.end();
    errSplit.end();
    await watch?.finish(!result.failed && result.exitCode === 0);
    if (result.failed || result.exitCode !== 0) {
      const why =
        result.exitCode !== undefined && result.exitCode !== null && result.exitCode !== 0
          ? `exit code ${result.exitCode}`
          : result.signal
            ? `killed by ${result.signal}`
            : (result as { originalMessage?: string }).originalMessage ?? 'failed';
      throw new StepFailure(`${describeAction(action).slice(0, 80)}: ${why}`, 'failed', result.exitCode ?? null);
    }
    return { exitCode: result.exitCode ?? 0, stdoutTail: tail.slice(-TAIL_LINES), rows: [], returned: {} };
  }

  /** The task's own connection: opened on first use, and again after it was lost. */
  async sqlClient(): Promise<pg.Client> {
    if (this.client && !(this.client as Partial<GuardedClient>).lost) return this.client;
    this.client = null;
    this.clientPid = null;
    if (!this.opts.connect) throw new StepFailure('this task needs a database connection, and none is configured', 'failed', null);
    const c = await this.opts.connect();
    c.on('notice', (n: { severity?: string; message?: string; detail?: string; hint?: string }) => {
      for (const l of noticeLines(n)) this.host.out(l, 'notice');
    });
    c.on('error', () => undefined); // the session hears of it (connectionLost); a running query fails with it
    this.client = c;
    const known = (c as Partial<GuardedClient>).backendPid;
    if (typeof known === 'number') this.clientPid = known;
    else {
      const r = await c.query('SELECT pg_backend_pid() AS pid');
      this.clientPid = Number(r.rows[0].pid);
    }
    return c;
  }

  private async runSql(text: string, values?: unknown[]): Promise<StepResult> {
    const c = await this.sqlClient();
    // the step's own timeout bounds its statements (a VACUUM may rightly take an hour)
    (c as Partial<GuardedClient>).setDeadline?.(null);
    // progress is read on a connection of its own, never on this one (src/tasks/progress.ts)
    const unwatch = this.clientPid !== null ? this.host.watchSql?.(this.clientPid) : undefined;
    try {
      const r = await c.query({ text, values: values as unknown[] | undefined });
      const last = Array.isArray(r) ? r[r.length - 1] : r;
      const rows = (last?.rows ?? []) as Record<string, unknown>[];
      return { exitCode: null, stdoutTail: [], rows, returned: {} };
    } catch (err) {
      throw new StepFailure(this.host.clean((err as Error).message), 'failed', null);
    } finally {
      unwatch?.();
      (c as Partial<GuardedClient>).setDeadline?.(undefined);
    }
  }

  /** A cancel request is a short-lived connection of its own, as in libpq's PQcancel. */
  private async cancelSql(pid: number): Promise<void> {
    if (!this.opts.connect) return;
    try {
      // a connection of the session's: bounded by its connect timeout and statement deadline
      const c = await this.opts.connect();
      try {
        await c.query('SELECT pg_cancel_backend($1)', [pid]);
      } finally {
        await closeClient(c, 500);
      }
    } catch {
      /* the query ends anyway when its connection does */
    }
  }
}
