// The console's top component: the dashboard or one of the task screens, chosen by a small
// router (tasks/state.ts). The App owns the one root input handler (one raw-mode user, bound
// once): it splits each chunk into keys and hands each key to the active screen's handler,
// reading state through a ref so several keys in one chunk never see stale state.
// Side effects (the task service, the runner) happen here, in the key handlers and in the run's
// lifecycle effect; the screens themselves only render state.
import { useInput, type Key } from 'ink';
import { useCallback, useEffect, useReducer, useRef } from 'react';
import type { ChecklistServiceLike } from '../src/checklists/service';
import { confirmWordFor, type TaskDef } from '../src/tasks/model';
import type { RunHandleLike, TaskServiceLike } from '../src/tasks/service';
import type { MonitorLike } from '../src/types';
import { ChecklistList } from './checklists/ChecklistList';
import { walkController } from './checklists/controller';
import type { WalkRoute } from './checklists/state';
import { WalkScreen } from './checklists/WalkScreen';
import { Dashboard, type DashboardNav } from './Dashboard';
import { useRunnerVersion } from './hooks/useRunnerVersion';
import { useTerminalSize } from './hooks/useTerminalSize';
import { keysOf, type KeyHandler, type KeyName } from './keys';
import { BadgeContext, bodyHeight } from './tasks/Frame';
import { History } from './tasks/History';
import { confirmKind, FOLLOW, paramFields, paramsFromForm, ranText, type ScrollDelta } from './tasks/model';
import { ParamForm } from './tasks/ParamForm';
import { planGeometry, PlanScreen } from './tasks/PlanScreen';
import { outputEnvOf, RunScreen } from './tasks/RunScreen';
import { TaskList } from './tasks/TaskList';
import {
  appReducer,
  chosenInOrder,
  INITIAL_APP,
  type AppAction,
  type ChecklistBack,
  type HistoryMode,
  type HistoryRoute,
  type ParamsRoute,
  type PlanRoute,
  type RunRoute,
  type TasksRoute,
} from './tasks/state';

export interface AppProps {
  monitor: MonitorLike;
  /** the task engine; without it the console is the dashboard alone */
  service?: TaskServiceLike;
  /** checklists and walkthroughs; without it the console has no checklist screens */
  checklists?: ChecklistServiceLike;
  /** open on a walkthrough: a new one of this checklist, or one to resume */
  walk?: { begin: string } | { resume: string } | null;
  /** lines at the top of the dashboard's help overlay (a drill's psql command) */
  about?: readonly string[];
  onQuit: () => void;
  /** forced size (tests); otherwise the terminal's, following resize events */
  columns?: number;
  rows?: number;
  color?: boolean;
  /** redraws of a run's screen are batched to one per this many ms (default 100); tests pass 0 */
  redrawMs?: number;
  /** a running step's elapsed time ticks this often (default 1000 ms; 0: never) */
  tickMs?: number;
  /** the clock for elapsed times (tests) */
  now?: () => number;
}

const errorText = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0];

const SCROLL: Partial<Record<Exclude<KeyName, { ch: string }>, ScrollDelta>> = {
  up: -1,
  down: 1,
  'page-up': 'page-up',
  'page-down': 'page-down',
  home: 'home',
  end: 'end',
};

/** ↑↓ PgUp PgDn Home End, and j k g G, as a scroll delta. */
function scrollOf(k: KeyName): ScrollDelta | null {
  if (typeof k === 'object') return k.ch === 'j' ? 1 : k.ch === 'k' ? -1 : k.ch === 'g' ? 'home' : k.ch === 'G' ? 'end' : null;
  return SCROLL[k as keyof typeof SCROLL] ?? null;
}

function selectOf(k: KeyName): number | 'home' | 'end' | null {
  const d = scrollOf(k);
  if (d === null) return null;
  if (d === 'page-up') return -10;
  if (d === 'page-down') return 10;
  return d;
}

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

const RUN_BUSY_NOTICE = 'a run is in progress: q does not quit; c cancels it';

export function App({ monitor, service, checklists, walk, about, onQuit, columns: columnsProp, rows: rowsProp, color = true, redrawMs = 100, tickMs = 1000, now }: AppProps) {
  const { columns, rows } = useTerminalSize(columnsProp, rowsProp);
  const [app, dispatch] = useReducer(appReducer, INITIAL_APP);

  const appRef = useRef(app);
  const apply = useCallback((a: AppAction) => {
    appRef.current = appReducer(appRef.current, a);
    dispatch(a);
  }, []);
  const sizeRef = useRef({ columns, rows });
  sizeRef.current = { columns, rows };
  const serviceRef = useRef(service);
  serviceRef.current = service;
  const checklistsRef = useRef(checklists);
  checklistsRef.current = checklists;
  const nowRef = useRef(now);
  nowRef.current = now;
  const onQuitRef = useRef(onQuit);
  onQuitRef.current = onQuit;
  const dashKeyRef = useRef<KeyHandler | null>(null);

  // ------------------------------------------------------------ navigation
  const quit = useCallback((): 'stop' | void => {
    const r = appRef.current.route;
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
    onQuitRef.current();
    return 'stop';
  }, [apply]);

  const openTasks = useCallback(() => {
    const svc = serviceRef.current;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      apply({ type: 'go', route: { screen: 'tasks', tasks, errors, sel: 0 } });
    } catch (err) {
      apply({ type: 'notice', text: `tasks: ${errorText(err)}` });
    }
  }, [apply]);

  const openHistory = useCallback(
    (mode: HistoryMode, back?: WalkRoute) => {
      const svc = serviceRef.current;
      if (!svc) return;
      let runs: HistoryRoute['runs'] = [];
      let error: string | null = null;
      try {
        runs = mode === 'attention' ? svc.needingAttention() : svc.history();
      } catch (err) {
        error = `the journal could not be read: ${errorText(err)}`;
      }
      apply({ type: 'go', route: { screen: 'history', mode, runs, sel: 0, log: null, error, opening: false, ...(back ? { back } : {}) } });
    },
    [apply],
  );

  const walkCtlRef = useRef<ReturnType<typeof walkController>>(null as never);
  if (!walkCtlRef.current) {
    walkCtlRef.current = walkController({
      apply,
      state: () => appRef.current,
      monitor,
      checklists: () => checklistsRef.current,
      tasks: () => serviceRef.current,
      now: () => nowRef.current?.() ?? Date.now(),
      quit: () => quitRef.current(),
      openHistory: (mode, back) => openHistoryRef.current(mode, back),
      openTaskPlan: (back, taskId, params) => openTaskPlanRef.current(back, taskId, params),
    });
  }
  const quitRef = useRef(quit);
  quitRef.current = quit;
  const openHistoryRef = useRef(openHistory);
  openHistoryRef.current = openHistory;
  const openTaskPlanRef = useRef<(back: ChecklistBack, taskId: string, params: Record<string, unknown>) => void>(() => undefined);

  const sessionActionRef = useRef<(task: 'cancel-query' | 'terminate-sessions', pid: number) => void>(() => undefined);
  const fixActionRef = useRef<(task: string, params: Record<string, unknown>) => void>(() => undefined);
  const navigate = useCallback(
    (to: DashboardNav) => {
      if (typeof to === 'object' && 'fix' in to) {
        if (to.fix) fixActionRef.current(to.fix.task, to.fix.params);
        else apply({ type: 'notice', text: `no finding in ${to.subject} that a built-in task fixes: Tab to the panel with one` });
      } else if (typeof to === 'object') sessionActionRef.current(to.action, to.pid);
      else if (to === 'tasks') openTasks();
      else if (to === 'checklists') walkCtlRef.current.openChecklists();
      else openHistory(to === 'attention' ? 'attention' : 'all');
    },
    [openTasks, openHistory],
  );

  /** The plan for these parameters, or back to the form with the service's one-line error. */
  const toPlan = useCallback(
    (from: TasksRoute, form: ParamsRoute | null, task: TaskDef, params: Record<string, unknown>, checklist?: ChecklistBack, fromDashboard = false) => {
      const svc = serviceRef.current!;
      try {
        const steps = svc.plan(task.id, params);
        // bound to the parameters as the task reads them (svc.plan has just validated them)
        const parsed = task.params.safeParse(params);
        const word = confirmWordFor(task, parsed.success ? parsed.data : params, svc.databaseName);
        apply({
          type: 'go',
          route: { screen: 'plan', from, form, task, params, steps, confirm: confirmKind(task.risk, steps), word, typed: '', error: null, starting: false, top: 0, ...(checklist ? { checklist } : {}), ...(fromDashboard ? { fromDashboard } : {}) },
        });
      } catch (err) {
        if (checklist) {
          apply({ type: 'go', route: checklist.route });
          apply({ type: 'error', error: `${task.id}: ${errorText(err)}` });
          return;
        }
        const base: ParamsRoute = form ?? { screen: 'params', from, task, fields: [], values: {}, focus: 0, error: null };
        apply({ type: 'go', route: { ...base, error: errorText(err) } });
      }
    },
    [apply],
  );

  /** From the dashboard (f, or c / x on a session): the plan of that task with these parameters. */
  fixActionRef.current = (taskId, params) => {
    const svc = serviceRef.current;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      const sel = tasks.findIndex((t) => t.id === taskId);
      if (sel < 0) throw new Error(`no task ${taskId}`);
      toPlan({ screen: 'tasks', tasks, errors, sel }, null, tasks[sel], params, undefined, true);
    } catch (err) {
      apply({ type: 'notice', text: `${taskId}: ${errorText(err)}` });
    }
  };

  /** From the Sessions panel: the plan of cancel-query / terminate-sessions for that one pid. */
  sessionActionRef.current = (taskId, pid) => fixActionRef.current(taskId, { pids: [pid] });

  openTaskPlanRef.current = (back, taskId, params) => {
    const svc = serviceRef.current;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      const sel = Math.max(0, tasks.findIndex((t) => t.id === taskId));
      const task = tasks.find((t) => t.id === taskId);
      if (!task) throw new Error(`unknown task ${taskId}`);
      toPlan({ screen: 'tasks', tasks, errors, sel }, null, task, params, back);
    } catch (err) {
      apply({ type: 'error', error: errorText(err) });
    }
  };

  const openTask = useCallback(
    (from: TasksRoute, task: TaskDef) => {
      const fields = paramFields(task);
      if (fields.length === 0) toPlan(from, null, task, {});
      else apply({ type: 'go', route: { screen: 'params', from, task, fields, values: {}, focus: 0, error: null } });
    },
    [apply, toPlan],
  );

  /** Gives up a start still connecting or waiting for the lock (a server that does not answer). */
  const startAbortRef = useRef<AbortController | null>(null);

  /** Starts the task and parameters the plan was shown for (never a row index). */
  const start = useCallback(
    (r: PlanRoute) => {
      const svc = serviceRef.current!;
      const abort = new AbortController();
      startAbortRef.current = abort;
      apply({ type: 'starting', on: true });
      svc.start(r.task.id, r.params, abort.signal).then(
        (handle) => {
          startAbortRef.current = null;
          // a notice about the start (q does not quit now) no longer holds
          apply({ type: 'notice', text: null });
          if (r.checklist) {
            const back: ChecklistBack = { ...r.checklist, startedAt: nowRef.current?.() ?? Date.now() };
            try {
              walkCtlRef.current.taskStarted(back, handle);
            } catch (err) {
              apply({ type: 'notice', text: `the walkthrough could not record the run: ${errorText(err)}` });
            }
            return apply({ type: 'go', route: runRoute(handle, back) });
          }
          apply({ type: 'go', route: runRoute(handle, r.fromDashboard ? { screen: 'dashboard' } : r.from) });
        },
        (err: unknown) => {
          startAbortRef.current = null;
          apply({ type: 'starting', on: false });
          apply({ type: 'notice', text: null });
          apply({ type: 'error', error: abort.signal.aborted ? `${r.task.id} was not started: given up while connecting (nothing ran)` : errorText(err) });
        },
      );
    },
    [apply],
  );

  /** Ends the run (run.end), releases it, and says how it ended. */
  const closeRun = useCallback(
    (r: RunRoute) => {
      const { handle } = r;
      apply({ type: 'stage', stage: 'closing' });
      let failure: string | null = null;
      try {
        if (handle.runner.state.phase !== 'done') handle.runner.end();
      } catch (err) {
        failure = errorText(err);
      }
      const done = (closeError: string | null) => {
        const st = handle.runner.state;
        let pending = 0;
        try {
          pending = handle.runner.rollbackPlan().length;
        } catch {
          /* nothing to add */
        }
        const parts = [ranText(st.outcome)];
        if (pending) parts.push(`${pending} rollback${pending === 1 ? '' : 's'} left: u in history (or ops rollback) undoes later`);
        const problem = failure ?? closeError;
        if (problem) parts.push(`closing it failed: ${problem}`);
        if (r.back.screen === 'checklist') walkCtlRef.current.taskClosed(r.back, handle, r.back.startedAt ?? null);
        const cur = appRef.current.route;
        if (cur.screen === 'run' && cur.handle === handle) apply({ type: 'stage', stage: 'closed', result: parts.join(' · ') });
      };
      handle.close().then(
        () => done(null),
        (err: unknown) => done(errorText(err)),
      );
    },
    [apply],
  );

  const rollback = useCallback(
    (r: RunRoute) => {
      const ids = r.modal ? chosenInOrder(r.modal) : [];
      if (ids.length === 0) {
        closeRun(r);
        return;
      }
      apply({ type: 'stage', stage: 'undoing' });
      r.handle.runner.rollback(ids).then(
        () => {
          const cur = appRef.current.route;
          if (cur.screen === 'run' && cur.handle === r.handle) closeRun(cur);
        },
        (err: unknown) => {
          apply({ type: 'notice', text: `rollback: ${errorText(err)}` });
          const cur = appRef.current.route;
          if (cur.screen === 'run' && cur.handle === r.handle) closeRun(cur);
        },
      );
    },
    [apply, closeRun],
  );

  const openForRollback = useCallback(
    (r: HistoryRoute) => {
      const svc = serviceRef.current!;
      const run = r.runs[r.sel];
      if (!run) return;
      if (run.pendingRollbacks === 0) {
        apply({ type: 'error', error: `nothing to undo in ${run.run}: no completed step with a rollback left` });
        return;
      }
      const runId = run.run; // bound to the run chosen, whatever the list does meanwhile
      apply({ type: 'opening', on: true });
      svc.openForRollback(runId).then(
        (handle) => apply({ type: 'go', route: runRoute(handle, { screen: 'history', mode: r.mode, ...(r.back ? { back: r.back } : {}) }) }),
        (err: unknown) => {
          apply({ type: 'opening', on: false });
          apply({ type: 'error', error: errorText(err) });
        },
      );
    },
    [apply],
  );

  // ------------------------------------------------------------ keys, per screen
  const tasksKey = (r: TasksRoute, k: KeyName): void | 'stop' => {
    const sel = selectOf(k);
    if (sel !== null) return apply({ type: 'select', delta: sel });
    if (k === 'enter') {
      const task = r.tasks[r.sel];
      if (task) openTask(r, task);
      return;
    }
    if (k === 'esc') return apply({ type: 'go', route: { screen: 'dashboard' } });
    if (typeof k === 'object' && k.ch === 'q') return quit();
  };

  const paramsKey = (r: ParamsRoute, k: KeyName): void => {
    if (k === 'tab' || k === 'down') return apply({ type: 'field', delta: 1 });
    if (k === 'backtab' || k === 'up') return apply({ type: 'field', delta: -1 });
    if (k === 'backspace') return apply({ type: 'erase' });
    if (k === 'esc') return apply({ type: 'go', route: r.from });
    if (k === 'enter') return toPlan(r.from, { ...r, error: null }, r.task, paramsFromForm(r.task, r.values));
    if (typeof k === 'object') apply({ type: 'type', ch: k.ch });
  };

  const planKey = (r: PlanRoute, k: KeyName): void => {
    if (r.starting) {
      if (k === 'esc' || k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'c')) {
        startAbortRef.current?.abort();
        return;
      }
      return apply({ type: 'notice', text: 'starting the run… (Esc or c gives up)' });
    }
    const scroll = typeof k === 'object' ? null : SCROLL[k as keyof typeof SCROLL];
    if (scroll !== undefined && scroll !== null) {
      const svc = serviceRef.current!;
      const g = planGeometry(r, svc.targetDisplay, sizeRef.current.columns, sizeRef.current.rows);
      return apply({ type: 'plan-scroll', delta: scroll, ...g });
    }
    const back = () => apply({ type: 'go', route: r.checklist?.route ?? (r.fromDashboard ? { screen: 'dashboard' } : (r.form ?? r.from)) });
    if (k === 'esc') return back();
    if (r.confirm === 'none') {
      if (k === 'enter') start(r);
      return;
    }
    if (r.confirm === 'yn') {
      if (typeof k === 'object' && (k.ch === 'y' || k.ch === 'Y')) return start(r);
      if (k === 'enter' || (typeof k === 'object' && (k.ch === 'n' || k.ch === 'N'))) {
        back();
        apply({ type: 'notice', text: `${r.task.id} was not run` });
      }
      return;
    }
    // critical: the word the route was opened with (the object destroyed, else the database name), typed exactly
    if (k === 'backspace') return apply({ type: 'erase' });
    if (k === 'enter') {
      const { word, what } = r.word;
      if (r.typed === word) return start(r);
      return apply({ type: 'error', error: r.typed ? `"${r.typed}" is not ${what}: type ${word} exactly, or Esc` : `type ${word} to run it, or Esc` });
    }
    if (typeof k === 'object') apply({ type: 'type', ch: k.ch });
  };

  const runKey = (r: RunRoute, k: KeyName): void | 'stop' => {
    const runner = r.handle.runner;
    if (r.stage === 'choosing' && r.modal) {
      const sel = typeof k === 'object' && k.ch !== 'j' && k.ch !== 'k' ? null : selectOf(k);
      if (sel !== null) return apply({ type: 'select', delta: sel });
      if (typeof k === 'object' && k.ch === ' ') return apply({ type: 'toggle' });
      if (typeof k === 'object' && k.ch === 'a') return apply({ type: 'choose', all: true });
      if (typeof k === 'object' && k.ch === 'n') return apply({ type: 'choose', all: false });
      if (k === 'enter') return rollback(r);
      if (k === 'esc') return closeRun(r);
      if (k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'q')) return void quit();
      return;
    }
    const scroll = scrollOf(k);
    if (scroll !== null) return apply({ type: 'output-scroll', delta: scroll, env: outputEnvOf(r, sizeRef.current.rows) });
    const phase = runner.state.phase;
    const live = phase === 'running' || phase === 'rolling back';
    if (k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'c')) {
      if (live && (r.stage === 'live' || r.stage === 'undoing')) {
        runner.cancel();
        apply({ type: 'cancel-requested' });
        return;
      }
      if (k === 'ctrl-c') return quit();
      return;
    }
    if (typeof k === 'object' && k.ch === 'q') return quit();
    if (k === 'esc' || k === 'enter') {
      if (r.stage === 'closed') {
        if (r.back.screen === 'tasks' || r.back.screen === 'dashboard') return apply({ type: 'go', route: r.back });
        if (r.back.screen === 'checklist') return apply({ type: 'go', route: { ...r.back.route, need: null, mode: null, error: null } });
        return openHistory(r.back.mode, r.back.back);
      }
      if (k === 'esc') apply({ type: 'notice', text: live ? 'a run is in progress: Esc goes back once it has ended; c cancels it' : 'closing the run…' });
    }
  };

  const historyKey = (r: HistoryRoute, k: KeyName): void | 'stop' => {
    if (r.opening) return apply({ type: 'notice', text: 'opening the run…' });
    if (r.log) {
      const scroll = scrollOf(k);
      if (scroll !== null) return apply({ type: 'log-scroll', delta: scroll, height: bodyHeight(sizeRef.current.rows) });
      if (k === 'esc') return apply({ type: 'log', log: null });
      if (k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'q')) return quit();
      return;
    }
    const sel = selectOf(k);
    if (sel !== null) return apply({ type: 'select', delta: sel });
    if (k === 'enter') {
      const run = r.runs[r.sel];
      if (!run) return;
      let text: string | null = null;
      try {
        text = serviceRef.current!.log(run.run);
      } catch (err) {
        return apply({ type: 'error', error: `the log could not be read: ${errorText(err)}` });
      }
      const lines = text ? text.replace(/\n$/, '').split('\n') : [];
      // opened at its end: where a failure is
      return apply({ type: 'log', log: { runId: run.run, lines, top: lines.length } });
    }
    if (typeof k === 'object' && k.ch === 'u') return openForRollback(r);
    if (k === 'esc') return apply({ type: 'go', route: r.back ? { ...r.back, need: null } : { screen: 'dashboard' } });
    if (k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'q')) return quit();
  };

  const handleKey = (k: KeyName): void | 'stop' => {
    const s = appRef.current;
    if (s.notice) apply({ type: 'notice', text: null });
    const r = s.route;
    switch (r.screen) {
      case 'dashboard':
        return dashKeyRef.current?.(k);
      case 'run':
        return runKey(r, k);
      case 'checklist':
        return walkCtlRef.current.walkKey(r, k);
      case 'checklists':
        return walkCtlRef.current.listKey(r, k);
    }
    // everywhere else Ctrl-C quits (a run in progress is only on the run screen)
    if (k === 'ctrl-c' && r.screen !== 'history' && !(r.screen === 'plan' && r.starting)) return quit();
    switch (r.screen) {
      case 'tasks':
        return tasksKey(r, k);
      case 'params':
        return paramsKey(r, k);
      case 'plan':
        return planKey(r, k);
      case 'history':
        return historyKey(r, k);
    }
  };
  const handleKeyRef = useRef(handleKey);
  handleKeyRef.current = handleKey;

  const handleInput = useCallback((input: string, key: Key) => {
    for (const k of keysOf(input, key)) if (handleKeyRef.current(k) === 'stop') return;
  }, []);
  useInput(handleInput);

  // ------------------------------------------------------------ a run's lifecycle
  const route = app.route;
  const runner = route.screen === 'run' ? route.handle.runner : null;
  const version = useRunnerVersion(runner, redrawMs, tickMs);
  useEffect(() => {
    const r = appRef.current.route;
    if (r.screen !== 'run' || r.stage !== 'live') return;
    const phase = r.handle.runner.state.phase;
    // what was said while it ran (q does not quit) no longer holds once it stopped
    if ((phase === 'stopped' || phase === 'done') && appRef.current.notice === RUN_BUSY_NOTICE) apply({ type: 'notice', text: null });
    if (phase === 'stopped') {
      // a failure or a cancel (or a past run opened for its rollbacks): offer the rollbacks
      let items: ReturnType<typeof r.handle.runner.rollbackPlan> = [];
      try {
        items = r.handle.runner.rollbackPlan();
      } catch (err) {
        apply({ type: 'notice', text: `rollback plan: ${errorText(err)}` });
      }
      if (items.length) apply({ type: 'offer', items });
      else closeRun(r);
    } else if (phase === 'done') closeRun(r);
  }, [version, route, apply, closeRun]);

  // ------------------------------------------------------------ a walkthrough's evaluation
  // Automatic steps settle, and the current step's live value refreshes, on every health round.
  const walkOf = route.screen === 'checklist' ? route.walk : null;
  const onWalk = route.screen === 'checklist';
  useEffect(() => {
    if (!onWalk) return;
    const ctl = walkCtlRef.current;
    ctl.evaluate();
    return monitor.subscribe(() => ctl.evaluate());
  }, [onWalk, walkOf, monitor]);

  const walkProp = useRef(walk);
  useEffect(() => {
    const w = walkProp.current;
    if (w && checklistsRef.current) walkCtlRef.current.openWalk(w);
  }, []);

  // ------------------------------------------------------------ render
  const target = service?.targetDisplay ?? '';
  const common = { notice: app.notice, columns, rows, color };
  const screen = renderRoute();
  return <BadgeContext.Provider value={monitor.getState().badge}>{screen}</BadgeContext.Provider>;

  function renderRoute() {
    switch (route.screen) {
      case 'dashboard':
        return (
          <Dashboard
            monitor={monitor}
            onQuit={() => void quit()}
            columns={columns}
            rows={rows}
            color={color}
            keyHandlerRef={dashKeyRef}
            onNavigate={service ? navigate : undefined}
            notice={app.notice}
            about={about}
          />
        );
      case 'tasks':
        return <TaskList route={route} target={target} {...common} />;
      case 'params':
        return <ParamForm route={route} {...common} />;
      case 'plan':
        return <PlanScreen route={route} target={target} {...common} />;
      case 'run':
        return <RunScreen route={route} now={now?.()} {...common} />;
      case 'history':
        return <History route={route} target={target} {...common} />;
      case 'checklists':
        return <ChecklistList route={route} target={target || (monitor.getState().target?.display ?? '')} {...common} />;
      case 'checklist':
        return <WalkScreen route={route} target={target || (monitor.getState().target?.display ?? '')} {...common} />;
    }
  }
}

export default App;
