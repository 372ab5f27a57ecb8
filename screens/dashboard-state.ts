// The dashboard's own state: which panel has the focus, each panel's scroll offset, the
// Sessions cursor (the row c / x / f act on) and the help overlay. A pure reducer: the
// console's store holds this state and the controller dispatches these actions. The store keeps
// it while another screen is open, so the console comes back to the panel and the row it left;
// the cursor follows its session (by pid) when the list changes meanwhile or under a refresh.
import { clampOffset, planLayout } from './layout';
import { PANEL_ORDER, type PanelId } from './panels';

export interface UiState {
  focus: PanelId;
  offsets: Record<PanelId, number>;
  /** with actions: the Sessions row c / x act on (a cursor; the panel scrolls to keep it shown) */
  cursor: number;
  /** the pid of that row when the cursor was last moved: the cursor stays on it while it is listed */
  cursorPid: number | null;
  help: boolean;
}

/**
 * The Sessions row the cursor marks among `pids` (the panel's rows): the row of the session it
 * was moved to, wherever a refresh put it; else (that session is gone) the row at its place,
 * or the last row. -1 when there are none.
 */
export function markedIndex(ui: Pick<UiState, 'cursor' | 'cursorPid'>, pids: readonly number[] | undefined): number {
  const n = pids?.length ?? 0;
  if (n === 0) return -1;
  const at = ui.cursorPid === null ? -1 : pids!.indexOf(ui.cursorPid);
  return at >= 0 ? at : Math.max(0, Math.min(ui.cursor, n - 1));
}

/** What the reducer needs to clamp scrolling against the layout the next frame will have. */
export interface UiEnv {
  columns: number;
  rows: number;
  counts: Record<PanelId, number>;
  /** the Sessions panel has row actions, so ↑ ↓ move its cursor */
  actions?: boolean;
  /** the pid of each Sessions row (the cursor is kept on its session) */
  pids?: readonly number[];
}

export type UiAction =
  | { type: 'focus'; delta: 1 | -1 }
  | { type: 'scroll'; delta: number | 'home' | 'end' | 'page-up' | 'page-down'; env: UiEnv }
  | { type: 'help'; open: boolean };

export const INITIAL_UI: UiState = {
  focus: 'host',
  offsets: { host: 0, disks: 0, postgres: 0, sessions: 0, tables: 0, endpoints: 0 },
  cursor: 0,
  cursorPid: null,
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
        // a cursor over the rows, on the session it was left on; the offset follows it
        const at = env.pids?.length === count ? markedIndex(state, env.pids) : -1;
        const cur = at >= 0 ? at : Math.min(state.cursor, count - 1);
        const d = action.delta;
        const to = d === 'home' ? 0 : d === 'end' ? count - 1 : d === 'page-up' ? cur - lines : d === 'page-down' ? cur + lines : cur + d;
        const cursor = Math.max(0, Math.min(count - 1, to));
        const off = clampOffset(state.offsets.sessions, count, lines);
        const offset = clampOffset(cursor < off ? cursor : cursor >= off + lines ? cursor - lines + 1 : off, count, lines);
        const cursorPid = env.pids?.length === count ? (env.pids[cursor] ?? null) : null;
        if (cursor === state.cursor && cursorPid === state.cursorPid && offset === state.offsets.sessions) return state;
        return { ...state, cursor, cursorPid, offsets: { ...state.offsets, sessions: offset } };
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

