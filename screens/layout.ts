// Layout budgeting: a pure function of the terminal size, the panels' row counts, how much their
// lines would take wrapped, and the focus. The whole frame is at most rows - 1 lines (Ink clears
// the screen when the output reaches the terminal's height). Each panel first gets its title and
// as many of its rows as fit, one terminal line each (the focused panel first); the rows still
// free then go to wrapping the lines that are cut at the column's width, the focused panel first,
// so a long query is read whole where there is room and cut only where there is none.
import { PANEL_ORDER, type PanelId } from './panels';

export const TWO_COLUMN_MIN_WIDTH = 120;
/** Below this many lines the key-hint footer is dropped to leave room for the panels. */
const FOOTER_MIN_LINES = 10;

export interface Slot {
  /** the title line is shown */
  shown: boolean;
  /** body rows allotted (0 = collapsed to the title line with its one-line summary) */
  lines: number;
  /**
   * terminal lines on top of those for wrapping the title and rows cut at the column's width
   * (given only to a panel whose rows are all shown, so it never scrolls)
   */
  wrap: number;
}

export interface Layout {
  header: boolean;
  footer: boolean;
  /** lines available to the panels (or to the help overlay) */
  bodyHeight: number;
  /** one entry per column: its width and its panels, top to bottom */
  columns: { width: number; panels: PanelId[] }[];
  slots: Record<PanelId, Slot>;
}

export interface LayoutInput {
  columns: number;
  rows: number;
  /** body rows each panel would like to show */
  counts: Record<PanelId, number>;
  /** the lines each panel's title and rows would take on top of one each, wrapped whole (none when absent) */
  wraps?: Partial<Record<PanelId, number>>;
  focus: PanelId;
}

/** The columns at this width: one below 120 columns, two side by side from 120. */
export function columnsOf(columns: number): { width: number; panels: PanelId[] }[] {
  const width = Math.max(1, Math.floor(columns));
  if (width < TWO_COLUMN_MIN_WIDTH) return [{ width, panels: [...PANEL_ORDER] }];
  const left = Math.floor((width - 1) / 2);
  return [
    { width: left, panels: PANEL_ORDER.slice(0, 3) },
    { width: width - 1 - left, panels: PANEL_ORDER.slice(3) },
  ];
}

/** Splits `budget` lines between the panels of one column. */
function allocate(panels: readonly PanelId[], budget: number, input: LayoutInput, slots: Record<PanelId, Slot>) {
  const { counts, focus } = input;
  // Title lines first: the focused panel's, then the others in order, while they fit.
  const order = panels.includes(focus) ? [focus, ...panels.filter((p) => p !== focus)] : [...panels];
  let left = budget;
  for (const p of order) {
    slots[p] = { shown: left > 0, lines: 0, wrap: 0 };
    if (left > 0) left--;
  }
  const shown = order.filter((p) => slots[p].shown);
  // The focused panel may take up to half of what is left, so Tab "zooms" into a panel...
  if (shown.includes(focus)) {
    const take = Math.min(counts[focus], Math.ceil(left / 2));
    slots[focus].lines = take;
    left -= take;
  }
  // ...then round-robin one line at a time (max-min fair), focused panel first.
  let progress = true;
  while (left > 0 && progress) {
    progress = false;
    for (const p of shown) {
      if (left > 0 && slots[p].lines < counts[p]) {
        slots[p].lines++;
        left--;
        progress = true;
      }
    }
  }
  // Rows still free: every panel shown has all its rows. They go to wrapping what is cut, the
  // focused panel's first, then round-robin over the others (one line each in turn).
  const wants = (p: PanelId) => Math.max(0, Math.floor(input.wraps?.[p] ?? 0));
  if (left > 0 && shown.includes(focus)) {
    const take = Math.min(wants(focus), left);
    slots[focus].wrap = take;
    left -= take;
  }
  progress = true;
  while (left > 0 && progress) {
    progress = false;
    for (const p of shown) {
      if (left > 0 && slots[p].wrap < wants(p)) {
        slots[p].wrap++;
        left--;
        progress = true;
      }
    }
  }
}

export function planLayout(input: LayoutInput): Layout {
  const maxLines = Math.max(0, Math.floor(input.rows) - 1);
  const header = maxLines >= 1;
  const footer = maxLines >= FOOTER_MIN_LINES;
  const bodyHeight = Math.max(0, maxLines - (header ? 1 : 0) - (footer ? 1 : 0));
  const cols = columnsOf(input.columns);
  const slots = {} as Record<PanelId, Slot>;
  for (const c of cols) allocate(c.panels, bodyHeight, input, slots);
  return { header, footer, bodyHeight, columns: cols, slots };
}

/** The first visible row of a panel, clamped so the window stays full. */
export function clampOffset(offset: number, count: number, lines: number): number {
  return Math.max(0, Math.min(offset, count - lines));
}
