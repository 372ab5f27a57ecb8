// The live part of one run that the runner, its rollbacks and its executor share: the state the
// screens read and its subscription, the values steps pass forward, the run's journal events
// (numbered; each written before what it records is said to have happened), the output to the
// run log and the screen, and the stop when either cannot be written. A run rebuilt from its
// journal (restore) is folded back into the same state.
import { redact } from '../util/redact';
import { describeAction, type Action, type RunContext } from './model';
import { initialRunState, type LiveStepState, type Outcome, type RunnerOptions, type RunState } from './run-state';
import type { StepProgress } from './progress';
import { ProgressPoller } from './progress-poll';
import { StepExecutor } from './step-exec';

export class RunCore {
  readonly state: RunState;
  readonly ctx: RunContext;
  /** runs the actions, and holds the task's connection and what runs now */
  readonly exec: StepExecutor;
  private readonly listeners = new Set<() => void>();
  private readonly secrets: string[];
  private seq = 0;
  /** the first journal or log write that failed; the run stops at once */
  writeFailure: Error | null = null;
  /** the step restored as started with no finish: its outcome is unknown */
  readonly unknownOutcome = new Set<number>();
  cancelling = false;
  interrupted = false;
  endWritten = false;
  /** what each step passed forward */
  readonly stepValues: Record<string, unknown>[] = [];
  /** each step's starts (a resumed run retries one) */
  readonly attempts: number[] = [];
  /** reads the running statement's progress; its one connection is opened on first use */
  readonly poller: ProgressPoller | null;

  constructor(
    readonly opts: RunnerOptions,
    params: Record<string, unknown>,
  ) {
    this.ctx = { params, values: {}, target: opts.target, config: opts.config };
    this.secrets = [...opts.target.secrets, ...(opts.task.secretParams ?? []).map((k) => String(params[k] ?? ''))].filter(Boolean);
    this.state = initialRunState(opts.task, opts.runId, opts.ringLines ?? 2000);
    this.exec = new StepExecutor(this, opts);
    this.poller = opts.connect ? new ProgressPoller({ connect: opts.connect, firstAfterMs: opts.progressAfterMs }) : null;
  }

  /** The running step's statement on backend `pid`: its progress goes to the step's state until stopped. */
  watchSql(pid: number): () => void {
    const i = this.state.current;
    const st = i === null ? undefined : this.state.steps[i];
    if (!this.poller || !st || st.status !== 'running') return () => undefined;
    const stop = this.poller.watch(pid, (p) => this.setProgress(st, p));
    return () => {
      stop();
      if (st.progress) this.setProgress(st, null);
    };
  }

  /** Where the running step's command reports its own progress (pg_dump, pg_restore): that step's state only. */
  commandReporter(): (p: StepProgress | null) => void {
    const i = this.state.current;
    const st = i === null ? undefined : this.state.steps[i];
    if (!st || st.status !== 'running') return () => undefined;
    return (p) => {
      if (p === null ? st.progress : st.status === 'running') this.setProgress(st, p);
    };
  }

  /** A step's progress, from the poll or from a command's own output (pg_dump, pg_restore). */
  setProgress(st: { progress?: StepProgress | null }, p: StepProgress | null): void {
    st.progress = p;
    this.changed();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    for (const l of this.listeners) l();
  }

  /**
   * Journals one event. A journal that cannot be written (ENOSPC, EIO) never throws out of the
   * run: the run stops at once (the running step's processes are stopped), and whatever can
   * still be recorded is tried. Returns whether the event is on disk.
   */
  event(type: string, body: Record<string, unknown>): boolean {
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
    this.exec.stop();
    this.changed();
  }

  clean(s: string): string {
    return redact(s, this.secrets);
  }

  out(line: string, stream: 'out' | 'err' | 'notice' | 'info'): void {
    try {
      this.opts.log.write(line, stream);
    } catch (err) {
      this.failWrite(err as Error);
    }
    this.state.output.push(stream === 'out' ? line : `${stream === 'err' ? '!' : '·'} ${line}`);
  }

  flushLog(): void {
    try {
      this.opts.log.flush();
    } catch (err) {
      this.failWrite(err as Error);
    }
  }

  tryDescribe(f: () => Action): string {
    try {
      return this.clean(describeAction(f()));
    } catch {
      return '(decided when the step runs, from the steps before it)';
    }
  }

  /**
   * Folds a finished or interrupted run's journal events (this run's only) back into the state;
   * later events continue its sequence numbers.
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
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
