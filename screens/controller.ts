// The console's controller: plain TypeScript over the task, checklist and monitor services, with
// no React in it. It owns the store (screens/state.ts) and everything that happens: navigation
// and quitting here; starting a run and giving up its start (screens/tasks/plan-commands.ts); a
// run's end (offer the rollbacks, close it), rollbacks and the history
// (screens/tasks/run-commands.ts); the dashboard's session actions and fixes; and (through the
// walkthrough part, screens/checklists/controller.ts) the walkthrough commands. Keys reach it
// through the screen table's key bindings (screens/screen-table.ts); the App only draws the
// store's state.
import type { ControllerDeps, CommandContext } from './command-context';
import { walkController, type WalkController } from './checklists/controller';
import { sessionKey } from '../src/sessions/model';
import { sessionsCommands } from './sessions/commands';
import { appReducer, INITIAL_APP, type AppAction, type AppState, type Route } from './state';
import { createStore, type Store } from './store';
import { planCommands } from './tasks/plan-commands';
import { RUN_BUSY_NOTICE, runCommands } from './tasks/run-commands';

export type { ControllerDeps } from './command-context';
export { RUN_BUSY_NOTICE } from './tasks/run-commands';

export type Controller = ReturnType<typeof createController>;

export function createController(deps: ControllerDeps) {
  const store: Store<AppState, AppAction> = createStore(appReducer, INITIAL_APP);
  const apply = (a: AppAction) => store.dispatch(a);
  const route = () => store.getState().route;
  const now = () => deps.now?.() ?? Date.now();
  const size = { columns: 80, rows: 24 };
  let offMonitor: (() => void) | null = null;

  const ctx: CommandContext = { deps, store, apply, route, now, go, walk: () => walk };
  const plans = planCommands(ctx);
  const runs = runCommands(ctx);
  const quit = () => quitCommand(ctx);
  const sessions = sessionsCommands(ctx, size, plans.planOf);
  const sessionsWatch = watchSessionsWhileOpen(ctx, sessions.pin);

  /** Every change of screen goes here: a run's end is watched, a walkthrough judged on arrival. */
  function go(to: Route): void {
    apply({ type: 'go', route: to });
    if (to.screen === 'run') runs.watchRun(to.handle);
    else runs.unwatchRun();
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

  const walk: WalkController = walkController({
    apply,
    go,
    state: () => store.getState(),
    monitor: deps.monitor,
    checklists: deps.checklists,
    hasTasks: () => !!deps.service,
    now,
    openHistory: runs.openHistory,
    openTaskPlan: (back, taskId, params) => plans.planOf(taskId, params, back),
  });

  /** Opens the first screen: the dashboard, or the walkthrough the console was started for. */
  function begin(open?: { begin: string } | { resume: string } | null): void {
    if (open && deps.checklists) walk.openWalk(open);
  }

  function dispose(): void {
    offMonitor?.();
    offMonitor = null;
    sessionsWatch.dispose();
    runs.unwatchRun();
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
    openTasks: plans.openTasks,
    openTask: plans.openTask,
    submitForm: plans.submitForm,
    moveField: plans.moveField,
    planOf: plans.planOf,
    fix: plans.fix,
    start: plans.start,
    giveUpStart: plans.giveUpStart,
    leavePlan: plans.leavePlan,
    confirmWord: plans.confirmWord,
    cancelRun: runs.cancelRun,
    closeRun: runs.closeRun,
    rollback: runs.rollback,
    leaveRun: runs.leaveRun,
    openHistory: runs.openHistory,
    openLog: runs.openLog,
    openForRollback: runs.openForRollback,
    takeAlternative: plans.takeAlternative,
    sessions,
    walk,
  };
}

/**
 * While the sessions view (or a session's detail) is open, the monitor reads every session in
 * each round (MonitorLike.watchSessions), and no longer once it closes. While a confirmation is
 * open (the choice on a blocked row, or a plan opened from the sessions view or the dashboard)
 * the monitor is paused, so the list freezes, and it resumes once the confirmation closes, unless
 * the operator had paused it already. Kept in step with the store: every change of screen or of
 * the view passes through it.
 */
function watchSessionsWhileOpen({ deps, store, route, apply }: CommandContext, pin: () => void) {
  let watching = false;
  let heldPause = false;
  let offRows: (() => void) | null = null;
  /** each list published: the view's cursor pinned to its session; a detail keeps the row as last seen, to show once the session has ended */
  const onRows = () => {
    const r = route();
    if (r.screen === 'sessions') return pin();
    if (r.screen !== 'session') return;
    const live = deps.monitor.getState().snapshot?.sessions?.find((x) => sessionKey(x) === r.key);
    if (live && live !== r.last) apply({ type: 'session-detail', patch: { last: live } });
  };
  const sync = () => {
    const r = route();
    const open = r.screen === 'sessions' || r.screen === 'session';
    if (open !== watching) {
      watching = open;
      deps.monitor.watchSessions?.(open);
      offRows?.();
      offRows = open ? deps.monitor.subscribe(onRows) : null;
    }
    if (r.screen === 'sessions') pin();
    const confirming = (r.screen === 'plan' && (!!r.fromSessions || !!r.fromDashboard)) || (open && !!r.choice);
    if (confirming && !heldPause) {
      if (!deps.monitor.getState().paused) {
        heldPause = true;
        deps.monitor.togglePause();
      }
    } else if (!confirming && heldPause) {
      heldPause = false;
      if (deps.monitor.getState().paused) deps.monitor.togglePause();
    }
  };
  const off = store.subscribe(sync);
  return {
    dispose() {
      off();
      offRows?.();
      offRows = null;
      if (watching) deps.monitor.watchSessions?.(false);
      watching = false;
    },
  };
}

/** q: quits, unless a run is open or starting (then the footer says why not). */
function quitCommand({ deps, apply, route }: CommandContext): 'stop' | void {
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
