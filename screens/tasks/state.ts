// The task screens' state (the list, the parameter form, the plan, a run, the history) and their
// reducer. The console's store (screens/state.ts) holds the current route and hands these
// actions to this reducer; the controller (screens/controller.ts) dispatches them.
import type { Confirmation } from '../../src/tasks/confirm';
import type { Choice, TaskDef } from '../../src/tasks/model';
import type { RollbackItem } from '../../src/tasks/engine';
import type { PlanStep, RunHandleLike } from '../../src/tasks/service';
import type { RunSummary } from '../../src/journal';
import type { WalkRoute } from '../checklists/state';
import type { Status } from '../../src/types';
import type { SessionsScreenRoute } from '../sessions/state';
import { moveSel, type ScrollDelta } from '../keymap';
import { FOLLOW, scrollOutput, scrollTop, type OutputEnv, type OutputView, type ParamField } from './model';

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
  /** each parameter's default as text (TaskServiceLike.paramDefaults), shown while its field is empty */
  defaults?: Record<string, string>;
  /** the focused field's pick list (TaskServiceLike.choices), for a parameter that has one */
  pick?: PickList;
}

/**
 * A parameter's pick list as the controller got it from the service (drop-index's never-used and
 * invalid indexes, with their sizes): still reading, read (its items, the one highlighted), or
 * failed. Bound to the field it was asked for; moving to another field drops it.
 */
export type PickList =
  | { field: string; state: 'reading' }
  | { field: string; state: 'read'; items: Choice[]; sel: number | null }
  | { field: string; state: 'failed'; error: string };

/** The focused field's pick list, when it has items to move through. */
export function pickOf(r: ParamsRoute): Extract<PickList, { state: 'read' }> | null {
  const p = r.pick;
  return p && p.state === 'read' && p.items.length > 0 && p.field === r.fields[r.focus]?.name ? p : null;
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
  /** what starting it asks for (the core's confirmationFor: none, y/N, or a word typed exactly) */
  confirm: Confirmation;
  /** what was typed at the critical prompt */
  typed: string;
  error: string | null;
  starting: boolean;
  top: number;
  /** a task step of a walkthrough: where the run's outcome is recorded, and where Esc goes */
  checklist?: ChecklistBack;
  /** opened from the dashboard (a Sessions panel action): Esc goes back there */
  fromDashboard?: boolean;
  /** opened from the sessions view or a session's detail: Esc, and the run's end, go back there */
  fromSessions?: SessionsScreenRoute;
  /** what the plan is about, above its steps (the sessions chosen, and how), each wrapped to the width */
  preface?: PlanNote[];
  /** another plan the operator may take instead (x: terminate what a cancel would not stop) */
  alternative?: PlanAlternative;
  /** the plan's read-only reading (TaskServiceLike.preview); absent when the service has none */
  reading?: PlanReading;
}

/**
 * The plan's reading, as the controller got it from the service: still reading, read (what it
 * found, a refusal), or failed (its one-line error). Only a reading read without a refusal lets
 * the plan be confirmed.
 */
export type PlanReading =
  | { state: 'reading' }
  | { state: 'read'; lines: string[]; refusal: string | null }
  | { state: 'failed'; error: string };

/** Why this plan cannot be confirmed now (its reading), or null. */
export function planBlocked(r: PlanRoute): string | null {
  const g = r.reading;
  if (!g) return null;
  if (g.state === 'reading') return 'still reading the plan… (Esc back)';
  if (g.state === 'failed') return `${r.task.id} cannot run: the plan could not be read: ${g.error}`;
  return g.refusal ? `${r.task.id} cannot run: ${g.refusal}` : null;
}

/** A paragraph above a plan's steps. */
export interface PlanNote {
  text: string;
  status?: Status;
  bold?: boolean;
  /** columns of indent, on every wrapped line */
  indent?: number;
}

export interface PlanAlternative {
  /** the key's footer hint, e.g. "x terminate instead" */
  hint: string;
  taskId: string;
  params: Record<string, unknown>;
  preface?: PlanNote[];
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
  /**
   * A past run's rollbacks (the emergency rollback): what running them asks (the core's
   * confirmationForRollback: y, or the word typed), all chosen when it opens. Absent after a
   * failure or a cancel, where Enter runs the ones chosen.
   */
  confirm?: { kind: 'yes-no'; irreversible: boolean } | { kind: 'type-word'; word: string; what: string };
  /** what was typed at a type-word confirmation */
  typed?: string;
}

export type RunStage = 'live' | 'choosing' | 'undoing' | 'closing' | 'closed';

export interface RunRoute {
  screen: 'run';
  handle: RunHandleLike;
  /** where Esc goes once the run is closed */
  back: TasksRoute | { screen: 'history'; mode: HistoryMode; back?: WalkRoute } | ChecklistBack | { screen: 'dashboard' } | SessionsScreenRoute;
  stage: RunStage;
  view: OutputView;
  modal: RollbackChoice | null;
  cancelRequested: boolean;
  /** the last word, once closed */
  result: string | null;
  /** a past run opened for its rollbacks: its journaled outcome and what it changed */
  past?: { outcome: string; changed?: string | null };
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

export type TaskAction =
  | { type: 'select'; delta: number | 'home' | 'end' }
  | { type: 'field'; delta: number }
  /** a field's pick list answered (or is being read): applied only while that task's field is focused */
  | { type: 'choices'; task: string; pick: PickList }
  /** ↑↓ in the pick list: the highlighted item's value becomes the field's */
  | { type: 'pick'; delta: number }
  | { type: 'type'; ch: string }
  | { type: 'erase' }
  | { type: 'error'; error: string | null }
  | { type: 'starting'; on: boolean }
  | { type: 'plan-scroll'; delta: ScrollDelta; count: number; height: number }
  | { type: 'output-scroll'; delta: ScrollDelta; env: OutputEnv }
  | { type: 'cancel-requested' }
  | { type: 'offer'; items: RollbackItem[]; confirm?: RollbackChoice['confirm'] }
  | { type: 'toggle' }
  | { type: 'choose'; all: boolean }
  | { type: 'stage'; stage: RunStage; result?: string }
  | { type: 'log'; log: LogView | null }
  | { type: 'log-scroll'; delta: ScrollDelta; height: number }
  | { type: 'opening'; on: boolean }
  /** the plan's reading answered: applied only to the plan it was asked for (the same params object) */
  | { type: 'plan-read'; params: Record<string, unknown>; reading: PlanReading; steps?: PlanStep[]; confirm?: Confirmation };

/** The task screens' routes (the reducer below leaves any other route as it is). */
export type TaskRoute = TasksRoute | ParamsRoute | PlanRoute | RunRoute | HistoryRoute;

export function taskReducer<R extends { screen: string }>(route: R, a: TaskAction): R {
  return taskRoute(route as unknown as TaskRoute, a) as unknown as R;
}

function taskRoute(r: TaskRoute, a: TaskAction): TaskRoute {
  switch (a.type) {
    case 'select':
      if (r.screen === 'tasks') return { ...r, sel: moveSel(r.sel, a.delta, r.tasks.length) };
      if (r.screen === 'history' && !r.log) return { ...r, sel: moveSel(r.sel, a.delta, r.runs.length), error: null };
      if (r.screen === 'run' && r.modal) return { ...r, modal: { ...r.modal, sel: moveSel(r.modal.sel, a.delta, r.modal.items.length) } };
      return r;
    case 'field':
      if (r.screen !== 'params' || r.fields.length === 0) return r;
      return { ...r, focus: (r.focus + a.delta + r.fields.length) % r.fields.length, pick: undefined };
    case 'choices':
      if (r.screen !== 'params' || r.task.id !== a.task || r.fields[r.focus]?.name !== a.pick.field) return r;
      return { ...r, pick: a.pick };
    case 'pick': {
      const p = r.screen === 'params' ? pickOf(r) : null;
      if (r.screen !== 'params' || !p) return r;
      const n = p.items.length;
      const sel = p.sel === null ? (a.delta > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, p.sel + a.delta));
      return { ...r, pick: { ...p, sel }, values: { ...r.values, [p.field]: p.items[sel].value } };
    }
    case 'type':
    case 'erase': {
      const edit = (s: string) => (a.type === 'type' ? s + a.ch : [...s].slice(0, -1).join(''));
      if (r.screen === 'params' && r.fields.length > 0) {
        const name = r.fields[r.focus].name;
        return { ...r, values: { ...r.values, [name]: edit(r.values[name] ?? '') } };
      }
      if (r.screen === 'plan' && r.confirm.kind === 'type-word' && !r.starting) return { ...r, typed: edit(r.typed) };
      if (r.screen === 'run' && r.modal?.confirm?.kind === 'type-word') return { ...r, modal: { ...r.modal, typed: edit(r.modal.typed ?? '') } };
      return r;
    }
    case 'error':
      if (r.screen === 'params' || r.screen === 'history') return { ...r, error: a.error };
      if (r.screen === 'plan') return { ...r, error: a.error, typed: '' };
      return r;
    case 'starting':
      return r.screen === 'plan' ? { ...r, starting: a.on } : r;
    case 'plan-read':
      if (r.screen !== 'plan' || r.params !== a.params) return r;
      return { ...r, reading: a.reading, steps: a.steps ?? r.steps, confirm: a.confirm ?? r.confirm, typed: a.confirm ? '' : r.typed };
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
      if (r.screen !== 'run') return r;
      if (a.confirm) return { ...r, stage: 'choosing', modal: { items: a.items, chosen: a.items.map((i) => i.step), sel: 0, confirm: a.confirm, typed: '' } };
      return { ...r, stage: 'choosing', modal: { items: a.items, chosen: [], sel: 0 } };
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
    default:
      return r;
  }
}

/** The rollbacks chosen, in the order offered (newest step first). */
export function chosenInOrder(m: RollbackChoice): string[] {
  return m.items.map((i) => i.step).filter((id) => m.chosen.includes(id));
}
