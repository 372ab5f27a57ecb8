// The console's controller: plain TypeScript over the task, checklist and monitor services, with
// no React in it. It owns the store (screens/state.ts) and everything that happens: navigation,
// starting a run and giving up its start, a run's end (offer the rollbacks, close it), rollbacks,
// the history, the dashboard's session actions and fixes, and (through the walkthrough part,
// screens/checklists/controller.ts) the walkthrough commands. Keys reach it through the screen
// table's key bindings (screens/screen-table.ts); the App only draws the store's state.
import { errorLine } from '../src/errors';
import type { ChecklistServiceLike } from '../src/checklists/service';
import { confirmationFor } from '../src/tasks/confirm';
import type { TaskDef } from '../src/tasks/model';
import type { RunHandleLike, TaskServiceLike } from '../src/tasks/service';
import type { FixRef, MonitorLike } from '../src/types';
import { walkController, type WalkController } from './checklists/controller';
import type { WalkRoute } from './checklists/state';
import { appReducer, INITIAL_APP, type AppAction, type AppState, type Route } from './state';
import { createStore, type Store } from './store';
import { paramFields, paramsFromForm, ranText, FOLLOW } from './tasks/model';
import { chosenInOrder, type ChecklistBack, type HistoryMode, type HistoryRoute, type ParamsRoute, type PlanRoute, type RunRoute, type TasksRoute } from './tasks/state';

export interface ControllerDeps {
  monitor: MonitorLike;
  /** the task engine; without it the console is the dashboard alone */
  service?: TaskServiceLike;
  /** checklists and walkthroughs */
  checklists?: ChecklistServiceLike;
  onQuit: () => void;
  /** the clock (tests fix it) */
  now?: () => number;
}

export const RUN_BUSY_NOTICE = 'a run is in progress: q does not quit; c cancels it';

const runRoute = (handle: RunHandleLike, back: RunRoute['back']): RunRoute => ({
  screen: 'run',
  handle,
  back,
  stage: 'live',
  view: FOLLOW,
  modal: null,
  cancelRequested: false,
  result: null,
});

export type Controller = ReturnType<typeof createController>;

export function createController(deps: ControllerDeps) {
  const store: Store<AppState, AppAction> = createStore(appReducer, INITIAL_APP);
  const apply = (a: AppAction) => store.dispatch(a);
  const route = () => store.getState().route;
  const now = () => deps.now?.() ?? Date.now();
  const size = { columns: 80, rows: 24 };
  let startAbort: AbortController | null = null;
  let offRun: (() => void) | null = null;
  let offMonitor: (() => void) | null = null;

  /** Every change of screen goes here: a run's end is watched, a walkthrough judged on arrival. */
  function go(to: Route): void {
    apply({ type: 'go', route: to });
    if (to.screen === 'run') watchRun(to.handle);
    else if (offRun) {
      offRun();
      offRun = null;
    }
    // a walkthrough settles its automatic steps on every health round, while it is on screen
    if (to.screen === 'checklist') {
      offMonitor ??= deps.monitor.subscribe(() => {
        if (route().screen === 'checklist') walk.evaluate();
      });
      walk.evaluate();
    } else if (offMonitor) {
      offMonitor();
      offMonitor = null;
    }
  }

  // ------------------------------------------------------------ quitting
  function quit(): 'stop' | void {
    const r = route();
    if (r.screen === 'run' && r.stage !== 'closed') {
      const phase = r.handle.runner.state.phase;
      apply({
        type: 'notice',
        text:
          phase === 'running' || phase === 'rolling back'
            ? RUN_BUSY_NOTICE
            : 'the run is still open: answer the rollback prompt first (Enter runs the chosen, Esc leaves them pending)',
      });
      return;
    }
    if (r.screen === 'plan' && r.starting) {
      apply({ type: 'notice', text: 'the run is starting: q does not quit now; Esc or c gives up' });
      return;
    }
    deps.onQuit();
    return 'stop';
  }

  // ------------------------------------------------------------ tasks, plans, starts
  function openTasks(): void {
    const svc = deps.service;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      go({ screen: 'tasks', tasks, errors, sel: 0 });
    } catch (err) {
      apply({ type: 'notice', text: `tasks: ${errorLine(err)}` });
    }
  }

  function openTask(from: TasksRoute, task: TaskDef): void {
    const fields = paramFields(task);
    if (fields.length === 0) toPlan(from, null, task, {});
    else go({ screen: 'params', from, task, fields, values: {}, focus: 0, error: null });
  }

  /** The plan for these parameters, or back to the form with the service's one-line error. */
  function toPlan(from: TasksRoute, form: ParamsRoute | null, task: TaskDef, params: Record<string, unknown>, checklist?: ChecklistBack, fromDashboard = false): void {
    const svc = deps.service!;
    try {
      const steps = svc.plan(task.id, params);
      // bound to the parameters as the task reads them (svc.plan has just validated them)
      const parsed = task.params.safeParse(params);
      const confirm = confirmationFor(task, { params: parsed.success ? (parsed.data as Record<string, unknown>) : params, steps }, svc.databaseName);
      go({ screen: 'plan', from, form, task, params, steps, confirm, typed: '', error: null, starting: false, top: 0, ...(checklist ? { checklist } : {}), ...(fromDashboard ? { fromDashboard } : {}) });
    } catch (err) {
      if (checklist) {
        go(checklist.route);
        apply({ type: 'error', error: `${task.id}: ${errorLine(err)}` });
        return;
      }
      const base: ParamsRoute = form ?? { screen: 'params', from, task, fields: [], values: {}, focus: 0, error: null };
      go({ ...base, error: errorLine(err) });
    }
  }

  /** The plan of a task by its id: from the dashboard (f, c / x on a session) or a walkthrough's task step. */
  function planOf(taskId: string, params: Record<string, unknown>, back?: ChecklistBack): void {
    const svc = deps.service;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      const sel = tasks.findIndex((t) => t.id === taskId);
      if (sel < 0) throw new Error(back ? `unknown task ${taskId}` : `no task ${taskId}`);
      toPlan({ screen: 'tasks', tasks, errors, sel }, null, tasks[sel], params, back, !back);
    } catch (err) {
      if (back) apply({ type: 'error', error: errorLine(err) });
      else apply({ type: 'notice', text: `${taskId}: ${errorLine(err)}` });
    }
  }

  function fix(offer: FixRef | null, subject: string): void {
    if (!deps.service) return;
    if (offer) planOf(offer.task, offer.params);
    else apply({ type: 'notice', text: `no finding in ${subject} that a built-in task fixes: Tab to the panel with one` });
  }

  /** The plan shown was for this task and these parameters (never a row index): starts them. */
  function start(r: PlanRoute): void {
    const svc = deps.service!;
    const abort = new AbortController();
    startAbort = abort;
    apply({ type: 'starting', on: true });
    svc.start(r.task.id, r.params, abort.signal).then(
      (handle) => {
        startAbort = null;
        // a notice about the start (q does not quit now) no longer holds
        apply({ type: 'notice', text: null });
        if (r.checklist) {
          const back: ChecklistBack = { ...r.checklist, startedAt: now() };
          try {
            walk.taskStarted(back, handle);
          } catch (err) {
            apply({ type: 'notice', text: `the walkthrough could not record the run: ${errorLine(err)}` });
          }
          return go(runRoute(handle, back));
        }
        go(runRoute(handle, r.fromDashboard ? { screen: 'dashboard' } : r.from));
      },
      (err: unknown) => {
        startAbort = null;
        apply({ type: 'starting', on: false });
        apply({ type: 'notice', text: null });
        apply({ type: 'error', error: abort.signal.aborted ? `${r.task.id} was not started: given up while connecting (nothing ran)` : errorLine(err) });
      },
    );
  }

  /** Gives up a start still connecting or waiting for the lock (a server that does not answer). */
  function giveUpStart(): void {
    startAbort?.abort();
  }

  /** Where Esc goes from a plan. */
  function leavePlan(r: PlanRoute, notRun = false): void {
    go(r.checklist?.route ?? (r.fromDashboard ? { screen: 'dashboard' } : (r.form ?? r.from)));
    if (notRun) apply({ type: 'notice', text: `${r.task.id} was not run` });
  }

  function submitForm(r: ParamsRoute): void {
    toPlan(r.from, { ...r, error: null }, r.task, paramsFromForm(r.task, r.values));
  }

  function confirmWord(r: PlanRoute): void {
    if (r.confirm.kind !== 'type-word') return;
    const { word, what } = r.confirm;
    if (r.typed === word) return start(r);
    apply({ type: 'error', error: r.typed ? `"${r.typed}" is not ${what}: type ${word} exactly, or Esc` : `type ${word} to run it, or Esc` });
  }

  // ------------------------------------------------------------ a run's end
  /** The end-of-run policy: once the runner stops, offer the rollbacks of what was done, or close the run. */
  function watchRun(handle: RunHandleLike): void {
    offRun?.();
    offRun = handle.runner.subscribe(() => settleRun(handle));
    settleRun(handle);
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
      if (items.length) apply({ type: 'offer', items });
      else closeRun(r);
    } else if (phase === 'done') closeRun(r);
  }

  function cancelRun(r: RunRoute): boolean {
    const phase = r.handle.runner.state.phase;
    const live = phase === 'running' || phase === 'rolling back';
    if (!live || (r.stage !== 'live' && r.stage !== 'undoing')) return false;
    r.handle.runner.cancel();
    apply({ type: 'cancel-requested' });
    return true;
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
      if (r.back.screen === 'checklist') walk.taskClosed(r.back, handle, r.back.startedAt ?? null);
      const cur = route();
      if (cur.screen === 'run' && cur.handle === handle) apply({ type: 'stage', stage: 'closed', result: parts.join(' · ') });
    };
    handle.close().then(
      () => done(null),
      (err: unknown) => done(errorLine(err)),
    );
  }

  /** Runs the rollbacks chosen in the prompt (none chosen: closes the run, leaving them pending). */
  function rollback(r: RunRoute): void {
    const ids = r.modal ? chosenInOrder(r.modal) : [];
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
    if (r.back.screen === 'tasks' || r.back.screen === 'dashboard') return go(r.back);
    if (r.back.screen === 'checklist') return go({ ...r.back.route, need: null, mode: null, error: null });
    openHistory(r.back.mode, r.back.back);
  }

  // ------------------------------------------------------------ history and emergency rollback
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
      (handle) => go(runRoute(handle, { screen: 'history', mode: r.mode, ...(r.back ? { back: r.back } : {}) })),
      (err: unknown) => {
        apply({ type: 'opening', on: false });
        apply({ type: 'error', error: errorLine(err) });
      },
    );
  }

  const walk: WalkController = walkController({
    apply,
    go,
    state: () => store.getState(),
    monitor: deps.monitor,
    checklists: deps.checklists,
    hasTasks: () => !!deps.service,
    now,
    openHistory,
    openTaskPlan: (back, taskId, params) => planOf(taskId, params, back),
  });

  /** Opens the first screen: the dashboard, or the walkthrough the console was started for. */
  function begin(open?: { begin: string } | { resume: string } | null): void {
    if (open && deps.checklists) walk.openWalk(open);
  }

  function dispose(): void {
    offMonitor?.();
    offMonitor = null;
    offRun?.();
    offRun = null;
    walk.dispose();
  }

  return {
    store,
    deps,
    /** the terminal's size as last drawn (page sizes, scroll clamping) */
    size,
    resize(columns: number, rows: number) {
      size.columns = columns;
      size.rows = rows;
    },
    apply,
    go,
    quit,
    begin,
    dispose,
    openTasks,
    openTask,
    submitForm,
    planOf,
    fix,
    start,
    giveUpStart,
    leavePlan,
    confirmWord,
    cancelRun,
    closeRun,
    rollback,
    leaveRun,
    openHistory,
    openLog,
    openForRollback,
    walk,
  };
}
