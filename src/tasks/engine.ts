// The task engine: runs a task's steps in order with streamed output, cancels on request
// (the child's process group gets SIGINT, then SIGTERM, then SIGKILL), and after a failure or
// a cancel offers the completed steps' rollbacks in reverse order. Every step start and finish
// is journaled before and after it runs, so a crash leaves a record of exactly what ran.
// UI-free: the CLI and the console drive the same runner.
//
// This module is the runner: a run's course (run, resume, each step, the end). The rest is
// beside it: the run's state and the runner's interface (run-state.ts), what the runner's parts
// share, its journal events and output (run-core.ts), the execution of each kind of action
// (step-exec.ts), the rollbacks (run-rollback.ts), and the process groups (process-group.ts).
import { UserError } from '../config/load';
import { describeAction, type Action, type StepDef, type TaskDef } from './model';
import { oneLine, RunCore } from './run-core';
import { rollbackPlan, runRollbacks, undoDetail } from './run-rollback';
import type { Outcome, RollbackItem, RunnerLike, RunnerOptions, RunState } from './run-state';
import { ACTION_KINDS, DEFAULT_TIMEOUT_MS, StepFailure } from './step-exec';

export type { JournalSink, LiveStepState, LogSink, Outcome, RollbackItem, RollbackStatus, RunnerLike, RunnerOptions, RunState, StepState } from './run-state';
export { findExecutable, groupAlive, killGroup } from './process-group';

/** Validates parameters; a problem names the parameter, in one line. */
export function parseParams(task: TaskDef, raw: unknown): Record<string, unknown> {
  const r = task.params.safeParse(raw ?? {});
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => `${i.path.length ? `--param ${i.path.join('.')}` : 'parameters'}: ${i.message}`);
  throw new UserError(`${task.id}: ${parts.join('; ')}`);
}

export class TaskRunner implements RunnerLike {
  readonly state: RunState;
  private readonly core: RunCore;

  constructor(private readonly opts: RunnerOptions) {
    this.core = new RunCore(opts, parseParams(opts.task, opts.params));
    this.state = this.core.state;
  }

  subscribe(fn: () => void): () => void {
    return this.core.subscribe(fn);
  }

  /**
   * The journal or the run log cannot be written: stop the run now, as a cancel does, and say
   * why in one line. What has already run is on disk; what could not be recorded is said.
   */
  failWrite(err: Error): void {
    this.core.failWrite(err);
  }

  /** The task connection broke (a restart, a terminated backend): said at once, reconnected on the next step. */
  connectionLost(err: Error): void {
    const { core } = this;
    core.exec.dropConnection();
    if (this.state.phase !== 'running' && this.state.phase !== 'rolling back') return;
    const text = `the database connection was lost (${core.clean(oneLine(err.message))}); the next step reconnects and takes the run lock again`;
    core.out(text, 'err');
    core.event('note', { text });
    core.changed();
  }

  /**
   * The plan: each step with what it will run, as far as it is known before the run. `known`:
   * the values the plan's reading found (readPlan), as the steps would capture them now; the
   * run captures its own.
   */
  plan(known?: Record<string, unknown>): { id: string; title: string; detail: string; rollback: string | null; irreversible: boolean }[] {
    const { core } = this;
    const ctx = known ? { ...core.ctx, values: { ...known, ...core.ctx.values } } : core.ctx;
    return this.opts.task.steps.map((s) => ({
      id: s.id,
      title: s.title,
      detail: core.tryDescribe(() => s.action(ctx)),
      rollback: s.rollback ? core.tryDescribe(() => s.rollback!(ctx)) : null,
      irreversible: !!s.irreversible,
    }));
  }

  /** Runs the steps in order; stops at the first failure or on cancel. Journals run.start first. */
  async run(): Promise<RunState> {
    const { core } = this;
    const { task } = this.opts;
    core.event('run.start', {
      task: task.id,
      title: task.title,
      risk: task.risk,
      params: JSON.parse(core.clean(JSON.stringify(core.ctx.params))),
      target: this.opts.target.display,
      operator: this.opts.operator ?? null,
      // discardsOutput: an undo that only deletes the run's own output (a backup's dump); such a
      // succeeded run needs no attention (src/tasks/attention.ts), whatever later versions declare;
      // cleanupOnly the same, for an undo that only clears what a failed attempt leaves
      steps: this.plan().map((p, i) => ({
        id: p.id,
        title: p.title,
        rollback: p.rollback,
        irreversible: p.irreversible,
        ...(task.steps[i]?.discardsOutput ? { discardsOutput: true } : {}),
        ...(task.steps[i]?.cleanupOnly ? { cleanupOnly: true } : {}),
      })),
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
    const { core } = this;
    const from = this.resumeIndex();
    if (from === null) throw new UserError(`run ${this.opts.runId}: every step is done; nothing to resume`);
    core.event('note', { text: `resumed by ${by} at step ${from + 1} (${this.state.steps[from].title})` });
    for (let i = from; i < this.state.steps.length; i++) {
      Object.assign(this.state.steps[i], { status: 'pending', error: null, exitCode: null, startedAt: null, endedAt: null });
    }
    core.cancelling = false;
    core.interrupted = false;
    core.exec.rearm();
    return this.runFrom(from);
  }

  /** Runs the steps from `start` on (a resumed run continues or retries from there). */
  async runFrom(start: number): Promise<RunState> {
    const { core } = this;
    const { task } = this.opts;
    this.state.outcome = null;
    core.endWritten = false;
    this.state.phase = 'running';
    core.changed();
    for (let i = start; i < task.steps.length; i++) {
      if (core.writeFailure) {
        this.state.outcome = 'failed';
        break;
      }
      if (core.cancelling) {
        this.state.outcome = 'cancelled';
        break;
      }
      if (core.interrupted) {
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
    // the poll connection lives no longer than the steps that run (a rollback opens it again)
    void core.poller?.close();
    core.poller?.rearm();
    if (!this.state.outcome) {
      this.state.outcome = 'succeeded';
      this.state.phase = 'done';
      this.end();
    } else {
      this.state.phase = 'stopped';
    }
    core.changed();
    return this.state;
  }

  private async runStep(i: number): Promise<boolean> {
    const { core } = this;
    const def = this.opts.task.steps[i];
    const st = this.state.steps[i];
    const notStarted = (error: string): false => {
      st.status = 'failed';
      st.error = core.clean(error);
      core.event('step.finish', { step: def.id, index: i, outcome: 'failed', exitCode: null, durationMs: 0, error: st.error });
      core.out(`step ${def.id} did not start: ${st.error}`, 'err');
      core.changed();
      return false;
    };
    let action: Action;
    try {
      action = def.action(core.ctx);
    } catch (err) {
      st.status = 'failed';
      st.error = core.clean((err as Error).message);
      core.event('step.finish', { step: def.id, index: i, outcome: 'failed', exitCode: null, durationMs: 0, error: st.error });
      core.out(`step ${def.id} could not be prepared: ${st.error}`, 'err');
      return false;
    }
    try {
      await this.opts.beforeStep?.();
      // an SQL step's connection is open before its start is journaled, so the start names its backend
      if (ACTION_KINDS[action.kind].connectFirst) await core.exec.sqlClient();
    } catch (err) {
      return notStarted((err as Error).message);
    }
    if (core.cancelling) return notStarted('cancelled before it started');
    st.detail = core.clean(describeAction(action));
    st.status = 'running';
    st.startedAt = Date.now();
    this.state.current = i;
    core.attempts[i] = (core.attempts[i] ?? 0) + 1;
    // the undo as it would run should the step's end never be recorded (it may have run)
    const undo = undoDetail(core, i);
    const start = {
      step: def.id,
      index: i,
      attempt: core.attempts[i],
      detail: st.detail,
      ...(core.exec.backendPid ? { backendPid: core.exec.backendPid } : {}),
      ...(undo !== null ? { rollback: undo } : {}),
    };
    // A command's start is journaled by runCommand once its process group exists, before the
    // command itself is let go; anything else is journaled here, before it runs.
    const startEvent = ACTION_KINDS[action.kind].journalsOwnStart ? (pgid: number) => core.event('step.start', { ...start, pgid }) : null;
    if (!startEvent && !core.event('step.start', start)) {
      st.status = 'pending';
      st.startedAt = null;
      return notStarted(this.state.fault ?? 'the journal cannot be written');
    }
    core.out(`▶ ${def.title}: ${st.detail}`, 'info');
    core.changed();
    try {
      const result = await core.exec.execute(action, def.timeoutMs ?? DEFAULT_TIMEOUT_MS, startEvent);
      if (core.writeFailure) throw new StepFailure(this.state.fault ?? 'the journal cannot be written', 'failed', result.exitCode);
      const values = def.capture ? def.capture(result) : result.returned;
      core.stepValues[i] = values ?? {};
      Object.assign(core.ctx.values, values);
      st.status = 'ok';
      st.exitCode = result.exitCode;
      st.endedAt = Date.now();
      // the undo with the values this step captured: what ops show and ops rollback list, and
      // exactly what the rollback runs (the same function over the same values)
      const undone = undoDetail(core, i);
      core.event('step.finish', {
        step: def.id,
        index: i,
        outcome: 'ok',
        exitCode: result.exitCode,
        durationMs: st.endedAt - st.startedAt,
        values: JSON.parse(core.clean(JSON.stringify(values ?? {}))),
        ...(undone !== null ? { rollback: undone } : {}),
      });
      core.out(`✓ ${def.title} (${st.endedAt - st.startedAt} ms)`, 'info');
      return true;
    } catch (err) {
      const f = err instanceof StepFailure ? err : new StepFailure((err as Error).message, 'failed', null);
      st.status = f.status;
      st.exitCode = f.exitCode;
      st.error = core.clean(oneLine(f.message));
      st.endedAt = Date.now();
      core.event('step.finish', {
        step: def.id,
        index: i,
        outcome: f.status,
        exitCode: f.exitCode,
        durationMs: st.endedAt - (st.startedAt ?? st.endedAt),
        error: st.error,
      });
      core.out(`✗ ${def.title}: ${st.error}`, 'err');
      return false;
    } finally {
      core.flushLog();
      core.changed();
    }
  }

  /** Writes run.end and releases the task's connection. Outcome: rolled back when every
   *  completed step with a rollback was undone, else the outcome the run stopped with. */
  end(outcome?: Outcome): void {
    const { core } = this;
    if (core.endWritten) return;
    const undone = this.state.steps.some((s) => s.rollback === 'done');
    const pending = rollbackPlan(this.core).length;
    const final = outcome ?? (undone && pending === 0 ? 'rolled back' : (this.state.outcome ?? 'failed'));
    this.state.outcome = final;
    this.state.phase = 'done';
    core.endWritten = true;
    const failed = this.state.steps.find((s) => s.status !== 'ok' && s.status !== 'pending');
    const error = this.state.fault ?? failed?.error;
    core.event('run.end', { outcome: final, ...(error ? { error } : {}) });
    core.flushLog();
    try {
      this.opts.log.close();
    } catch (err) {
      this.failWrite(err as Error);
    }
    core.exec.release();
    void core.poller?.close();
    core.changed();
  }

  /**
   * The terminal went away (SIGHUP). The running step is not killed: it runs to its end and its
   * outcome is journaled; then the run stops, marked interrupted, for `ops rollback` or a resume.
   */
  interrupt(reason: string): void {
    const { core } = this;
    if (core.interrupted) return;
    core.interrupted = true;
    core.event('note', { text: reason });
  }

  /**
   * Rebuilds a finished or interrupted run from its journal events, so that its rollbacks can be
   * offered and run later (the emergency rollback session) or the run resumed. Events of this
   * run only; later events continue its sequence numbers.
   */
  restore(events: readonly { type: string; seq?: number; step?: unknown; index?: unknown; outcome?: unknown; values?: unknown }[]): void {
    this.core.restore(events);
  }

  /** Cancels the running step: SIGINT to its process group, then SIGTERM, then SIGKILL. */
  cancel(): void {
    const { core } = this;
    if (core.cancelling) return;
    core.cancelling = true;
    core.out('cancel requested', 'info');
    core.exec.stop();
    core.changed();
  }

  /** Whether the step at `index` was restored as started with no recorded end. */
  outcomeUnknown(index: number): boolean {
    return this.core.unknownOutcome.has(index) && this.state.steps[index]?.status === 'running';
  }

  /** The completed steps' rollbacks, newest first: what the rollback prompt offers. */
  rollbackPlan(): RollbackItem[] {
    return rollbackPlan(this.core);
  }

  /** Runs the chosen rollbacks, newest step first, whatever order they are given in. */
  async rollback(stepIds: readonly string[]): Promise<{ step: string; ok: boolean; error?: string }[]> {
    return await runRollbacks(this.core, stepIds);
  }
}

export type { StepDef };
