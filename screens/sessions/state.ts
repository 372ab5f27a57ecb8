// The sessions view's state: the list (or the lock tree) with its sort, duration, filters, the
// cursor (bound to a session's identity, never to its row number), the tags, the / prompt and the
// choice a c / x on a blocked row offers; and one session's detail. The console's store
// (screens/state.ts) holds the route; the controller's sessions part
// (screens/sessions/commands.ts) computes each change and this reducer applies it.
import type { DurationKind, QuickFilter, SessionRow, SortDir } from '../../src/sessions/model';

/** The list's columns, in their order on screen; each sorts the list (its number key). */
export const SESSION_COLUMNS = ['pid', 'database', 'user', 'application', 'client', 'state', 'wait', 'duration', 'query'] as const;
export type SessionColumn = (typeof SESSION_COLUMNS)[number];

export type ActionVerb = 'cancel' | 'terminate';

/** One answer of the choice on a blocked row: the sessions a plan would act on, and why. */
export interface ChoiceOption {
  /** 'self': the row's own session; 'root': one root blocker; 'roots': every root blocker */
  kind: 'self' | 'root' | 'roots';
  label: string;
  targets: SessionRow[];
}

/** c / x on a blocked row: that session, or its root blocker(s). Bound to the rows as they were. */
export interface ActionChoice {
  verb: ActionVerb;
  /** the blocked session the key was pressed on */
  from: SessionRow;
  options: ChoiceOption[];
  sel: number;
}

/** The cursor: the session's key (pid@backend start) first; the row number only when that session is gone. */
export interface SessionCursor {
  key: string | null;
  index: number;
  /** a pid to land on once the list arrives (opened from the dashboard's marked row) */
  pid?: number;
}

export interface SessionsView {
  mode: 'list' | 'tree';
  sort: SessionColumn;
  dir: SortDir;
  duration: DurationKind;
  quick: QuickFilter | null;
  /** the filter applied (a valid regex), '' for none */
  regex: string;
  /** the / prompt's text while it is open; null when closed */
  input: string | null;
  /** a bad regex: the error line (the old filter stays) */
  error: string | null;
  cursor: SessionCursor;
  /** the first row shown */
  top: number;
  /** the sessions tagged (sessionKey), for one plan over several */
  tags: string[];
  choice: ActionChoice | null;
  help: boolean;
}

export interface SessionsRoute extends SessionsView {
  screen: 'sessions';
  /**
   * where Esc goes back to (the run screen, when a run waiting on a lock opened it); the dashboard
   * when absent. A route of screens/state.ts, kept opaque here: that module imports this one.
   */
  back?: { screen: string };
}

export interface SessionRoute {
  screen: 'session';
  /** the list it was opened from (Esc goes back there, on this session's row) */
  from: SessionsRoute;
  key: string;
  /** the row as last seen (shown, marked ended, once the session is gone) */
  last: SessionRow;
  top: number;
  choice: ActionChoice | null;
}

export const newSessionsRoute = (over: Partial<SessionsView> = {}): SessionsRoute => ({
  screen: 'sessions',
  mode: 'list',
  sort: 'duration',
  dir: 'desc',
  duration: 'query',
  quick: null,
  regex: '',
  input: null,
  error: null,
  cursor: { key: null, index: 0 },
  top: 0,
  tags: [],
  choice: null,
  help: false,
  ...over,
});

export type SessionsAction =
  | { type: 'sessions-view'; patch: Partial<SessionsView> }
  | { type: 'session-detail'; patch: Partial<Pick<SessionRoute, 'top' | 'choice' | 'last'>> };

export type SessionsScreenRoute = SessionsRoute | SessionRoute;

export function sessionsReducer<R extends { screen: string }>(r: R, a: SessionsAction): R {
  const route = r as unknown as SessionsScreenRoute;
  if (a.type === 'sessions-view' && route.screen === 'sessions') return patched(route, a.patch) as unknown as R;
  if (a.type === 'session-detail' && route.screen === 'session') return patched(route, a.patch) as unknown as R;
  return r;
}

function patched<T extends object>(r: T, patch: Partial<T>): T {
  for (const k of Object.keys(patch) as (keyof T)[]) if (r[k] !== patch[k]) return { ...r, ...patch };
  return r;
}
