// The parameter form: one line per parameter of the task, the focused one being edited.
import { clean, fit } from '../format';
import type { Line } from '../panels';
import { wrapWords } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { riskSeg, windowAround } from './model';
import type { ParamsRoute } from './state';

export interface ParamFormProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: ParamsRoute;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

export function paramFormLines({ route, hints, notice, columns, rows }: Omit<ParamFormProps, 'color'>): Line[] {
  const { task, fields, values, focus, error } = route;
  const header: Line = [{ text: `${clean(task.id)} `, bold: true }, riskSeg(task.risk), { text: ` · ${clean(task.title)}` }];
  const body: Line[] = [[{ text: fields.length ? 'Parameters (leave optional ones empty for their default):' : 'This task takes no parameters.' }]];
  const errLines = error ? wrapWords(clean(error), Math.max(20, columns - 2)).slice(0, 3) : [];
  const field = fields[focus];
  const descLines = field?.description ? wrapWords(clean(field.description), Math.max(20, columns - 4)).slice(0, 2) : [];
  const h = bodyHeight(rows);
  const pick = pickLines(route, columns);
  // the pick list takes what the fields leave, but never all of it: at least 3 fields stay in view
  const restH = h - 1 - (errLines.length ? errLines.length + 1 : 0) - descLines.length;
  const pickH = Math.min(pick.length, Math.max(0, restH - Math.min(3, fields.length)));
  const listH = Math.max(1, restH - pickH);
  const nameW = Math.min(24, Math.max(4, ...fields.map((f) => f.name.length)));
  const top = windowAround(focus, fields.length, listH);
  fields.slice(top, top + listH).forEach((f, i) => {
    const on = top + i === focus;
    body.push([
      { text: on ? '▶ ' : '  ', bold: on },
      { text: fit(clean(f.name), nameW), bold: on },
      { text: f.required ? ' (required) ' : ' (optional) ', status: f.required ? 'WARNING' : undefined },
      { text: ': ' },
      { text: clean(values[f.name] ?? '') },
      ...(on ? [{ text: '█' }] : []),
      // the default the task takes for an empty field (backup's dir is backup.dir)
      ...(!values[f.name] && route.defaults?.[f.name] !== undefined ? [{ text: ` (default: ${clean(route.defaults[f.name])})` }] : []),
    ]);
  });
  for (const l of descLines) body.push([{ text: `    ${l}` }]);
  body.push(...windowPick(pick, route, pickH));
  if (errLines.length) {
    body.push([]);
    errLines.forEach((l, i) => body.push([{ text: `${i === 0 ? '!' : ' '} ${l}`, status: 'CRITICAL', bold: true }]));
  }
  return fitFrame(header, body, footer(hints, notice), rows);
}

/** The focused field's pick list as lines: its heading, then one line per item (▶ the one highlighted). */
function pickLines(route: ParamsRoute, columns: number): Line[] {
  const p = route.pick;
  if (!p || p.field !== route.fields[route.focus]?.name) return [];
  if (p.state === 'reading') return [[{ text: `    reading the ${clean(p.field)}s to choose from…` }]];
  if (p.state === 'failed') return [[{ text: `    ! no list to choose from: ${clean(p.error)}`, status: 'WARNING' }]];
  if (p.items.length === 0) return [[{ text: `    nothing to choose from: type the ${clean(p.field)}` }]];
  const w = Math.max(20, columns - 6);
  return [
    [{ text: `    to choose from (↑↓), ${p.items.length}:`, bold: true }],
    ...p.items.map((c, i): Line => [{ text: i === p.sel ? '    ▶ ' : '      ', bold: i === p.sel }, { text: fit(clean(c.label), w), bold: i === p.sel }]),
  ];
}

/** The heading and the items around the highlighted one, in `height` lines. */
function windowPick(lines: Line[], route: ParamsRoute, height: number): Line[] {
  if (lines.length <= height) return lines;
  if (height <= 1) return lines.slice(0, height);
  const p = route.pick;
  const sel = p?.state === 'read' ? (p.sel ?? 0) : 0;
  const top = windowAround(sel, lines.length - 1, height - 1);
  return [lines[0], ...lines.slice(1 + top, 1 + top + height - 1)];
}

export function ParamForm(props: ParamFormProps) {
  return <Frame lines={paramFormLines(props)} columns={props.columns} color={props.color} />;
}
