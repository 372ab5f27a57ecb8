// The dashboard: a header verdict, six panels and a key-hint footer, sized to the terminal.
// Render-only: its focus, scrolling and help live in the console's store (screens/dashboard-state.ts),
// its keys in screens/dashboard-keys.ts. Re-renders only when the monitor publishes or the store
// changes: no timers here.
import { Box } from 'ink';
import { useMemo, type ReactNode } from 'react';
import type { MonitorLike, MonitorState } from '../src/types';
import { LineView } from './components/LineView';
import { columnWidth, countsOf } from './dashboard-keys';
import { markedIndex, type UiState } from './dashboard-state';
import { clean, hhmmss, rowMark, suffix } from './format';
import { useMonitor } from './hooks/useMonitor';
import { clampOffset, planLayout, type Layout } from './layout';
import { buildPanels, PANEL_TITLES, type Line, type PanelId, type PanelModel } from './panels';

export interface DashboardViewProps {
  monitor: MonitorLike;
  ui: UiState;
  columns: number;
  rows: number;
  /** false for NO_COLOR / --no-color: no colour escapes at all, the textual markers remain */
  color: boolean;
  /** the console has a task service: the Sessions panel marks the row c / x act on */
  actions: boolean;
  /** the footer's hints and the help overlay's lines, generated from the dashboard's key table */
  hints: string;
  help: readonly string[];
  /** the console's own one-line message (e.g. after leaving a screen), shown in the footer until the next key */
  notice?: string | null;
}

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

function footerLine(state: MonitorState, hints: string, notice: string | null = null): Line {
  if (notice) return [{ text: `! ${clean(notice)}`, bold: true, status: 'WARNING' }];
  if (state.notice) return [{ text: `! ${clean(state.notice)}`, bold: true, status: 'WARNING' }, { text: ' · ? help' }];
  return [{ text: hints }];
}

function renderColumn(ids: PanelId[], panels: Record<PanelId, PanelModel>, layout: Layout, ui: UiState, color: boolean, actions: boolean) {
  const out: ReactNode[] = [];
  for (const id of ids) {
    const slot = layout.slots[id];
    if (!slot.shown) continue;
    const p = panels[id];
    // with actions, the focused Sessions panel marks the row c / x act on (its cursor: on its
    // session, wherever a refresh put it), kept in view
    const marked = actions && ui.focus === id && p.pids?.length ? Math.min(markedIndex(ui, p.pids), p.rows.length - 1) : -1;
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

/** The dashboard as the store has it: render-only; it subscribes to the monitor's published state and draws it. */
export function DashboardView({ monitor, ui, columns, rows, color, actions, hints, help, notice }: DashboardViewProps) {
  const state = useMonitor(monitor);
  const colWidth = columnWidth(columns);
  const panels = useMemo(() => buildPanels(state, colWidth, Date.now()), [state, colWidth]);
  const counts = useMemo(() => countsOf(panels), [panels]);
  const layout = useMemo(() => planLayout({ columns, rows, counts, focus: ui.focus }), [columns, rows, counts, ui.focus]);

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
              {renderColumn(c.panels, panels, layout, ui, color, actions)}
            </Box>
          ))}
        </Box>
      )}
      {layout.footer && <LineView line={footerLine(state, hints, notice ?? null)} color={color} />}
    </Box>
  );
}

