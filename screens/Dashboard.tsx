// The dashboard: a header verdict, six panels and a key-hint footer, sized to the terminal: a
// wider terminal shows more of each line, a taller one more rows (screens/layout.ts budgets
// them). Rows cut at a column's width are wrapped at word boundaries into the rows left over,
// the focused panel's first, then the footer's hints and the header; text is cut only where no
// row is left. Render-only: its focus, scrolling and help live in the console's store
// (screens/dashboard-state.ts), its keys in screens/dashboard-keys.ts. Re-renders only when the
// monitor publishes or the store changes: no timers here.
import { Box } from 'ink';
import { useMemo, type ReactNode } from 'react';
import type { MonitorLike, MonitorState } from '../src/types';
import { LineView } from './components/LineView';
import { columnWidth, countsOf } from './dashboard-keys';
import { markedIndex, type UiState } from './dashboard-state';
import { clean, hhmmss, lineWidth, rowMark, suffix, wrapLine, wrappedHeight } from './format';
import { useMonitor } from './hooks/useMonitor';
import { clampOffset, columnsOf, planLayout, type Layout } from './layout';
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

/** Continuation lines of a wrapped row start under its text (past the row's marker), a title's under the title. */
const ROW_INDENT = 3;
const TITLE_INDENT = 4;

/** The rows as drawn: with actions, the focused Sessions panel marks the row c / x act on (its cursor). */
function shownRows(p: PanelModel, ui: UiState, actions: boolean): { rows: Line[]; marked: number } {
  const marked = actions && ui.focus === p.id && p.pids?.length ? Math.min(markedIndex(ui, p.pids), p.rows.length - 1) : -1;
  if (marked < 0) return { rows: p.rows, marked };
  const rows = [...p.rows];
  rows[marked] = [{ text: '▸' }, ...rows[marked].slice(1)];
  return { rows, marked };
}

/** The lines each panel would take on top of one per title and row, wrapped whole at its column's width. */
function wrapDemand(panels: Record<PanelId, PanelModel>, columns: number, ui: UiState, actions: boolean): Record<PanelId, number> {
  const out = {} as Record<PanelId, number>;
  for (const c of columnsOf(columns)) {
    for (const id of c.panels) {
      const p = panels[id];
      const { rows } = shownRows(p, ui, actions);
      let n = wrappedHeight(titleLine(p, ui.focus === id, rows.length, rows.length, 0), c.width, TITLE_INDENT) - 1;
      for (const r of rows) n += wrappedHeight(r, c.width, ROW_INDENT) - 1;
      out[id] = n;
    }
  }
  return out;
}

function renderColumn(col: Layout['columns'][number], panels: Record<PanelId, PanelModel>, layout: Layout, ui: UiState, color: boolean, actions: boolean) {
  const out: ReactNode[] = [];
  for (const id of col.panels) {
    const slot = layout.slots[id];
    if (!slot.shown) continue;
    const p = panels[id];
    const { rows, marked } = shownRows(p, ui, actions);
    // the cursor's row is kept in view
    let offset = clampOffset(ui.offsets[id], rows.length, slot.lines);
    if (marked >= 0 && slot.lines > 0 && (marked < offset || marked >= offset + slot.lines)) offset = clampOffset(marked - slot.lines + 1, rows.length, slot.lines);
    const title = titleLine(p, ui.focus === id, rows.length, slot.lines, offset);
    if (slot.wrap <= 0) {
      out.push(<LineView key={`${id}:t`} line={title} color={color} />);
      for (let i = 0; i < slot.lines; i++) out.push(<LineView key={`${id}:${i}`} line={rows[offset + i]} color={color} />);
      continue;
    }
    // every row is shown (a panel gets lines to wrap only then): the rows cut at the column's
    // width are wrapped, top row first, while the lines last; then the title
    let left = slot.wrap;
    const body = rows.slice(0, slot.lines).map((r) => {
      const extra = Math.min(left, wrappedHeight(r, col.width, ROW_INDENT) - 1);
      left -= extra;
      return extra > 0 ? wrapLine(r, col.width, ROW_INDENT, 1 + extra) : [r];
    });
    const titleExtra = Math.min(left, wrappedHeight(title, col.width, TITLE_INDENT) - 1);
    const titles = titleExtra > 0 ? wrapLine(title, col.width, TITLE_INDENT, 1 + titleExtra) : [title];
    titles.forEach((l, k) => out.push(<LineView key={`${id}:t${k}`} line={l} color={color} />));
    body.forEach((ls, i) => ls.forEach((l, k) => out.push(<LineView key={`${id}:${i}:${k}`} line={l} color={color} />)));
  }
  return out;
}

/** Help lines wrap under their text (past the keys' column) while the rows last; the first is the title. */
const HELP_INDENT = 15;

function helpView(help: readonly string[], width: number, height: number): Line[] {
  const shown = help.slice(0, height);
  let left = height - shown.length;
  return shown.flatMap((text, i) => {
    const line: Line = [{ text, bold: i === 0 }];
    const indent = text.startsWith('  ') ? HELP_INDENT : 2;
    const extra = Math.min(left, wrappedHeight(line, width, indent) - 1);
    left -= extra;
    return extra > 0 ? wrapLine(line, width, indent, 1 + extra) : [line];
  });
}

/** The key hints on at most `max` lines, broken between two hints; what does not fit is cut on the last. */
function hintLines(hints: string, width: number, max: number): Line[] {
  const out: string[] = [];
  for (const item of hints.split(' · ')) {
    const last = out.length ? out[out.length - 1] : null;
    if (last !== null && (out.length >= max || lineWidth([{ text: `${last} · ${item}` }]) <= width)) out[out.length - 1] = `${last} · ${item}`;
    else out.push(item);
  }
  return out.map((text) => [{ text }]);
}

/** The footer, on the lines left over: the hints broken between two hints, a notice wrapped. */
function footerLines(state: MonitorState, hints: string, notice: string | null, width: number, spare: number): Line[] {
  const line = footerLine(state, hints, notice);
  if (spare <= 0 || lineWidth(line) <= width) return [line];
  if (!notice && !state.notice) return hintLines(hints, width, 1 + spare);
  return wrapLine(line, width, 2, 1 + spare);
}

/** The dashboard as the store has it: render-only; it subscribes to the monitor's published state and draws it. */
export function DashboardView({ monitor, ui, columns, rows, color, actions, hints, help, notice }: DashboardViewProps) {
  const state = useMonitor(monitor);
  const colWidth = columnWidth(columns);
  const panels = useMemo(() => buildPanels(state, colWidth, Date.now()), [state, colWidth]);
  const counts = useMemo(() => countsOf(panels), [panels]);
  const wraps = useMemo(() => wrapDemand(panels, columns, ui, actions), [panels, columns, ui, actions]);
  const layout = useMemo(() => planLayout({ columns, rows, counts, wraps, focus: ui.focus }), [columns, rows, counts, wraps, ui.focus]);

  const width = Math.max(1, columns);
  const helpBody = ui.help ? helpView(help, width, layout.bodyHeight) : null;
  const cols = helpBody ? [] : layout.columns.map((c) => renderColumn(c, panels, layout, ui, color, actions));
  // the lines the body leaves go to the footer's hints, then the header, when they are cut
  let spare = layout.bodyHeight - (helpBody ? helpBody.length : Math.max(0, ...cols.map((c) => c.length)));
  const foot = layout.footer ? footerLines(state, hints, notice ?? null, width, spare) : [];
  spare -= Math.max(0, foot.length - 1);
  const head = layout.header ? headerLine(state) : null;
  const heads = head ? (spare > 0 && lineWidth(head) > width ? wrapLine(head, width, 2, 1 + spare) : [head]) : [];
  return (
    <Box flexDirection="column" width={width}>
      {heads.map((l, i) => (
        <LineView key={`h${i}`} line={l} color={color} />
      ))}
      {helpBody ? (
        <Box flexDirection="column" width={width}>
          {helpBody.map((l, i) => (
            <LineView key={i} line={l} color={color} />
          ))}
        </Box>
      ) : (
        <Box flexDirection="row" width={width}>
          {layout.columns.map((c, i) => (
            <Box key={i} flexDirection="column" width={c.width} marginLeft={i > 0 ? 1 : 0}>
              {cols[i]}
            </Box>
          ))}
        </Box>
      )}
      {foot.map((l, i) => (
        <LineView key={`f${i}`} line={l} color={color} />
      ))}
    </Box>
  );
}
