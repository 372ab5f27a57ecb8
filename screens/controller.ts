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
    walk,
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
