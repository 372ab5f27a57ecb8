// The dashboard: a header verdict, six panels and a key-hint footer, sized to the terminal.
// Re-renders only when the monitor publishes or a key changes focus/scroll/help: no timers here.
import { Box, useInput, type Key } from 'ink';
import { useCallback, useEffect, useMemo, useReducer, useRef, type MutableRefObject, type ReactNode } from 'react';
import { offeredFix } from '../src/health/fixes';
import type { FixRef, MonitorLike, MonitorState } from '../src/types';
import { LineView } from './components/LineView';
import { clean, hhmmss, rowMark, suffix } from './format';
import { useMonitor } from './hooks/useMonitor';
import { useTerminalSize } from './hooks/useTerminalSize';
import { keysOf, type KeyHandler, type KeyName } from './keys';
import { clampOffset, planLayout, type Layout } from './layout';
import { buildPanels, PANEL_GROUPS, PANEL_ORDER, PANEL_TITLES, type Line, type PanelId, type PanelModel } from './panels';

export interface DashboardProps {
  monitor: MonitorLike;
  onQuit: () => void;
  /** forced size (tests); otherwise the terminal's, following resize events */
  columns?: number;
  rows?: number;
  /** false for NO_COLOR / --no-color: no colour escapes at all, the textual markers remain */
  color?: boolean;
  /**
   * Inside the console's App: the App owns the one root input handler and calls the dashboard's
   * key handler through this ref (the dashboard then binds no useInput of its own).
   */
  keyHandlerRef?: MutableRefObject<KeyHandler | null>;
  /** `t` tasks, `h` history, `u` emergency rollback (only when the console has a task service) */
  onNavigate?: (to: DashboardNav) => void;
  /** the console's own one-line message (e.g. after leaving a screen), shown in the footer until the next key */
  notice?: string | null;
  /** lines at the top of the help overlay about where the console runs (a drill's psql command) */
  about?: readonly string[];
}

export type DashboardNav =
  | 'tasks'
  | 'checklists'
  | 'history'
  | 'attention'
  /** from the Sessions panel: a task for one session, bound to its pid */
  | { action: 'cancel-query' | 'terminate-sessions'; pid: number }
  /** f: the built-in task that fixes the focused panel's finding (or the marked session's), bound to its object */
  | { fix: FixRef | null; subject: string };

// ---------------------------------------------------------------- UI state (focus, scroll, help)
export interface UiState {
  focus: PanelId;
  offsets: Record<PanelId, number>;
  /** with actions: the Sessions row c / x act on (a cursor; the panel scrolls to keep it shown) */
  cursor: number;
  help: boolean;
}

/** What the reducer needs to clamp scrolling against the layout the next frame will have. */
export interface UiEnv {
  columns: number;
  rows: number;
  counts: Record<PanelId, number>;
  /** the Sessions panel has row actions, so ↑ ↓ move its cursor */
  actions?: boolean;
}

export type UiAction =
  | { type: 'focus'; delta: 1 | -1 }
  | { type: 'scroll'; delta: number | 'home' | 'end' | 'page-up' | 'page-down'; env: UiEnv }
  | { type: 'help'; open: boolean };

export const INITIAL_UI: UiState = {
  focus: 'host',
  offsets: { host: 0, disks: 0, postgres: 0, sessions: 0, tables: 0, endpoints: 0 },
  cursor: 0,
  help: false,
};

export function uiReducer(state: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'help':
      return state.help === action.open ? state : { ...state, help: action.open };
    case 'focus': {
      const i = PANEL_ORDER.indexOf(state.focus);
      const n = PANEL_ORDER.length;
      return { ...state, focus: PANEL_ORDER[(i + action.delta + n) % n] };
    }
    case 'scroll': {
      const { env } = action;
      const id = state.focus;
      const lines = planLayout({ ...env, focus: id }).slots[id].lines;
      const count = env.counts[id];
      if (id === 'sessions' && env.actions && lines > 0 && count > 0) {
        // a cursor over the rows; the offset follows it
        const cur = Math.min(state.cursor, count - 1);
        const d = action.delta;
        const to = d === 'home' ? 0 : d === 'end' ? count - 1 : d === 'page-up' ? cur - lines : d === 'page-down' ? cur + lines : cur + d;
        const cursor = Math.max(0, Math.min(count - 1, to));
        const off = clampOffset(state.offsets.sessions, count, lines);
        const offset = clampOffset(cursor < off ? cursor : cursor >= off + lines ? cursor - lines + 1 : off, count, lines);
        if (cursor === state.cursor && offset === state.offsets.sessions) return state;
        return { ...state, cursor, offsets: { ...state.offsets, sessions: offset } };
      }
      if (lines <= 0 || count <= lines) return state;
      const cur = clampOffset(state.offsets[id], count, lines);
      const d = action.delta;
      const target =
        d === 'home' ? 0 : d === 'end' ? count : d === 'page-up' ? cur - lines : d === 'page-down' ? cur + lines : cur + d;
      const next = clampOffset(target, count, lines);
      return next === state.offsets[id] ? state : { ...state, offsets: { ...state.offsets, [id]: next } };
    }
  }
}

// ---------------------------------------------------------------- keys
export { keysOf, type KeyName } from './keys';

// ---------------------------------------------------------------- rendering
function titleLine(p: PanelModel, focused: boolean, count: number, lines: number, offset: number): Line {
  const out: Line = [{ text: focused ? '▶ ' : '  ' }, { text: PANEL_TITLES[p.id], bold: true, accent: focused }];
  const mark = suffix(p.status);
  if (mark) out.push({ text: ` ${mark}`, status: p.status ?? undefined });
  if (count > lines) out.push({ text: lines > 0 ? ` [${offset + 1}-${offset + lines}/${count}]` : ` (${count})` });
  out.push({ text: ' · ' }, ...p.summary);
  return out;
}

function headerLine(state: MonitorState): Line {
  const out: Line = [];
  if (state.badge) out.push({ text: `[${clean(state.badge)}]`, bold: true, status: 'WARNING' }, { text: ' ' });
  out.push({ text: `ops ${clean(state.hostname)}`, bold: true }, { text: ' · ' });
  const r = state.report;
  if (r && state.snapshot) {
    const m = rowMark(r.status).trim();
    out.push({ text: `${m ? `${m} ` : ''}${r.status}`, status: r.status, bold: true }, { text: ` score ${r.score}%` });
  } else out.push({ text: 'collecting…' });
  if (state.paused) out.push({ text: ' · ' }, { text: 'PAUSED', bold: true, status: 'WARNING' });
  if (state.snapshot) out.push({ text: ` · ${hhmmss(state.snapshot.at)}` });
  if (state.target) out.push({ text: ` · ${clean(state.target.name)} ${clean(state.target.display)}` });
  return out;
}

function footerLine(state: MonitorState, tasks: boolean, notice: string | null = null): Line {
  if (notice) return [{ text: `! ${clean(notice)}`, bold: true, status: 'WARNING' }];
  if (state.notice) return [{ text: `! ${clean(state.notice)}`, bold: true, status: 'WARNING' }, { text: ' · ? help' }];
  const pause = `space ${state.paused ? 'resume' : 'pause'}`;
  if (tasks) return [{ text: `q quit · ${pause} · Tab panels · t tasks · l checklists · h history · ? help` }];
  return [{ text: `q quit · ${pause} · r refresh · Tab panel · ↑↓ scroll · ? help` }];
}

export const HELP_LINES: readonly string[] = [
  'Help · any key closes',
  '  q, Ctrl-C    quit',
  '  space        pause / resume refreshing',
  '  r            refresh now',
  '  Tab          focus the next panel (Shift-Tab: previous)',
  '  ↑ ↓ / j k    scroll the focused panel (PgUp PgDn: a page, g G: top, bottom)',
  '  ?  Esc       show / hide this help',
  '  t            tasks: choose one, set its parameters, see the plan, run it',
  '  l            checklists: walk one step by step, or resume an unfinished one',
  '  h            history of runs: their logs, and the rollbacks left to apply',
  '  u            emergency rollback: the runs that need attention',
  '  c x          Sessions panel: cancel the query / terminate the session of the ▸ row',
  '  f            fix: the plan of the task that fixes the focused panel\'s worst finding',
  'Markers: !! critical  ! warning  ? unknown   ▶ focused panel',
  'Colours: red critical, yellow warning, grey unknown, green OK (off with --no-color / NO_COLOR)',
  'Small terminal: panels shrink to a title with a one-line summary; Tab to one to enlarge it.',
];

function countsOf(panels: Record<PanelId, PanelModel>): Record<PanelId, number> {
  const c = {} as Record<PanelId, number>;
  for (const id of PANEL_ORDER) c[id] = panels[id].rows.length;
  return c;
}

function renderColumn(ids: PanelId[], panels: Record<PanelId, PanelModel>, layout: Layout, ui: UiState, color: boolean, actions: boolean) {
  const out: ReactNode[] = [];
  for (const id of ids) {
    const slot = layout.slots[id];
    if (!slot.shown) continue;
    const p = panels[id];
    // with actions, the focused Sessions panel marks the row c / x act on (its cursor), kept in view
    const marked = actions && ui.focus === id && p.pids?.length ? Math.min(ui.cursor, p.rows.length - 1) : -1;
    let offset = clampOffset(ui.offsets[id], p.rows.length, slot.lines);
    if (marked >= 0 && slot.lines > 0 && (marked < offset || marked >= offset + slot.lines)) offset = clampOffset(marked - slot.lines + 1, p.rows.length, slot.lines);
    out.push(<LineView key={`${id}:t`} line={titleLine(p, ui.focus === id, p.rows.length, slot.lines, offset)} color={color} />);
    for (let i = 0; i < slot.lines; i++) {
      const line = p.rows[offset + i];
      out.push(<LineView key={`${id}:${i}`} line={offset + i === marked && line ? [{ text: '▸' }, ...line.slice(1)] : line} color={color} />);
    }
  }
  return out;
}

/**
 * The help overlay's lines: the task keys only when the console has a task service; `about`
 * (where the console runs: a drill's psql command) right under the title, where the smallest
 * terminal still shows it.
 */
export function helpLines(tasks: boolean, about: readonly string[] = []): readonly string[] {
  const keys = tasks ? HELP_LINES : HELP_LINES.filter((l) => !/^ {2}([thulf] {12}|c x {10})/.test(l));
  return about.length ? [keys[0], ...about.map(clean), ...keys.slice(1)] : keys;
}

export function Dashboard({ monitor, onQuit, columns: columnsProp, rows: rowsProp, color = true, keyHandlerRef, onNavigate, notice, about }: DashboardProps) {
  const state = useMonitor(monitor);
  const { columns, rows } = useTerminalSize(columnsProp, rowsProp);
  const [ui, dispatch] = useReducer(uiReducer, INITIAL_UI);

  const colWidth = columns >= 120 ? Math.floor((columns - 1) / 2) : columns;
  const panels = useMemo(() => buildPanels(state, colWidth, Date.now()), [state, colWidth]);
  const counts = useMemo(() => countsOf(panels), [panels]);
  const layout = useMemo(() => planLayout({ columns, rows, counts, focus: ui.focus }), [columns, rows, counts, ui.focus]);

  // The input handler reads everything through refs: it is bound once (one raw-mode user) and
  // never sees stale state when several keys arrive in one chunk.
  const uiRef = useRef(ui);
  const envRef = useRef<UiEnv>({ columns, rows, counts, actions: !!onNavigate });
  envRef.current = { columns, rows, counts, actions: !!onNavigate };
  const panelsRef = useRef({ panels, layout });
  panelsRef.current = { panels, layout };
  const monitorRef = useRef(monitor);
  monitorRef.current = monitor;
  const stateRef = useRef(state);
  stateRef.current = state;
  const onQuitRef = useRef(onQuit);
  onQuitRef.current = onQuit;
  const onNavigateRef = useRef(onNavigate);
  onNavigateRef.current = onNavigate;

  const handleKey = useCallback((k: KeyName): void | 'stop' => {
    const apply = (a: UiAction) => {
      uiRef.current = uiReducer(uiRef.current, a);
      dispatch(a);
    };
    const scroll = (delta: Extract<UiAction, { type: 'scroll' }>['delta']) => apply({ type: 'scroll', delta, env: envRef.current });
    if (k === 'ctrl-c') {
      onQuitRef.current();
      return 'stop';
    }
    if (uiRef.current.help) {
      apply({ type: 'help', open: false });
      return;
    }
    if (typeof k === 'object') {
      const nav = onNavigateRef.current;
      switch (k.ch) {
        case 'q':
          onQuitRef.current();
          return 'stop';
        case 't':
          nav?.('tasks');
          break;
        case 'h':
          nav?.('history');
          break;
        case 'l':
          nav?.('checklists');
          break;
        case 'u':
          nav?.('attention');
          break;
        case 'c':
        case 'x': {
          // bound to the pid of the marked row now; the plan lists the session before anything runs
          if (!nav || uiRef.current.focus !== 'sessions') break;
          const { panels: ps } = panelsRef.current;
          const p = ps.sessions;
          const at = Math.min(uiRef.current.cursor, p.rows.length - 1);
          const pid = p.pids?.[at];
          if (pid !== undefined) nav({ action: k.ch === 'c' ? 'cancel-query' : 'terminate-sessions', pid });
          break;
        }
        case 'f': {
          // the core bound each finding to its fix; the marked session's, else the panel's worst
          if (!nav) break;
          const focus = uiRef.current.focus;
          const checks = stateRef.current.report?.checks ?? [];
          let pid: number | undefined;
          if (focus === 'sessions') {
            const p = panelsRef.current.panels.sessions;
            pid = p.pids?.[Math.min(uiRef.current.cursor, p.rows.length - 1)];
          }
          const offer = offeredFix(checks, PANEL_GROUPS[focus], pid) ?? (pid !== undefined ? offeredFix(checks, PANEL_GROUPS[focus]) : null);
          nav(offer ? { fix: offer.fix, subject: offer.subject } : { fix: null, subject: PANEL_TITLES[focus] });
          break;
        }
        case ' ':
          monitorRef.current.togglePause();
          break;
        case 'r':
          monitorRef.current.refreshNow();
          break;
        case '?':
          apply({ type: 'help', open: true });
          break;
        case 'j':
          scroll(1);
          break;
        case 'k':
          scroll(-1);
          break;
        case 'g':
          scroll('home');
          break;
        case 'G':
          scroll('end');
          break;
      }
      return;
    }
    switch (k) {
      case 'tab':
        apply({ type: 'focus', delta: 1 });
        break;
      case 'backtab':
        apply({ type: 'focus', delta: -1 });
        break;
      case 'up':
        scroll(-1);
        break;
      case 'down':
        scroll(1);
        break;
      case 'page-up':
      case 'page-down':
      case 'home':
      case 'end':
        scroll(k);
        break;
    }
  }, []);
  const handleInput = useCallback(
    (input: string, key: Key) => {
      for (const k of keysOf(input, key)) if (handleKey(k) === 'stop') return;
    },
    [handleKey],
  );
  // standalone (tests, or a console without tasks): the dashboard's own root handler
  useInput(handleInput, { isActive: !keyHandlerRef });
  if (keyHandlerRef) keyHandlerRef.current = handleKey;
  useEffect(
    () => () => {
      if (keyHandlerRef && keyHandlerRef.current === handleKey) keyHandlerRef.current = null;
    },
    [keyHandlerRef, handleKey],
  );
  const help = helpLines(!!onNavigate, about);

  const width = Math.max(1, columns);
  return (
    <Box flexDirection="column" width={width}>
      {layout.header && <LineView line={headerLine(state)} color={color} />}
      {ui.help ? (
        <Box flexDirection="column" width={width}>
          {help.slice(0, layout.bodyHeight).map((l, i) => (
            <LineView key={i} line={[{ text: l, bold: i === 0 }]} color={color} />
          ))}
        </Box>
      ) : (
        <Box flexDirection="row" width={width}>
          {layout.columns.map((c, i) => (
            <Box key={i} flexDirection="column" width={c.width} marginLeft={i > 0 ? 1 : 0}>
              {renderColumn(c.panels, panels, layout, ui, color, !!onNavigate)}
            </Box>
          ))}
        </Box>
      )}
      {layout.footer && <LineView line={footerLine(state, !!onNavigate, notice ?? null)} color={color} />}
    </Box>
  );
}

export default Dashboard;
