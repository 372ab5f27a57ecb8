// Turns a MonitorState into the dashboard's panels: plain lines of styled segments.
// Pure (no React, no I/O), so it is cheap to run once per published state and easy to test.
// Each panel's body is built in screens/panel-bodies/ (host.ts: Host and Disks; postgres.ts:
// PostgreSQL; sessions-tables.ts: Sessions and Tables; endpoints.ts: Endpoints), from the
// segments and waits of parts.ts there.
import type { Line } from './line';
import type { Check, CheckGroup, MonitorState, Status } from '../src/types';
import { worstOf } from './format';
import { endpointsPanel } from './panel-bodies/endpoints';
import { disksPanel, hostPanel } from './panel-bodies/host';
import type { Body, Ctx } from './panel-bodies/parts';
import { postgresPanel } from './panel-bodies/postgres';
import { sessionsPanel, tablesPanel } from './panel-bodies/sessions-tables';

export type PanelId = 'host' | 'disks' | 'postgres' | 'sessions' | 'tables' | 'endpoints';

/** Focus (Tab) order; also the single-column stacking order. */
export const PANEL_ORDER: readonly PanelId[] = ['host', 'disks', 'postgres', 'sessions', 'tables', 'endpoints'];

export const PANEL_TITLES: Record<PanelId, string> = {
  host: 'Host',
  disks: 'Disks',
  postgres: 'PostgreSQL',
  sessions: 'Sessions',
  tables: 'Tables',
  endpoints: 'Endpoints',
};

/** The check groups each panel draws (and where the dashboard's f looks for a finding to fix). */
export const PANEL_GROUPS: Record<PanelId, readonly CheckGroup[]> = {
  host: ['host'],
  disks: ['disk'],
  postgres: ['postgres'],
  sessions: ['sessions'],
  tables: ['tables'],
  endpoints: ['http', 'tls', 'backup', 'redis'],
};

export type { Line, Seg } from './line';

export interface PanelModel {
  id: PanelId;
  /** worst status among the panel's checks; null when it has none */
  status: Status | null;
  /** shown on the title line, so a collapsed panel still says what matters */
  summary: Line;
  /** the panel's body rows (scrollable) */
  rows: Line[];
  /** sessions panel: the pid each row is about (an action is bound to the pid, never the row) */
  pids?: number[];
}

export { wrapWords } from './format';

const BUILDERS: Record<PanelId, (ctx: Ctx) => Body> = {
  host: hostPanel,
  disks: disksPanel,
  postgres: postgresPanel,
  sessions: sessionsPanel,
  tables: tablesPanel,
  endpoints: endpointsPanel,
};

/** Builds every panel for a column of `width` characters. `now` feeds "retrying in Ns" and the ages of waits. */
export function buildPanels(state: MonitorState, width: number, now: number): Record<PanelId, PanelModel> {
  const checks = new Map<string, Check>();
  for (const c of state.report?.checks ?? []) checks.set(c.id, c);
  const ctx: Ctx = { state, checks, width, now };
  const out = {} as Record<PanelId, PanelModel>;
  for (const id of PANEL_ORDER) {
    const groups = PANEL_GROUPS[id];
    const status = state.snapshot ? worstOf((state.report?.checks ?? []).filter((c) => groups.includes(c.group)).map((c) => c.status)) : null;
    out[id] = { id, status, ...BUILDERS[id](ctx) };
  }
  return out;
}
