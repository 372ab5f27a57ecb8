// The run part of the console's controller (screens/controller.ts): a run's end (the end-of-run
// policy: offer the rollbacks of what was done, or close the run), cancelling, the rollbacks
// chosen, leaving a closed run, and the history with its logs and emergency rollback.
import { errorLine } from '../../src/errors';
import type { AttentionRun } from '../../src/tasks/attention';
import { confirmationForRollback } from '../../src/tasks/confirm';
import type { RunHandleLike } from '../../src/tasks/service';
import type { WalkRoute } from '../checklists/state';
import type { CommandContext } from '../command-context';
import { ranText, FOLLOW } from './model';
import { chosenInOrder, type HistoryMode, type HistoryRoute, type RunRoute } from './state';

export const RUN_BUSY_NOTICE = 'a run is in progress: q does not quit; c cancels it';

export const runRoute = (handle: RunHandleLike, back: RunRoute['back']): RunRoute => ({
  screen: 'run',
  handle,
  back,
  stage: 'live',
  view: FOLLOW,
  modal: null,
  cancelRequested: false,
  result: null,
});

export type RunCommands = ReturnType<typeof runCommands>;

export function runCommands(c: CommandContext) {
  const { apply, route, go } = c;
  const { watchRun, unwatchRun, closeRun } = runEnd(c);
  const { openHistory, openLog, openForRollback } = historyCommands(c);

  function cancelRun(r: RunRoute): boolean {
    const phase = r.handle.runner.state.phase;
    const live = phase === 'running' || phase === 'rolling back';
    if (!live || (r.stage !== 'live' && r.stage !== 'undoing')) return false;
    r.handle.runner.cancel();
    apply({ type: 'cancel-requested' });
    return true;
  }

  /** Runs the rollbacks chosen in the prompt (none chosen: closes the run, leaving them pending). */
  function rollback(r: RunRoute): void {
    const m = r.modal;
    if (m?.confirm?.kind === 'type-word' && m.typed !== m.confirm.word) {
      return apply({ type: 'notice', text: `type ${m.confirm.what} (${m.confirm.word}) exactly, then Enter; Esc leaves the rollbacks pending` });
    }
    const ids = m ? chosenInOrder(m) : [];
    if (ids.length === 0) return closeRun(r);
    apply({ type: 'stage', stage: 'undoing' });
    const after = () => {
      const cur = route();
      if (cur.screen === 'run' && cur.handle === r.handle) closeRun(cur);
    };
    r.handle.runner.rollback(ids).then(after, (err: unknown) => {
      apply({ type: 'notice', text: `rollback: ${errorLine(err)}` });
      after();
    });
  }

  /** Leaves a closed run: back where it was started from. */
  function leaveRun(r: RunRoute): void {
    if (r.back.screen === 'tasks' || r.back.screen === 'dashboard' || r.back.screen === 'sessions' || r.back.screen === 'session') return go(r.back);
    if (r.back.screen === 'checklist') return go({ ...r.back.route, need: null, mode: null, error: null });
    openHistory(r.back.mode, r.back.back);
  }

  return { watchRun, unwatchRun, cancelRun, closeRun, rollback, leaveRun, openHistory, openLog, openForRollback };
}

/** A run's end: watched while it is on screen, and closed once its runner stops. */
function runEnd(c: CommandContext) {
  const { store, apply, route } = c;
  let offRun: (() => void) | null = null;

  /** The end-of-run policy: once the runner stops, offer the rollbacks of what was done, or close the run. */
  function watchRun(handle: RunHandleLike): void {
    offRun?.();
    offRun = handle.runner.subscribe(() => settleRun(handle));
    settleRun(handle);
  }

  /** Stops watching the run (the screen has changed, or the console ends). */
  function unwatchRun(): void {
    offRun?.();
    offRun = null;
  }

  function settleRun(handle: RunHandleLike): void {
    const s = store.getState();
    const r = s.route;
    if (r.screen !== 'run' || r.handle !== handle || r.stage !== 'live') return;
    const phase = handle.runner.state.phase;
    // what was said while it ran (q does not quit) no longer holds once it stopped
    if ((phase === 'stopped' || phase === 'done') && s.notice === RUN_BUSY_NOTICE) apply({ type: 'notice', text: null });
    if (phase === 'stopped') {
      // a failure or a cancel (or a past run opened for its rollbacks): offer the rollbacks
      let items: ReturnType<typeof handle.runner.rollbackPlan> = [];
      try {
        items = handle.runner.rollbackPlan();
      } catch (err) {
        apply({ type: 'notice', text: `rollback plan: ${errorLine(err)}` });
      }
      // a past run opened from the history (the emergency rollback): all chosen, y (or the word) runs them
      const past = r.back.screen === 'history';
      if (items.length) apply({ type: 'offer', items, ...(past ? { confirm: confirmationForRollback(handle.task, c.deps.service?.databaseName ?? '') } : {}) });
      else closeRun(r);
    } else if (phase === 'done') closeRun(r);
  }

  /** Ends the run (run.end), releases it, and says how it ended. */
  function closeRun(r: RunRoute): void {
    const { handle } = r;
    apply({ type: 'stage', stage: 'closing' });
    let failure: string | null = null;
    try {
      if (handle.runner.state.phase !== 'done') handle.runner.end();
    } catch (err) {
      failure = errorLine(err);
    }
    const done = (closeError: string | null) => {
      let pending = 0;
      try {
        pending = handle.runner.rollbackPlan().length;
      } catch {
        /* nothing to add */
      }
      const parts = [ranText(handle.runner.state.outcome)];
      if (pending) parts.push(`${pending} rollback${pending === 1 ? '' : 's'} left: u in history (or ops rollback) undoes later`);
      const problem = failure ?? closeError;
      if (problem) parts.push(`closing it failed: ${problem}`);
      if (r.back.screen === 'checklist') c.walk().taskClosed(r.back, handle, r.back.startedAt ?? null);
      const cur = route();
      if (cur.screen === 'run' && cur.handle === handle) apply({ type: 'stage', stage: 'closed', result: parts.join(' · ') });
    };
    handle.close().then(
      () => done(null),
      (err: unknown) => done(errorLine(err)),
    );
  }

  return { watchRun, unwatchRun, closeRun };
}

/** The history and emergency rollback: the runs, a run's log, a past run opened for its rollbacks. */
function historyCommands(c: CommandContext) {
  const { deps, apply, go } = c;

  function openHistory(mode: HistoryMode, back?: WalkRoute): void {
    const svc = deps.service;
    if (!svc) return;
    let runs: HistoryRoute['runs'] = [];
    let error: string | null = null;
    try {
      runs = mode === 'attention' ? svc.needingAttention() : svc.history();
    } catch (err) {
      error = `the journal could not be read: ${errorLine(err)}`;
    }
    go({ screen: 'history', mode, runs, sel: 0, log: null, error, opening: false, ...(back ? { back } : {}) });
  }

  function openLog(r: HistoryRoute): void {
    const run = r.runs[r.sel];
    if (!run) return;
    let text: string | null = null;
    try {
      text = deps.service!.log(run.run);
    } catch (err) {
      return apply({ type: 'error', error: `the log could not be read: ${errorLine(err)}` });
    }
    const lines = text ? text.replace(/\n$/, '').split('\n') : [];
    // opened at its end: where a failure is
    apply({ type: 'log', log: { runId: run.run, lines, top: lines.length } });
  }

  function openForRollback(r: HistoryRoute): void {
    const run = r.runs[r.sel];
    if (!run) return;
    if (run.pendingRollbacks === 0) return apply({ type: 'error', error: `nothing to undo in ${run.run}: no completed step with a rollback left` });
    const runId = run.run; // bound to the run chosen, whatever the list does meanwhile
    apply({ type: 'opening', on: true });
    deps.service!.openForRollback(runId).then(
      (handle) => go({ ...runRoute(handle, { screen: 'history', mode: r.mode, ...(r.back ? { back: r.back } : {}) }), past: { outcome: run.outcome, changed: (run as AttentionRun).changed ?? null } }),
      (err: unknown) => {
        apply({ type: 'opening', on: false });
        apply({ type: 'error', error: errorLine(err) });
      },
    );
  }

  return { openHistory, openLog, openForRollback };
}
