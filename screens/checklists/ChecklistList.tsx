// The checklists, then the walkthroughs left unfinished: Enter begins one, or resumes one.
import { clean, fit } from '../format';
import type { Line } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from '../tasks/Frame';
import { windowAround } from '../tasks/model';
import type { ChecklistsRoute } from './state';

export interface ChecklistListProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: ChecklistsRoute;
  target: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

export function checklistListLines({ route, hints, target, notice, columns, rows }: Omit<ChecklistListProps, 'color'>): Line[] {
  const { checklists, unfinished, errors, sel } = route;
  const header: Line = [{ text: 'Checklists', bold: true }, { text: ` · on ${clean(target)}` }];
  const items: Line[] = [];
  const idW = Math.min(20, Math.max(6, ...checklists.map((c) => c.id.length)));
  checklists.forEach((c, i) => {
    const on = i === sel;
    items.push([
      { text: on ? '▶ ' : '  ', bold: on },
      { text: fit(clean(c.id), idW), bold: on, inverse: on },
      { text: `  ${String(c.steps.length).padStart(2)} steps  ${clean(c.title)}${c.builtin ? '' : ' (yours)'}` },
    ]);
  });
  if (unfinished.length) items.push([], [{ text: 'Unfinished walkthroughs', bold: true }]);
  unfinished.forEach((u, j) => {
    const i = checklists.length + j;
    const on = i === sel;
    const at = u.steps.findIndex((s) => s.status === 'open' || s.status === 'started' || s.status === 'blocked');
    items.push([
      { text: on ? '▶ ' : '  ', bold: on },
      { text: fit(clean(u.run), 34), bold: on, inverse: on },
      { text: `  ${clean(u.checklist)}, at step ${at < 0 ? u.steps.length : at + 1} of ${u.steps.length}`, status: 'WARNING' },
    ]);
  });
  const h = bodyHeight(rows) - Math.min(2, errors.length);
  // keep the selected row in view (the unfinished rows sit two lines lower than their index)
  const selLine = sel < checklists.length ? sel : sel + 2;
  const top = windowAround(selLine, items.length, Math.max(1, h));
  const body = items.slice(top, top + Math.max(1, h));
  for (const e of errors.slice(0, 2)) body.push([{ text: `! ${clean(e)}`, status: 'WARNING' }]);
  if (checklists.length === 0) body.unshift([{ text: '  no checklists' }]);
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function ChecklistList(props: ChecklistListProps) {
  return <Frame lines={checklistListLines(props)} columns={props.columns} color={props.color} />;
}
