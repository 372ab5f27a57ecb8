// The task list: each task with its risk badge, the selected one's description below.
import { clean, fit } from '../format';
import type { Line } from '../panels';
import { wrapWords } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { riskSeg, windowAround } from './model';
import type { TasksRoute } from './state';

export interface TaskListProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: TasksRoute;
  target: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

export function taskListLines({ route, hints, target, notice, columns, rows }: Omit<TaskListProps, 'color'>): Line[] {
  const { tasks, errors, sel } = route;
  const header: Line = [{ text: 'Tasks', bold: true }, { text: ` · ${tasks.length} · on ${clean(target)}` }];
  const body: Line[] = [];
  const h = bodyHeight(rows);
  const chosen = tasks[sel];
  const desc = chosen ? wrapWords(clean(chosen.description), Math.max(20, columns - 2)).slice(0, 4) : [];
  const errs = errors.slice(0, 2);
  const listH = Math.max(1, h - (desc.length ? desc.length + 1 : 0) - errs.length);
  if (tasks.length === 0) body.push([{ text: '  no tasks' }]);
  const idW = Math.min(24, Math.max(4, ...tasks.map((t) => t.id.length)));
  const top = windowAround(sel, tasks.length, listH);
  tasks.slice(top, top + listH).forEach((t, i) => {
    const on = top + i === sel;
    body.push([
      { text: on ? '▶ ' : '  ', bold: on },
      riskSeg(t.risk, true),
      { text: ` ${fit(clean(t.id), idW)}  `, bold: on, inverse: on },
      { text: clean(t.title) },
    ]);
  });
  for (const e of errs) body.push([{ text: `! ${clean(e)}`, status: 'WARNING' }]);
  if (desc.length) {
    body.push([]);
    for (const l of desc) body.push([{ text: `  ${l}` }]);
  }
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function TaskList(props: TaskListProps) {
  return <Frame lines={taskListLines(props)} columns={props.columns} color={props.color} />;
}
