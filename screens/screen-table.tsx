// The screen table: one row per route, each a screen module's key table and drawing. The
// compiler checks that every route has its row (ScreenTable is a mapped type over the routes).
// routeKey is the one path of a key: the notice goes, then the current screen's table decides.
import { ChecklistList } from './checklists/ChecklistList';
import { CHECKLISTS_KEYS, WALK_KEYS } from './checklists/keys';
import { WalkScreen } from './checklists/WalkScreen';
import type { Controller } from './controller';
import { DASHBOARD_KEYS, helpLines } from './dashboard-keys';
import { DashboardView } from './Dashboard';
import { clean } from './format';
import { dispatchKey, helpOf, hintsOf, type Binding } from './keymap';
import type { KeyName } from './keys';
import type { DrawProps, KeyCtx, ScreenTable } from './screen';
import type { Route } from './state';
import { SESSION_KEYS, SESSIONS_KEYS, SORT_BINDINGS } from './sessions/keys';
import { SessionDetail } from './sessions/SessionDetail';
import { SessionsScreen } from './sessions/SessionsScreen';
import { History } from './tasks/History';
import { HISTORY_KEYS, PARAMS_KEYS, PLAN_KEYS, ROLLBACK_KEYS, RUN_KEYS, TASKS_KEYS } from './tasks/keys';
import { ParamForm } from './tasks/ParamForm';
import { PlanScreen } from './tasks/PlanScreen';
import { RollbackModal } from './tasks/RollbackModal';
import { RunScreen } from './tasks/RunScreen';
import { TaskList } from './tasks/TaskList';

const targetOf = (p: DrawProps) => p.ctl.deps.service?.targetDisplay ?? '';
const walkTarget = (p: DrawProps) => targetOf(p) || (p.ctl.deps.monitor.getState().target?.display ?? '');
const common = (p: DrawProps) => ({ notice: p.state.notice, columns: p.columns, rows: p.rows, color: p.color, hints: p.hints });

export const SCREENS: ScreenTable = {
  dashboard: {
    keys: DASHBOARD_KEYS,
    draw: (p) => {
      const ctx: KeyCtx<{ screen: 'dashboard' }> = { ctl: p.ctl, route: p.route, state: p.state };
      return (
        <DashboardView
          monitor={p.ctl.deps.monitor}
          ui={p.state.dash}
          columns={p.columns}
          rows={p.rows}
          color={p.color}
          actions={!!p.ctl.deps.service}
          hints={p.hints}
          help={helpLines(helpOf(DASHBOARD_KEYS, ctx), (p.about ?? []).map(clean))}
          notice={p.state.notice}
        />
      );
    },
  },
  tasks: { keys: TASKS_KEYS, draw: (p) => <TaskList route={p.route} target={targetOf(p)} {...common(p)} /> },
  params: { keys: PARAMS_KEYS, draw: (p) => <ParamForm route={p.route} {...common(p)} /> },
  plan: { keys: PLAN_KEYS, draw: (p) => <PlanScreen route={p.route} target={targetOf(p)} {...common(p)} /> },
  run: {
    keys: RUN_KEYS,
    draw: (p) =>
      p.route.modal ? (
        <RollbackModal route={p.route} {...common(p)} hints={hintsOf(ROLLBACK_KEYS, { ctl: p.ctl, route: p.route, state: p.state })} />
      ) : (
        <RunScreen route={p.route} now={p.now} {...common(p)} />
      ),
  },
  history: { keys: HISTORY_KEYS, draw: (p) => <History route={p.route} target={targetOf(p)} {...common(p)} /> },
  checklists: { keys: CHECKLISTS_KEYS, draw: (p) => <ChecklistList route={p.route} target={walkTarget(p)} {...common(p)} /> },
  checklist: { keys: WALK_KEYS, draw: (p) => <WalkScreen route={p.route} target={walkTarget(p)} {...common(p)} /> },
  sessions: {
    keys: SESSIONS_KEYS,
    draw: (p) => {
      // the hints are read again on each of the view's redraws: the monitor's pause changes them
      const ctx = { ctl: p.ctl, route: p.route, state: p.state };
      const keys = () => ({
        sortHints: hintsOf(SORT_BINDINGS, ctx),
        hints: hintsOf(SESSIONS_KEYS, ctx),
        // the keys of the list, as they are with the help closed
        help: ['Sessions · keys · any key closes', ...helpOf(SESSIONS_KEYS, { ...ctx, route: { ...p.route, help: false } }), ...SESSIONS_LEGEND],
      });
      return <SessionsScreen monitor={p.ctl.deps.monitor} keys={keys} {...common(p)} route={p.route} />;
    },
  },
  session: {
    keys: SESSION_KEYS,
    draw: (p) => <SessionDetail monitor={p.ctl.deps.monitor} keys={() => hintsOf(SESSION_KEYS, { ctl: p.ctl, route: p.route, state: p.state })} {...common(p)} route={p.route} />,
  },
};

const SESSIONS_LEGEND: readonly string[] = [
  'Marks: ▸ the cursor  + tagged  [own] the console\'s own session (left out of the counts)',
  'Times: Q-TIME the query\'s, X-TIME the transaction\'s, B-TIME the backend\'s (d switches)',
];

/** The current screen's module, typed for its route. */
function moduleOf<R extends Route>(route: R) {
  return SCREENS[route.screen] as unknown as { keys: readonly Binding<KeyCtx<R>>[]; draw: (p: DrawProps<R>) => React.ReactElement };
}

/** One key: the footer's notice goes, then the current screen's table picks the command. */
export function routeKey(ctl: Controller, k: KeyName): void | 'stop' {
  const state = ctl.store.getState();
  if (state.notice) ctl.apply({ type: 'notice', text: null });
  const route = state.route;
  return dispatchKey(moduleOf(route).keys, { ctl, route, state: ctl.store.getState() }, k);
}

/** The current screen, drawn, with the footer hints its table gives. */
export function drawScreen(p: Omit<DrawProps, 'hints'>): React.ReactElement {
  const m = moduleOf(p.route);
  return m.draw({ ...p, hints: hintsOf(m.keys, { ctl: p.ctl, route: p.route, state: p.state }) });
}
