// The console's state: the current screen (its route, with that screen's own state), the
// one-line notice of the footer, and the dashboard's focus and scrolling (kept while another
// screen is open, as the dashboard kept them before). One reducer over it; each screen's part is
// reduced by that screen's own reducer.
import { checklistsReducer, walkReducer, type ChecklistsRoute, type WalkAction, type WalkRoute } from './checklists/state';
import { INITIAL_UI, uiReducer, type UiAction, type UiState } from './dashboard-state';
import { sessionsReducer, type SessionRoute, type SessionsAction, type SessionsRoute } from './sessions/state';
import { taskReducer, type HistoryRoute, type ParamsRoute, type PlanRoute, type RunRoute, type TaskAction, type TasksRoute } from './tasks/state';

export type Route = { screen: 'dashboard' } | TasksRoute | ParamsRoute | PlanRoute | RunRoute | HistoryRoute | ChecklistsRoute | WalkRoute | SessionsRoute | SessionRoute;
export type ScreenName = Route['screen'];

export interface AppState {
  route: Route;
  /** a one-line message in the footer until the next key */
  notice: string | null;
  /** the dashboard's focus, scroll offsets, Sessions cursor and help overlay */
  dash: UiState;
}

export const INITIAL_APP: AppState = { route: { screen: 'dashboard' }, notice: null, dash: INITIAL_UI };

export type AppAction =
  | { type: 'go'; route: Route }
  | { type: 'notice'; text: string | null }
  | { type: 'dash'; action: UiAction }
  | TaskAction
  | WalkAction
  | SessionsAction;

function routeReducer(r: Route, a: Exclude<AppAction, { type: 'go' | 'notice' | 'dash' }>): Route {
  if (r.screen === 'checklist') {
    if (a.type.startsWith('walk-') || a.type === 'type' || a.type === 'erase' || a.type === 'error') return walkReducer(r, a as Parameters<typeof walkReducer>[1]);
    return r;
  }
  if (a.type.startsWith('walk-')) return r;
  if (a.type === 'sessions-view' || a.type === 'session-detail') return sessionsReducer(r, a);
  if (r.screen === 'sessions' || r.screen === 'session') return r;
  if (r.screen === 'checklists') return a.type === 'select' ? checklistsReducer(r, a) : r;
  if (r.screen === 'dashboard') return r;
  return taskReducer(r, a as TaskAction);
}

export function appReducer(s: AppState, a: AppAction): AppState {
  switch (a.type) {
    case 'notice':
      return s.notice === a.text ? s : { ...s, notice: a.text };
    case 'go':
      return a.route === s.route ? s : { ...s, route: a.route };
    case 'dash': {
      const dash = uiReducer(s.dash, a.action);
      return dash === s.dash ? s : { ...s, dash };
    }
    default: {
      const route = routeReducer(s.route, a);
      return route === s.route ? s : { ...s, route };
    }
  }
}

/** The rollbacks chosen, in the order offered (newest step first). */
export { chosenInOrder } from './tasks/state';
