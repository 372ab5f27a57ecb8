// The dashboard's keys: one table gives what each key does, the footer's hints and the help
// overlay's lines. The task keys apply only when the console has a task service.
import { offeredFix } from '../src/health/fixes';
import type { Controller } from './controller';
import { markedIndex, type UiAction } from './dashboard-state';
import { ANY, MOVE_KEYS, scrollOf, type Binding } from './keymap';
import { buildPanels, PANEL_GROUPS, PANEL_ORDER, PANEL_TITLES, type PanelId, type PanelModel } from './panels';
import type { KeyCtx } from './screen';

type Ctx = KeyCtx<{ screen: 'dashboard' }>;

/** The panels' column width at this terminal width (two columns from 120). */
export const columnWidth = (columns: number): number => (columns >= 120 ? Math.floor((columns - 1) / 2) : columns);

export function countsOf(panels: Record<PanelId, PanelModel>): Record<PanelId, number> {
  const c = {} as Record<PanelId, number>;
  for (const id of PANEL_ORDER) c[id] = panels[id].rows.length;
  return c;
}

/** The panels as the next frame draws them (a key acts on what is on screen). */
function panelsNow(ctl: Controller): Record<PanelId, PanelModel> {
  return buildPanels(ctl.deps.monitor.getState(), columnWidth(ctl.size.columns), Date.now());
}

const dash = (ctl: Controller, action: UiAction) => ctl.apply({ type: 'dash', action });

function scroll({ ctl }: Ctx, delta: Extract<UiAction, { type: 'scroll' }>['delta']): void {
  const panels = panelsNow(ctl);
  const env = { columns: ctl.size.columns, rows: ctl.size.rows, counts: countsOf(panels), actions: !!ctl.deps.service, pids: panels.sessions.pids };
  dash(ctl, { type: 'scroll', delta, env });
}

/** The pid of the Sessions row the cursor marks (c / x / f act on it), when Sessions has the focus. */
function markedPid({ ctl, state }: Ctx): number | undefined {
  if (state.dash.focus !== 'sessions') return undefined;
  // the row the dashboard marks (screens/Dashboard.tsx draws the same one)
  const { pids } = panelsNow(ctl).sessions;
  return pids?.[markedIndex(state.dash, pids)];
}

const tasks = ({ ctl }: Ctx) => !!ctl.deps.service;
const alone = (c: Ctx) => !tasks(c);

/** The table, in the order of the help overlay's lines. */
export const DASHBOARD_KEYS: readonly Binding<Ctx>[] = [
  { keys: ['ctrl-c'], run: ({ ctl }) => (ctl.quit(), 'stop') },
  // the help overlay: any other key closes it
  { keys: ANY, when: ({ state }) => state.dash.help, run: ({ ctl }) => dash(ctl, { type: 'help', open: false }) },
  { keys: [{ ch: 'q' }], run: ({ ctl }) => (ctl.quit(), 'stop'), hint: 'q quit', help: { keys: 'q, Ctrl-C', text: 'quit' } },
  {
    keys: [{ ch: ' ' }],
    run: ({ ctl }) => ctl.deps.monitor.togglePause(),
    hint: ({ ctl }) => `space ${ctl.deps.monitor.getState().paused ? 'resume' : 'pause'}`,
    help: { keys: 'space', text: 'pause / resume refreshing' },
  },
  { keys: [{ ch: 'r' }], run: ({ ctl }) => ctl.deps.monitor.refreshNow(), help: { keys: 'r', text: 'refresh now' } },
  { keys: [], hint: 'r refresh', when: alone },
  { keys: ['tab'], run: ({ ctl }) => dash(ctl, { type: 'focus', delta: 1 }), help: { keys: 'Tab', text: 'focus the next panel (Shift-Tab: previous)' } },
  { keys: ['backtab'], run: ({ ctl }) => dash(ctl, { type: 'focus', delta: -1 }) },
  { keys: [], hint: 'Tab panels', when: tasks },
  { keys: [], hint: 'Tab panel', when: alone },
  { keys: [], hint: '↑↓ scroll', when: alone },
  { keys: MOVE_KEYS, run: (c, k) => scroll(c, scrollOf(k)!), help: { keys: '↑ ↓ / j k', text: 'scroll the focused panel (PgUp PgDn: a page, g G: top, bottom)' } },
  { keys: [{ ch: '?' }], run: ({ ctl }) => dash(ctl, { type: 'help', open: true }), help: { keys: '?  Esc', text: 'show / hide this help' } },
  // the sessions view: every session; from the Sessions panel, on the session of its marked row
  {
    keys: [{ ch: 'a' }],
    run: (c) => c.ctl.sessions.open(markedPid(c)),
    help: { keys: 'a, Enter', text: 'sessions: every session, sorted and filtered, its detail, the lock tree (Enter: on the Sessions panel)' },
  },
  { keys: ['enter'], when: ({ state }) => state.dash.focus === 'sessions', run: (c) => c.ctl.sessions.open(markedPid(c)) },
  { keys: [{ ch: 't' }], when: tasks, run: ({ ctl }) => ctl.openTasks(), hint: 't tasks', help: { keys: 't', text: 'tasks: choose one, set its parameters, see the plan, run it' } },
  {
    keys: [{ ch: 'l' }],
    when: tasks,
    run: ({ ctl }) => ctl.walk.openChecklists(),
    hint: 'l checklists',
    help: { keys: 'l', text: 'checklists: walk one step by step, or resume an unfinished one' },
  },
  { keys: [{ ch: 'h' }], when: tasks, run: ({ ctl }) => ctl.openHistory('all'), hint: 'h history', help: { keys: 'h', text: 'history of runs: their logs, and the rollbacks left to apply' } },
  { keys: [{ ch: 'u' }], when: tasks, run: ({ ctl }) => ctl.openHistory('attention'), help: { keys: 'u', text: 'emergency rollback: the runs that need attention' } },
  {
    keys: [{ ch: 'c' }, { ch: 'x' }],
    when: tasks,
    // bound to the pid of the marked row now; the plan lists the session before anything runs
    run: (c, k) => {
      const pid = markedPid(c);
      if (pid !== undefined) c.ctl.planOf(typeof k === 'object' && k.ch === 'c' ? 'cancel-query' : 'terminate-sessions', { pids: [pid] });
    },
    help: { keys: 'c x', text: 'Sessions panel: cancel the query / terminate the session of the ▸ row' },
  },
  {
    keys: [{ ch: 'f' }],
    when: tasks,
    // the core bound each finding to its fix; the marked session's, else the panel's worst
    run: (c) => {
      const focus = c.state.dash.focus;
      const checks = c.ctl.deps.monitor.getState().report?.checks ?? [];
      const pid = markedPid(c);
      const offer = offeredFix(checks, PANEL_GROUPS[focus], pid) ?? (pid !== undefined ? offeredFix(checks, PANEL_GROUPS[focus]) : null);
      c.ctl.fix(offer?.fix ?? null, offer?.subject ?? PANEL_TITLES[focus]);
    },
    help: { keys: 'f', text: "fix: the plan of the task that fixes the focused panel's worst finding" },
  },
  {
    keys: [{ ch: 'o' }],
    when: ({ ctl }) => !!ctl.deps.onOverview,
    run: ({ ctl }) => (ctl.deps.onOverview?.(), 'stop'),
    hint: 'o overview',
    help: { keys: 'o', text: 'back to the overview of every target' },
  },
  { keys: [], hint: '? help' },
  // after ? help: where the footer is short, the help stays in it
  { keys: [], when: ({ state }) => state.dash.focus === 'sessions', hint: 'Enter all sessions' },
];

const HELP_TAIL: readonly string[] = [
  'Markers: !! critical  ! warning  ? unknown   ▶ focused panel',
  'Colours: red critical, yellow warning, grey unknown, green OK (off with --no-color / NO_COLOR)',
  'Small terminal: panels shrink to a title with a one-line summary; Tab to one to enlarge it.',
];

/**
 * The help overlay's lines, generated from the key table: the task keys only when the console
 * has a task service; `about` (where the console runs: a drill's psql command) right under the
 * title, where the smallest terminal still shows it.
 */
export function helpLines(keys: string[], about: readonly string[] = []): readonly string[] {
  return ['Help · any key closes', ...about, ...keys, ...HELP_TAIL];
}
