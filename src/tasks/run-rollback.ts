// The rollbacks of a run: which completed steps' rollbacks are offered (newest first, with the
// steps that may have run marked), and running the chosen ones, newest step first, each one's
// start and end journaled before and after it runs.
import { describeAction, type Action, type RunContext } from './model';
import { oneLine, type RunCore } from './run-core';
import type { RollbackItem } from './run-state';
import { ACTION_KINDS, DEFAULT_TIMEOUT_MS, StepFailure } from './step-exec';

/** The completed steps' rollbacks, newest first: what the rollback prompt offers. */
export function rollbackPlan(core: RunCore): RollbackItem[] {
  const items: RollbackItem[] = [];
  for (let i = core.state.steps.length - 1; i >= 0; i--) {
    const st = core.state.steps[i];
    const def = core.opts.task.steps[i];
    const uncertain = core.unknownOutcome.has(i) && st.status === 'running';
    if ((st.status !== 'ok' && !uncertain) || !def.rollback || st.rollback === 'done') continue;
    items.push({
      step: def.id,
      index: i,
      title: def.title,
      detail: undoDetail(core, i)!,
      ...(uncertain ? { mayHaveRun: true } : {}),
    });
  }
  return items;
}

/**
 * What the undo of step `i` runs, described from the values passed forward so far (its own
 * included once it finished); null for a step with no rollback. The one description of an undo:
 * the rollback prompt, the journal (step.start, step.finish), ops show and ops rollback.
 */
export function undoDetail(core: RunCore, i: number): string | null {
  const def = core.opts.task.steps[i];
  if (!def?.rollback) return null;
  return core.tryDescribe(() => def.rollback!(rollbackCtx(core, i)));
}

/** the context a rollback sees: everything passed forward up to and including its own step */
function rollbackCtx(core: RunCore, i: number): RunContext {
  const values: Record<string, unknown> = {};
  for (let k = 0; k <= i; k++) Object.assign(values, core.stepValues[k]);
  return { ...core.ctx, values };
}

/** Runs the chosen rollbacks, newest step first, whatever order they are given in. */
export async function runRollbacks(core: RunCore, stepIds: readonly string[]): Promise<{ step: string; ok: boolean; error?: string }[]> {
  const chosen = rollbackPlan(core).filter((r) => stepIds.includes(r.step));
  const results: { step: string; ok: boolean; error?: string }[] = [];
  core.cancelling = false;
  core.exec.rearm();
  core.state.phase = 'rolling back';
  core.changed();
  for (const item of chosen) {
    if (core.writeFailure) break;
    const def = core.opts.task.steps[item.index];
    const st = core.state.steps[item.index];
    let action: Action;
    try {
      action = def.rollback!(rollbackCtx(core, item.index));
      await core.opts.beforeStep?.();
      if (ACTION_KINDS[action.kind].connectFirst) await core.exec.sqlClient();
    } catch (err) {
      const error = core.clean(oneLine((err as Error).message));
      st.rollback = 'failed';
      core.out(`✗ undo not started: ${def.title}: ${error}`, 'err');
      results.push({ step: def.id, ok: false, error });
      continue;
    }
    const detail = core.clean(describeAction(action));
    const started = Date.now();
    st.rollback = 'running';
    core.state.current = item.index;
    if (!core.event('rollback.start', { step: def.id, index: item.index, detail })) {
      st.rollback = 'failed';
      results.push({ step: def.id, ok: false, error: core.state.fault ?? 'the journal cannot be written' });
      break;
    }
    core.out(`↶ undo ${def.title}${item.mayHaveRun ? ' (it may have run)' : ''}: ${detail}`, 'info');
    core.changed();
    try {
      const r = await core.exec.execute(action, def.timeoutMs ?? DEFAULT_TIMEOUT_MS, null);
      st.rollback = 'done';
      core.event('rollback.finish', { step: def.id, index: item.index, outcome: 'ok', exitCode: r.exitCode, durationMs: Date.now() - started });
      core.out(`✓ undone: ${def.title}`, 'info');
      results.push({ step: def.id, ok: true });
    } catch (err) {
      const f = err instanceof StepFailure ? err : new StepFailure((err as Error).message, 'failed', null);
      st.rollback = 'failed';
      const error = core.clean(f.message);
      core.event('rollback.finish', { step: def.id, index: item.index, outcome: f.status, exitCode: f.exitCode, durationMs: Date.now() - started, error });
      core.out(`✗ undo failed: ${def.title}: ${error}`, 'err');
      results.push({ step: def.id, ok: false, error });
      if (f.status === 'cancelled') break;
    } finally {
      core.flushLog();
      core.changed();
    }
  }
  core.state.current = null;
  core.state.phase = 'stopped';
  core.changed();
  return results;
}
