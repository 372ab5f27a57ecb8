// The task engine: runs a task's steps in order with streamed output, cancels on request
// (the child's process group gets SIGINT, then SIGTERM, then SIGKILL), and after a failure or
// a cancel offers the completed steps' rollbacks in reverse order. Every step start and finish
// is journaled before and after it runs, so a crash leaves a record of exactly what ran.
// UI-free: the CLI and the console drive the same runner.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import type pg from 'pg';
import { UserError } from '../config/load';
import type { GuardedClient } from '../util/db';
import { closeClient } from '../util/db';
import { redact } from '../util/redact';
import { LineRing, LineSplitter } from '../util/ring';
import { describeAction, type Action, type RunContext, type StepDef, type StepResult, type TaskDef } from './model';

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

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const TAIL_LINES = 50;

class StepFailure extends Error {
  constructor(
    message: string,
    readonly status: 'failed' | 'cancelled' | 'timeout',
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** Validates parameters; a problem names the parameter, in one line. */
export function parseParams(task: TaskDef, raw: unknown): Record<string, unknown> {
  const r = task.params.safeParse(raw ?? {});
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => `${i.path.length ? `--param ${i.path.join('.')}` : 'parameters'}: ${i.message}`);
  throw new UserError(`${task.id}: ${parts.join('; ')}`);
}

export class TaskRunner implements RunnerLike {
  readonly state: RunState;
  private readonly listeners = new Set<() => void>();
  private readonly ctx: RunContext;
  private readonly secrets: string[];
  private seq = 0;
  private abort = new AbortController();
  private child: ResultPromise | null = null;
  private client: pg.Client | null = null;
  private clientPid: number | null = null;
  /** rejects the running step at once (a server that does not answer a cancel) */
  private hardStop: ((f: StepFailure) => void) | null = null;
  /** the first journal or log write that failed; the run stops at once */
  private writeFailure: Error | null = null;
  /** the step restored as started with no finish: its outcome is unknown */
  private readonly unknownOutcome = new Set<number>();
  private cancelling = false;
  private timedOut = false;
  private readonly stepValues: Record<string, unknown>[] = [];
  private endWritten = false;
  private interrupted = false;
  private readonly attempts: number[] = [];

  constructor(private readonly opts: RunnerOptions) {
    const params = parseParams(opts.task, opts.params);
    this.ctx = { params, values: {}, target: opts.target, config: opts.config };
    this.secrets = [...opts.target.secrets, ...(opts.task.secretParams ?? []).map((k) => String(params[k] ?? ''))].filter(Boolean);
    this.state = {
      runId: opts.runId,
      task: opts.task.id,
      title: opts.task.title,
      risk: opts.task.risk,
      steps: opts.task.steps.map((s) => ({
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
      output: new LineRing(opts.ringLines ?? 2000),
      fault: null,
    };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /**
   * Journals one event. A journal that cannot be written (ENOSPC, EIO) never throws out of the
   * run: the run stops at once (the running step's processes are stopped), and whatever can
   * still be recorded is tried. Returns whether the event is on disk.
   */
  private event(type: string, body: Record<string, unknown>): boolean {
    try {
      this.opts.journal.append({ v: 1, ts: new Date().toISOString(), seq: ++this.seq, run: this.opts.runId, type, ...body });
      return true;
    } catch (err) {
      this.failWrite(err as Error);
      return false;
    }
  }

  /**
   * The journal or the run log cannot be written: stop the run now, as a cancel does, and say
   * why in one line. What has already run is on disk; what could not be recorded is said.
   */
  failWrite(err: Error): void {
    if (this.writeFailure) return;
    this.writeFailure = err;
    const msg = this.clean(oneLine(err.message));
    this.state.fault = `the run stopped: ${msg}`;
    this.state.output.push(`! ${this.state.fault}`);
    this.stopRunning();
    this.changed();
  }

  /** The task connection broke (a restart, a terminated backend): said at once, reconnected on the next step. */
  connectionLost(err: Error): void {
    const c = this.client;
    this.client = null;
    this.clientPid = null;
    if (c) void closeClient(c, 200);
    if (this.state.phase !== 'running' && this.state.phase !== 'rolling back') return;
    const text = `the database connection was lost (${this.clean(oneLine(err.message))}); the next step reconnects and takes the run lock again`;
    this.out(text, 'err');
    this.event('note', { text });
    this.changed();
  }

  private clean(s: string): string {
    return redact(s, this.secrets);
  }

  private out(line: string, stream: 'out' | 'err' | 'notice' | 'info'): void {
    try {
      this.opts.log.write(line, stream);
    } catch (err) {
      this.failWrite(err as Error);
    }
    this.state.output.push(stream === 'out' ? line : `${stream === 'err' ? '!' : '·'} ${line}`);
  }

  /** The plan: each step with what it will run, as far as it is known before the run. */
  plan(): { id: string; title: string; detail: string; rollback: string | null; irreversible: boolean }[] {
    return this.opts.task.steps.map((s) => ({
      id: s.id,
      title: s.title,
      detail: this.tryDescribe(() => s.action(this.ctx)),
      rollback: s.rollback ? this.tryDescribe(() => s.rollback!(this.ctx)) : null,
      irreversible: !!s.irreversible,
    }));
  }

  private tryDescribe(f: () => Action): string {
    try {
      return this.clean(describeAction(f()));
    } catch {
      return '(decided when the step runs, from the steps before it)';
    }
  }

  /** Runs the steps in order; stops at the first failure or on cancel. Journals run.start first. */
  async run(): Promise<RunState> {
    const { task } = this.opts;
    this.event('run.start', {
      task: task.id,
      title: task.title,
      risk: task.risk,
      params: JSON.parse(this.clean(JSON.stringify(this.ctx.params))),
      target: this.opts.target.display,
      operator: this.opts.operator ?? null,
      steps: this.plan().map((p) => ({ id: p.id, title: p.title, rollback: p.rollback, irreversible: p.irreversible })),
      dryRun: false,
    });
    return this.runFrom(0);
  }

  /** The first step not done: where a resumed run goes on (retrying it if it failed). */
  resumeIndex(): number | null {
    const i = this.state.steps.findIndex((s) => s.status !== 'ok');
    return i < 0 ? null : i;
  }

  /** Goes on with a run rebuilt by restore(): from its first step not done, journaled as a resume. */
  async resume(by: string): Promise<RunState> {
    const from = this.resumeIndex();
    if (from === null) throw new UserError(`run ${this.opts.runId}: every step is done; nothing to resume`);
    this.event('note', { text: `resumed by ${by} at step ${from + 1} (${this.state.steps[from].title})` });
    for (let i = from; i < this.state.steps.length; i++) {
      Object.assign(this.state.steps[i], { status: 'pending', error: null, exitCode: null, startedAt: null, endedAt: null });
    }
    this.cancelling = false;
    this.interrupted = false;
    this.abort = new AbortController();
    return this.runFrom(from);
  }

  /** Runs the steps from `start` on (a resumed run continues or retries from there). */
  async runFrom(start: number): Promise<RunState> {
    const { task } = this.opts;
    this.state.outcome = null;
    this.endWritten = false;
    this.state.phase = 'running';
    this.changed();
    for (let i = start; i < task.steps.length; i++) {
      if (this.writeFailure) {
        this.state.outcome = 'failed';
        break;
      }
      if (this.cancelling) {
        this.state.outcome = 'cancelled';
        break;
      }
      if (this.interrupted) {
        this.state.outcome = 'interrupted';
        break;
      }
      const ok = await this.runStep(i);
      if (!ok) {
        this.state.outcome = this.state.steps[i].status === 'cancelled' ? 'cancelled' : 'failed';
        break;
      }
    }
    this.state.current = null;
    if (!this.state.outcome) {
      this.state.outcome = 'succeeded';
      this.state.phase = 'done';
      this.end();
    } else {
      this.state.phase = 'stopped';
    }
    this.changed();
    return this.state;
  }

  private async runStep(i: number): Promise<boolean> {
    const def = this.opts.task.steps[i];
    const st = this.state.steps[i];
    const notStarted = (error: string): false => {
      st.status = 'failed';
      st.error = this.clean(error);
      this.event('step.finish', { step: def.id, index: i, outcome: 'failed', exitCode: null, durationMs: 0, error: st.error });
      this.out(`step ${def.id} did not start: ${st.error}`, 'err');
      this.changed();
      return false;
    };
    let action: Action;
    try {
      action = def.action(this.ctx);
    } catch (err) {
      st.status = 'failed';
      st.error = this.clean((err as Error).message);
      this.event('step.finish', { step: def.id, index: i, outcome: 'failed', exitCode: null, durationMs: 0, error: st.error });
      this.out(`step ${def.id} could not be prepared: ${st.error}`, 'err');
      return false;
    }
    try {
      await this.opts.beforeStep?.();
      // an SQL step's connection is open before its start is journaled, so the start names its backend
      if (action.kind === 'sql') await this.sqlClient();
    } catch (err) {
      return notStarted((err as Error).message);
    }
    if (this.cancelling) return notStarted('cancelled before it started');
    st.detail = this.clean(describeAction(action));
    st.status = 'running';
    st.startedAt = Date.now();
    this.state.current = i;
    this.attempts[i] = (this.attempts[i] ?? 0) + 1;
    const start = { step: def.id, index: i, attempt: this.attempts[i], detail: st.detail, ...(this.clientPid ? { backendPid: this.clientPid } : {}) };
    // A command's start is journaled by runCommand once its process group exists, before the
    // command itself is let go; anything else is journaled here, before it runs.
    const startEvent = action.kind === 'command' ? (pgid: number) => this.event('step.start', { ...start, pgid }) : null;
    if (!startEvent && !this.event('step.start', start)) {
      st.status = 'pending';
      st.startedAt = null;
      return notStarted(this.state.fault ?? 'the journal cannot be written');
    }
    this.out(`▶ ${def.title}: ${st.detail}`, 'info');
    this.changed();
    try {
      const result = await this.execute(action, def.timeoutMs ?? DEFAULT_TIMEOUT_MS, startEvent);
      if (this.writeFailure) throw new StepFailure(this.state.fault ?? 'the journal cannot be written', 'failed', result.exitCode);
      const values = def.capture ? def.capture(result) : result.returned;
      this.stepValues[i] = values ?? {};
      Object.assign(this.ctx.values, values);
      st.status = 'ok';
      st.exitCode = result.exitCode;
      st.endedAt = Date.now();
      this.event('step.finish', {
        step: def.id,
        index: i,
        outcome: 'ok',
        exitCode: result.exitCode,
        durationMs: st.endedAt - st.startedAt,
        values: JSON.parse(this.clean(JSON.stringify(values ?? {}))),
      });
      this.out(`✓ ${def.title} (${st.endedAt - st.startedAt} ms)`, 'info');
      return true;
    } catch (err) {
      const f = err instanceof StepFailure ? err : new StepFailure((err as Error).message, 'failed', null);
      st.status = f.status;
      st.exitCode = f.exitCode;
      st.error = this.clean(oneLine(f.message));
      st.endedAt = Date.now();
      this.event('step.finish', {
        step: def.id,
        index: i,
        outcome: f.status,
        exitCode: f.exitCode,
        durationMs: st.endedAt - (st.startedAt ?? st.endedAt),
        error: st.error,
      });
      this.out(`✗ ${def.title}: ${st.error}`, 'err');
      return false;
    } finally {
      this.flushLog();
      this.changed();
    }
  }

  private flushLog(): void {
    try {
      this.opts.log.flush();
    } catch (err) {
      this.failWrite(err as Error);
    }
  }

  /** The completed steps' rollbacks, newest first: what the rollback prompt offers. */
  rollbackPlan(): RollbackItem[] {
    const items: RollbackItem[] = [];
    for (let i = this.state.steps.length - 1; i >= 0; i--) {
      const st = this.state.steps[i];
      const def = this.opts.task.steps[i];
      const uncertain = this.unknownOutcome.has(i) && st.status === 'running';
      if ((st.status !== 'ok' && !uncertain) || !def.rollback || st.rollback === 'done') continue;
      items.push({
        step: def.id,
        index: i,
        title: def.title,
        detail: this.tryDescribe(() => def.rollback!(this.rollbackCtx(i))),
        ...(uncertain ? { mayHaveRun: true } : {}),
      });
    }
    return items;
  }

  /** the context a rollback sees: everything passed forward up to and including its own step */
  private rollbackCtx(i: number): RunContext {
    const values: Record<string, unknown> = {};
    for (let k = 0; k <= i; k++) Object.assign(values, this.stepValues[k]);
    return { ...this.ctx, values };
  }

  /** Runs the chosen rollbacks, newest step first, whatever order they are given in. */
  async rollback(stepIds: readonly string[]): Promise<{ step: string; ok: boolean; error?: string }[]> {
    const chosen = this.rollbackPlan().filter((r) => stepIds.includes(r.step));
    const results: { step: string; ok: boolean; error?: string }[] = [];
    this.cancelling = false;
    this.abort = new AbortController();
    this.state.phase = 'rolling back';
    this.changed();
    for (const item of chosen) {
      if (this.writeFailure) break;
      const def = this.opts.task.steps[item.index];
      const st = this.state.steps[item.index];
      let action: Action;
      try {
        action = def.rollback!(this.rollbackCtx(item.index));
        await this.opts.beforeStep?.();
        if (action.kind === 'sql') await this.sqlClient();
      } catch (err) {
        const error = this.clean(oneLine((err as Error).message));
        st.rollback = 'failed';
        this.out(`✗ undo not started: ${def.title}: ${error}`, 'err');
        results.push({ step: def.id, ok: false, error });
        continue;
      }
      const detail = this.clean(describeAction(action));
      const started = Date.now();
      st.rollback = 'running';
      this.state.current = item.index;
      if (!this.event('rollback.start', { step: def.id, index: item.index, detail })) {
        st.rollback = 'failed';
        results.push({ step: def.id, ok: false, error: this.state.fault ?? 'the journal cannot be written' });
        break;
      }
      this.out(`↶ undo ${def.title}${item.mayHaveRun ? ' (it may have run)' : ''}: ${detail}`, 'info');
      this.changed();
      try {
        const r = await this.execute(action, def.timeoutMs ?? DEFAULT_TIMEOUT_MS, null);
        st.rollback = 'done';
        this.event('rollback.finish', { step: def.id, index: item.index, outcome: 'ok', exitCode: r.exitCode, durationMs: Date.now() - started });
        this.out(`✓ undone: ${def.title}`, 'info');
        results.push({ step: def.id, ok: true });
      } catch (err) {
        const f = err instanceof StepFailure ? err : new StepFailure((err as Error).message, 'failed', null);
        st.rollback = 'failed';
        const error = this.clean(f.message);
        this.event('rollback.finish', { step: def.id, index: item.index, outcome: f.status, exitCode: f.exitCode, durationMs: Date.now() - started, error });
        this.out(`✗ undo failed: ${def.title}: ${error}`, 'err');
        results.push({ step: def.id, ok: false, error });
        if (f.status === 'cancelled') break;
      } finally {
        this.flushLog();
        this.changed();
      }
    }
    this.state.current = null;
    this.state.phase = 'stopped';
    this.changed();
    return results;
  }

  /** Writes run.end and releases the task's connection. Outcome: rolled back when every
   *  completed step with a rollback was undone, else the outcome the run stopped with. */
  end(outcome?: Outcome): void {
    if (this.endWritten) return;
    const undone = this.state.steps.some((s) => s.rollback === 'done');
    const pending = this.rollbackPlan().length;
    const final = outcome ?? (undone && pending === 0 ? 'rolled back' : (this.state.outcome ?? 'failed'));
    this.state.outcome = final;
    this.state.phase = 'done';
    this.endWritten = true;
    const failed = this.state.steps.find((s) => s.status !== 'ok' && s.status !== 'pending');
    const error = this.state.fault ?? failed?.error;
    this.event('run.end', { outcome: final, ...(error ? { error } : {}) });
    this.flushLog();
    try {
      this.opts.log.close();
    } catch (err) {
      this.failWrite(err as Error);
    }
    const c = this.client;
    this.client = null;
    void closeClient(c, 1000);
    this.changed();
  }

  /**
   * The terminal went away (SIGHUP). The running step is not killed: it runs to its end and its
   * outcome is journaled; then the run stops, marked interrupted, for `ops rollback` or a resume.
   */
  interrupt(reason: string): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.event('note', { text: reason });
  }

  /**
   * Rebuilds a finished or interrupted run from its journal events, so that its rollbacks can be
   * offered and run later (the emergency rollback session) or the run resumed. Events of this
   * run only; later events continue its sequence numbers.
   */
  restore(events: readonly { type: string; seq?: number; step?: unknown; index?: unknown; outcome?: unknown; values?: unknown }[]): void {
    for (const e of events) {
      this.seq = Math.max(this.seq, Number(e.seq ?? 0));
      const i = typeof e.index === 'number' ? e.index : this.opts.task.steps.findIndex((d) => d.id === e.step);
      const st = this.state.steps[i];
      if (!st) continue;
      if (e.type === 'step.start') {
        st.status = 'running';
        this.attempts[i] = (this.attempts[i] ?? 0) + 1;
        this.unknownOutcome.add(i);
      }
      if (e.type === 'step.finish') {
        this.unknownOutcome.delete(i);
        st.status = (e.outcome as LiveStepState) ?? 'failed';
        if (e.outcome === 'ok' && e.values && typeof e.values === 'object') {
          this.stepValues[i] = e.values as Record<string, unknown>;
          Object.assign(this.ctx.values, e.values);
        }
      }
      if (e.type === 'rollback.finish') st.rollback = e.outcome === 'ok' ? 'done' : 'failed';
      if (e.type === 'run.end') this.state.outcome = (e.outcome as Outcome) ?? null;
    }
    this.endWritten = false;
    this.state.phase = 'stopped';
  }

  /** Cancels the running step: SIGINT to its process group, then SIGTERM, then SIGKILL. */
  cancel(): void {
    if (this.cancelling) return;
    this.cancelling = true;
    this.out('cancel requested', 'info');
    this.stopRunning();
    this.changed();
  }

  /** Whether the step at `index` was restored as started with no recorded end. */
  outcomeUnknown(index: number): boolean {
    return this.unknownOutcome.has(index) && this.state.steps[index]?.status === 'running';
  }

  /**
   * Stops what runs now: SIGINT/SIGTERM/SIGKILL to the step's process group, a cancel request for
   * its statement, the abort signal for a function step. A server that does not answer the
   * cancel within the grace time has the step ended on our side (see execute).
   */
  private stopRunning(): void {
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
            this.cancelling && !this.timedOut ? 'cancelled' : this.timedOut ? 'timeout' : 'failed',
            null,
          ),
        );
      }, wait);
      timer.unref?.();
    }
  }

  // ---------------------------------------------------------------- execution

  private async execute(action: Action, timeoutMs: number, startEvent: ((pgid: number) => boolean) | null): Promise<StepResult> {
    if (this.cancelling) throw new StepFailure('cancelled before it started', 'cancelled', null);
    this.timedOut = false;
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.out(`timed out after ${Math.round(timeoutMs / 1000)} s`, 'err');
      this.stopRunning();
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
      if (this.writeFailure) throw new StepFailure(this.state.fault ?? 'the journal cannot be written', 'failed', code);
      if (this.timedOut) throw new StepFailure(`timed out after ${Math.round(timeoutMs / 1000)} s${known}`, 'timeout', code);
      if (this.cancelling) throw new StepFailure(`cancelled${known}`, 'cancelled', code);
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
            log: (line, stream = 'out') => this.out(line, stream),
            signal: this.abort.signal,
            sql: (text, values) => this.runSql(text, values),
          })) ?? {};
        if (this.abort.signal.aborted) throw new Error('aborted');
        return { exitCode: null, stdoutTail: [], rows: [], returned };
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
      this.out(l, 'out');
      tail.push(l);
      // trimmed in batches: shift() per line was the costliest thing on the streaming path
      if (tail.length >= 4 * TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    });
    const errSplit = new LineSplitter((l) => this.out(l, 'err'));
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
        throw new StepFailure(child.pid ? (this.state.fault ?? 'the journal cannot be written') : 'the command could not be started', 'failed', null);
      }
      child.stdin?.end('go\n');
    }
    let result;
    try {
      result = await child;
    } finally {
      this.child = null;
    }
    outSplit.end();
    errSplit.end();
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

  private async sqlClient(): Promise<pg.Client> {
    if (this.client && !(this.client as Partial<GuardedClient>).lost) return this.client;
    this.client = null;
    this.clientPid = null;
    if (!this.opts.connect) throw new StepFailure('this task needs a database connection, and none is configured', 'failed', null);
    const c = await this.opts.connect();
    c.on('notice', (n: { severity?: string; message?: string }) => this.out(`${n.severity ?? 'NOTICE'}: ${n.message ?? ''}`, 'notice'));
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
    try {
      const r = await c.query({ text, values: values as unknown[] | undefined });
      const last = Array.isArray(r) ? r[r.length - 1] : r;
      const rows = (last?.rows ?? []) as Record<string, unknown>[];
      if (last?.command) this.out(`${last.command}${last.rowCount !== null && last.rowCount !== undefined ? ` ${last.rowCount}` : ''}`, 'info');
      return { exitCode: null, stdoutTail: [], rows, returned: {} };
    } catch (err) {
      throw new StepFailure(this.clean((err as Error).message), 'failed', null);
    } finally {
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

/** SIGINT to the whole process group, then SIGTERM, then SIGKILL, `graceMs` apart. */
export async function killGroup(pid: number, graceMs: number): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    if (!groupAlive(pid)) return;
    try {
      process.kill(-pid, sig);
    } catch {
      return; // the group is gone
    }
    if (sig === 'SIGKILL') return;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (!groupAlive(pid)) return;
    }
  }
}

/**
 * Whether any process of the group still runs. Zombies do not count: an orphaned grandchild
 * that was killed stays a zombie until whoever adopted it reaps it, which can take a while.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true; // no /proc: the signal test above is all we have
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state, ppid, pgrp
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}

export type { StepDef };

/** Whether `cmd` names an executable file (a path, or a name found on `path`). */
export function findExecutable(cmd: string, path: string, cwd?: string): boolean {
  const ok = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return ok(cmd.startsWith('/') || !cwd ? cmd : `${cwd}/${cmd}`);
  return path.split(':').some((dir) => dir !== '' && ok(`${dir}/${cmd}`));
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
