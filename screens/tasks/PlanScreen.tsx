// The plan and its confirmation: every step with the exact command or SQL it runs and its undo,
// scrollable; under it the prompt the task's risk asks for.
import { clean, lineWidth, shortenMiddle, wrapWords } from '../format';
import type { Line } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { clampTop, hardWrap, riskSeg } from './model';
import type { PlanRoute } from './state';

export interface PlanScreenProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: PlanRoute;
  target: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

const INDENT = '         ';

/** The scrollable part: parameters, then each step with its command/SQL and its undo. */
export function planBodyLines(route: PlanRoute, columns: number): Line[] {
  const out: Line[] = [];
  // what the plan is about (the sessions chosen in the sessions view, and how), wrapped
  for (const n of route.preface ?? []) {
    const pad = ' '.repeat(n.indent ?? 0);
    const ls = wrapWords(clean(n.text), Math.max(10, columns - pad.length));
    if (ls.length === 0) out.push([{ text: ' ' }]);
    for (const l of ls) out.push([{ text: pad }, { text: l, status: n.status, bold: n.bold }]);
  }
  if (route.preface?.length) out.push([{ text: ' ' }]); // a blank line (an empty one takes no row)
  const shown = JSON.stringify(route.params);
  if (shown !== '{}') out.push([{ text: `parameters: ${clean(shown)}` }]);
  // what the plan's read-only reading found (work_mem 4MB → 64MB, the tables with dead rows)
  const g = route.reading;
  if (g?.state === 'reading') out.push([{ text: 'reading…', bold: true }]);
  else if (g?.state === 'failed') {
    wrapWords(clean(`the plan could not be read: ${g.error}`), Math.max(10, columns - 2)).forEach((l, i) => out.push([{ text: `${i === 0 ? '!' : ' '} ${l}`, status: 'CRITICAL', bold: true }]));
  } else if (g?.state === 'read' && g.lines.length) {
    out.push([{ text: 'found:', bold: true }]);
    for (const line of g.lines) wrapWords(clean(line), Math.max(10, columns - 2)).forEach((l) => out.push([{ text: '  ' }, { text: l }]));
  }
  if (g && (g.state !== 'read' || g.lines.length)) out.push([{ text: ' ' }]);
  const w = Math.max(10, columns - INDENT.length);
  route.steps.forEach((s, i) => {
    out.push([
      { text: `${i + 1}. ${clean(s.title)}`, bold: true },
      ...(s.irreversible ? [{ text: ' [IRREVERSIBLE]', status: 'CRITICAL' as const, bold: true }] : []),
    ]);
    const detail = s.detail.split('\n').map(clean).join('\n');
    hardWrap(detail, w).forEach((l, k) => out.push([{ text: k === 0 ? '   run:  ' : INDENT }, { text: l, accent: true }]));
    if (s.rollback) hardWrap(s.rollback.split('\n').map(clean).join('\n'), w).forEach((l, k) => out.push([{ text: k === 0 ? '   undo: ' : INDENT }, { text: l }]));
    else if (s.irreversible) out.push([{ text: '   undo: ' }, { text: 'IRREVERSIBLE: cannot be undone', status: 'CRITICAL', bold: true }]);
    else out.push([{ text: '   undo: nothing to undo' }]);
  });
  return out;
}

/** "on <target>": host, port and database always shown, the middle shortened when it is too long. */
function onLine(target: string, columns: number): Line {
  return [{ text: `   on ${shortenMiddle(clean(target), Math.max(8, columns - 6))}`, bold: true }];
}

function promptLines(route: PlanRoute, target: string, columns: number): Line[] {
  const out: Line[] = [];
  if (route.error) out.push([{ text: `! ${clean(route.error)}`, status: 'CRITICAL', bold: true }]);
  const irreversible = route.steps.some((s) => s.irreversible);
  const id = clean(route.task.id);
  const g = route.reading;
  if (g?.state === 'read' && g.refusal)
    wrapWords(`REFUSED: ${clean(g.refusal)} · it cannot run, Esc goes back`, Math.max(10, columns)).forEach((l, i) =>
      out.push(i === 0 && l.startsWith('REFUSED') ? [{ text: 'REFUSED', status: 'CRITICAL', bold: true }, { text: l.slice('REFUSED'.length), bold: true }] : [{ text: l, bold: true }]),
    );
  else if (g?.state === 'failed') out.push([{ text: 'CANNOT RUN', status: 'CRITICAL', bold: true }, { text: ': the plan could not be read · Esc goes back', bold: true }]);
  else if (g?.state === 'reading') out.push([{ text: `reading the plan of ${id}… (the confirmation comes once it is read)`, bold: true }]);
  else if (route.starting) out.push([{ text: `starting ${id}…`, bold: true }]);
  else if (route.confirm.kind === 'none') out.push([{ text: 'Low risk: Enter runs it, Esc goes back.', bold: true }]);
  else if (route.confirm.kind === 'yes-no') {
    const ask: Line = [
      riskSeg(route.task.risk),
      { text: ` Run ${id}? `, bold: true },
      { text: '[y/N]', bold: true },
      ...(irreversible ? [{ text: ' · it has an IRREVERSIBLE step', status: 'CRITICAL' as const, bold: true }] : []),
    ];
    const on = ` · on ${clean(target)}`;
    // the target on the same line when it fits, else on a line of its own, shortened in its middle
    if (lineWidth(ask) + lineWidth([{ text: on }]) <= columns) out.push([...ask, { text: on }]);
    else out.push(ask, onLine(target, columns));
  } else
    out.push(
      [
        riskSeg(route.task.risk),
        { text: ` type ${route.confirm.what} "${clean(route.confirm.word)}" to run it: `, bold: true },
        { text: clean(route.typed) },
        { text: '█' },
      ],
      onLine(target, columns),
    );
  return out;
}

/** Lines of the plan and the lines it gets (for the scroll reducer). */
export function planGeometry(route: PlanRoute, target: string, columns: number, rows: number): { count: number; height: number } {
  const prompt = promptLines(route, target, columns).length + 1; // and a blank line above it
  return { count: planBodyLines(route, columns).length, height: Math.max(1, bodyHeight(rows) - prompt) };
}

export function planLines({ route, hints, target, notice, columns, rows }: Omit<PlanScreenProps, 'color'>): Line[] {
  const all = planBodyLines(route, columns);
  const prompt = promptLines(route, target, columns);
  const height = Math.max(1, bodyHeight(rows) - prompt.length - 1);
  const top = clampTop(route.top, all.length, height);
  const head: Line = [{ text: 'Plan', bold: true }, { text: ` · ${clean(route.task.id)} ` }, riskSeg(route.task.risk), { text: ` · ${route.steps.length} step${route.steps.length === 1 ? '' : 's'} · on ` }];
  const range: Line = all.length > height ? [{ text: ` · [${top + 1}-${Math.min(all.length, top + height)}/${all.length}]` }] : [];
  // the target takes what the rest leaves, shortened in its middle: its database stays in view
  const room = columns - lineWidth(head) - lineWidth(range);
  const header: Line = [...head, { text: shortenMiddle(clean(target), Math.max(8, room)) }, ...range];
  const body = [...all.slice(top, top + height)];
  while (body.length < Math.min(height, all.length)) body.push([]);
  body.push([], ...prompt);
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function PlanScreen(props: PlanScreenProps) {
  return <Frame lines={planLines(props)} columns={props.columns} color={props.color} />;
}
