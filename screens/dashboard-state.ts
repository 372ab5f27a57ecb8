// The dashboard's own state: which panel has the focus, each panel's scroll offset, the
// Sessions cursor (the row c / x / f act on) and the help overlay. A pure reducer: the
// console's store holds this state and the controller dispatches these actions.
import { clampOffset, planLayout } from './layout';
import { PANEL_ORDER, type PanelId } from './panels';

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

