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
  const listH = Math.max(1, h - 1 - (errLines.length ? errLines.length + 1 : 0) - descLines.length);
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
  if (errLines.length) {
    body.push([]);
    errLines.forEach((l, i) => body.push([{ text: `${i === 0 ? '!' : ' '} ${l}`, status: 'CRITICAL', bold: true }]));
  }
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function ParamForm(props: ParamFormProps) {
  return <Frame lines={paramFormLines(props)} columns={props.columns} color={props.color} />;
}
