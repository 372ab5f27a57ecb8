// The console's screen router: which screen is shown and each screen's own state, as one
// reducer. The App's single input handler turns keys into these actions (and the service calls
// they need); the components only render this state.
import type { ConfirmWord, TaskDef } from '../../src/tasks/model';
import type { RollbackItem } from '../../src/tasks/engine';
import type { PlanStep, RunHandleLike } from '../../src/tasks/service';
import type { RunSummary } from '../../src/journal';
import { walkReducer, type ChecklistsRoute, type WalkAction, type WalkRoute } from '../checklists/state';
import { FOLLOW, scrollOutput, scrollTop, type ConfirmKind, type OutputEnv, type OutputView, type ParamField, type ScrollDelta } from './model';

export interface TasksRoute {
  screen: 'tasks';
  tasks: TaskDef[];
  errors: string[];
  sel: number;
}

export interface ParamsRoute {
  screen: 'params';
  from: TasksRoute;
  task: TaskDef;
  fields: ParamField[];
  values: Record<string, string>;
  focus: number;
  error: string | null;
}

export interface PlanRoute {
  screen: 'plan';
  from: TasksRoute;
  /** the form as it was, to go back to (null: the task has no parameters) */
  form: ParamsRoute | null;
  /** what a confirmation starts: bound to the task and parameters, never to a row */
  task: TaskDef;
  params: Record<string, unknown>;
  steps: PlanStep[];
  confirm: ConfirmKind;
  /** what the critical prompt wants typed (confirmWordFor: the object destroyed, else the database name) */
  word: ConfirmWord;
  /** what was typed at the critical prompt */
  typed: string;
  error: string | null;
  starting: boolean;
  top: number;
  /** a task step of a walkthrough: where the run's outcome is recorded, and where Esc goes */
  checklist?: ChecklistBack;
  /** opened from the dashboard (a Sessions panel action): Esc goes back there */
  fromDashboard?: boolean;
}

/** A task step of a walkthrough, run through the plan and run screens. */
export interface ChecklistBack {
  screen: 'checklist';
  route: WalkRoute;
  index: number;
  /** when its run started (for the step's duration) */
  startedAt?: number;
}

export interface RollbackChoice {
  /** frozen when the prompt opened: the completed steps' rollbacks, newest first */
  items: RollbackItem[];
  /** chosen step ids */
  chosen: string[];
  sel: number;
}

export type RunStage = 'live' | 'choosing' | 'undoing' | 'closing' | 'closed';

export interface RunRoute {
  screen: 'run';
  handle: RunHandleLike;
  /** where Esc goes once the run is closed */
  back: TasksRoute | { screen: 'history'; mode: HistoryMode; back?: WalkRoute } | ChecklistBack | { screen: 'dashboard' };
  stage: RunStage;
  view: OutputView;
  modal: RollbackChoice | null;
  cancelRequested: boolean;
  /** the last word, once closed */
  result: string | null;
}

export type HistoryMode = 'all' | 'attention';

export interface LogView {
  runId: string;
  lines: string[];
  top: number;
}

export interface HistoryRoute {
  screen: 'history';
  mode: HistoryMode;
  runs: RunSummary[];
  sel: number;
  log: LogView | null;
  error: string | null;
  opening: boolean;
  /** opened from a walkthrough (its emergency rollback key): Esc returns there */
  back?: WalkRoute;
}

export type Route = { screen: 'dashboard' } | TasksRoute | ParamsRoute | PlanRoute | RunRoute | HistoryRoute | ChecklistsRoute | WalkRoute;

export interface AppState {
  route: Route;
  /** a one-line message in the footer until the next key */
  notice: string | null;
}

export const INITIAL_APP: AppState = { route: { screen: 'dashboard' }, notice: null };

export type AppAction =
  | { type: 'go'; route: Route }
  | { type: 'notice'; text: string | null }
  | { type: 'select'; delta: number | 'home' | 'end' }
  | { type: 'field'; delta: number }
  | { type: 'type'; ch: string }
  | { type: 'erase' }
  | { type: 'error'; error: string | null }
  | { type: 'starting'; on: boolean }
  | { type: 'plan-scroll'; delta: ScrollDelta; count: number; height: number }
  | { type: 'output-scroll'; delta: ScrollDelta; env: OutputEnv }
  | { type: 'cancel-requested' }
  | { type: 'offer'; items: RollbackItem[] }
  | { type: 'toggle' }
  | { type: 'choose'; all: boolean }
  | { type: 'stage'; stage: RunStage; result?: string }
  | { type: 'log'; log: LogView | null }
  | { type: 'log-scroll'; delta: ScrollDelta; height: number }
  | { type: 'opening'; on: boolean }
  | WalkAction;

function clampSel(sel: number, n: number): number {
  return n <= 0 ? 0 : Math.max(0, Math.min(sel, n - 1));
}

function moveSel(sel: number, delta: number | 'home' | 'end', n: number): number {
  return clampSel(delta === 'home' ? 0 : delta === 'end' ? n - 1 : sel + delta, n);
}

function routeReducer(r: Route, a: AppAction): Route {
  if (r.screen === 'checklist' && (a.type.startsWith('walk-') || a.type === 'type' || a.type === 'erase' || a.type === 'error')) {
    return walkReducer(r, a as Parameters<typeof walkReducer>[1]);
  }
  if (a.type.startsWith('walk-')) return r;
  switch (a.type) {
    case 'go':
      return a.route;
    case 'select':
      if (r.screen === 'tasks') return { ...r, sel: moveSel(r.sel, a.delta, r.tasks.length) };
      if (r.screen === 'checklists') return { ...r, sel: moveSel(r.sel, a.delta, r.checklists.length + r.unfinished.length) };
      if (r.screen === 'history' && !r.log) return { ...r, sel: moveSel(r.sel, a.delta, r.runs.length), error: null };
      if (r.screen === 'run' && r.modal) return { ...r, modal: { ...r.modal, sel: moveSel(r.modal.sel, a.delta, r.modal.items.length) } };
      return r;
    case 'field':
      if (r.screen !== 'params' || r.fields.length === 0) return r;
      return { ...r, focus: (r.focus + a.delta + r.fields.length) % r.fields.length };
    case 'type':
    case 'erase': {
      const edit = (s: string) => (a.type === 'type' ? s + a.ch : [...s].slice(0, -1).join(''));
      if (r.screen === 'params' && r.fields.length > 0) {
        const name = r.fields[r.focus].name;
        return { ...r, values: { ...r.values, [name]: edit(r.values[name] ?? '') } };
      }
      if (r.screen === 'plan' && r.confirm === 'name' && !r.starting) return { ...r, typed: edit(r.typed) };
      return r;
    }
    case 'error':
      if (r.screen === 'params' || r.screen === 'history') return { ...r, error: a.error };
      if (r.screen === 'plan') return { ...r, error: a.error, typed: '' };
      return r;
    case 'starting':
      return r.screen === 'plan' ? { ...r, starting: a.on } : r;
    case 'plan-scroll':
      return r.screen === 'plan' ? { ...r, top: scrollTop(r.top, a.delta, a.count, a.height) } : r;
    case 'output-scroll': {
      if (r.screen !== 'run') return r;
      const view = scrollOutput(r.view, a.delta, a.env);
      return view === r.view ? r : { ...r, view };
    }
    case 'cancel-requested':
      return r.screen === 'run' ? { ...r, cancelRequested: true } : r;
    case 'offer':
      return r.screen === 'run' ? { ...r, stage: 'choosing', modal: { items: a.items, chosen: [], sel: 0 } } : r;
    case 'toggle': {
      if (r.screen !== 'run' || !r.modal) return r;
      const item = r.modal.items[r.modal.sel];
      if (!item) return r;
      const has = r.modal.chosen.includes(item.step);
      return { ...r, modal: { ...r.modal, chosen: has ? r.modal.chosen.filter((x) => x !== item.step) : [...r.modal.chosen, item.step] } };
    }
    case 'choose':
      if (r.screen !== 'run' || !r.modal) return r;
      return { ...r, modal: { ...r.modal, chosen: a.all ? r.modal.items.map((i) => i.step) : [] } };
    case 'stage':
      if (r.screen !== 'run') return r;
      return {
        ...r,
        stage: a.stage,
        modal: a.stage === 'choosing' ? r.modal : null,
        view: a.stage === 'undoing' ? FOLLOW : r.view,
        cancelRequested: a.stage === 'undoing' ? false : r.cancelRequested,
        result: a.result ?? r.result,
      };
    case 'log':
      return r.screen === 'history' ? { ...r, log: a.log, opening: false } : r;
    case 'log-scroll':
      if (r.screen !== 'history' || !r.log) return r;
      return { ...r, log: { ...r.log, top: scrollTop(r.log.top, a.delta, r.log.lines.length, a.height) } };
    case 'opening':
      return r.screen === 'history' ? { ...r, opening: a.on, error: a.on ? null : r.error } : r;
    case 'notice':
      return r;
    default:
      return r;
  }
}

export function appReducer(s: AppState, a: AppAction): AppState {
  if (a.type === 'notice') return s.notice === a.text ? s : { ...s, notice: a.text };
  const route = routeReducer(s.route, a);
  return route === s.route ? s : { ...s, route };
}

/** The rollbacks chosen, in the order offered (newest step first). */
export function chosenInOrder(m: RollbackChoice): string[] {
  return m.items.map((i) => i.step).filter((id) => m.chosen.includes(id));
}
