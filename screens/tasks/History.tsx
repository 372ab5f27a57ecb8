// The journal of runs, newest first (or only those needing attention: the emergency rollback
// session), the selected run's details, and one run's log, scrollable.
import type { RunSummary } from '../../src/journal';
import type { AttentionRun } from '../../src/tasks/attention';
import { clean, fit, plainText } from '../format';
import type { Line, Seg } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { clampTop, windowAround } from './model';
import type { HistoryRoute } from './state';

export interface HistoryProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: HistoryRoute;
  target: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

function localTime(iso: string | null, withDate: 'short' | 'long'): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?';
  const p = (n: number) => String(n).padStart(2, '0');
  const date = withDate === 'long' ? `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` : `${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}${withDate === 'long' ? `:${p(d.getSeconds())}` : ''}`;
}

function outcomeSeg(r: RunSummary, w: number): Seg {
  const o = r.outcome;
  const status = o === 'succeeded' || o === 'rolled back' ? 'OK' : o === 'failed' || o === 'refused' ? 'CRITICAL' : 'WARNING';
  return { text: fit(o, w), status };
}

function who(r: RunSummary): string {
  const op = r.operator;
  if (!op) return '?';
  const user = op.sudoUser && op.sudoUser !== op.user ? `${op.user}(${op.sudoUser})` : op.user;
  return clean(op.sshClient ? `${user}@${op.sshClient}` : user);
}

const STEP_MARK: Record<string, string> = { ok: '✓', failed: '✗', cancelled: '⊘', timeout: '✗', started: '?', pending: '·' };

function details(r: RunSummary): Line[] {
  const steps = r.steps.map((s) => `${STEP_MARK[s.status] ?? '?'} ${clean(s.title)}${s.rolledBack ? ' ↶' : ''}`).join(' · ');
  const out: Line[] = [
    [{ text: `${clean(r.run)}`, bold: true }, { text: ` · ${clean(r.title)} (${r.risk}) · by ${who(r)}` }],
    [{ text: `started ${localTime(r.startedAt, 'long')} · ${r.endedAt ? `ended ${localTime(r.endedAt, 'long')}` : 'no end recorded'} · on ${clean(r.target)}` }],
    [{ text: `steps: ${steps || 'none recorded'}` }],
  ];
  if (r.pendingRollbacks > 0) out.push([{ text: `${r.pendingRollbacks} rollback${r.pendingRollbacks === 1 ? '' : 's'} not applied: u opens them`, status: 'WARNING', bold: true }]);
  else if (r.outcome === 'interrupted' || r.outcome === 'unfinished') out.push([{ text: `${r.outcome}: nothing left to undo`, status: 'WARNING' }]);
  if (r.error) out.push([{ text: `error: ${clean(r.error)}` }]);
  return out;
}

export function logLines({ route, hints, notice, rows }: Omit<HistoryProps, 'color' | 'target' | 'columns'>): Line[] {
  const log = route.log!;
  const h = bodyHeight(rows);
  const top = clampTop(log.top, log.lines.length, h);
  const header: Line = [
    { text: 'Log', bold: true },
    { text: ` · ${clean(log.runId)}` },
    ...(log.lines.length > h ? [{ text: ` · [${top + 1}-${Math.min(log.lines.length, top + h)}/${log.lines.length}]` }] : []),
  ];
  const body: Line[] = log.lines.length ? log.lines.slice(top, top + h).map((l) => [{ text: plainText(l) }]) : [[{ text: 'no log file for this run' }]];
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function historyLines({ route, hints, target, notice, columns, rows }: Omit<HistoryProps, 'color'>): Line[] {
  if (route.log) return logLines({ route, hints, notice, rows });
  const { runs, sel, mode } = route;
  const title = mode === 'attention' ? 'Emergency rollback · runs needing attention' : 'History';
  const header: Line = [{ text: title, bold: true }, { text: ` · ${runs.length} run${runs.length === 1 ? '' : 's'} · ${clean(target)}` }];
  const body: Line[] = [];
  const h = bodyHeight(rows);
  const chosen = runs[sel];
  const det = chosen ? details(chosen) : [];
  const extra = (route.error ? 1 : 0) + (route.opening ? 1 : 0);
  const listH = Math.max(1, h - 1 - (det.length ? det.length + 1 : 0) - extra);
  const idW = Math.max(20, Math.min(40, columns - 50));
  if (runs.length === 0) {
    body.push([{ text: mode === 'attention' ? 'no run needs attention: nothing to roll back' : 'no runs in the journal yet' }]);
  } else {
    body.push([{ text: `  ${fit('run', idW)} ${fit('started', 11)} ${fit('task', 14)} ${fit('outcome', 11)} undo`, bold: true }]);
    // the emergency list: each run on two lines, the second what it changed (runChanged)
    const per = mode === 'attention' ? 2 : 1;
    const top = windowAround(sel, runs.length, Math.max(1, Math.floor(listH / per)));
    runs.slice(top, top + Math.max(1, Math.floor(listH / per))).forEach((r, i) => {
      const on = top + i === sel;
      body.push([
        { text: on ? '▶ ' : '  ', bold: on },
        { text: fit(clean(r.run), idW), bold: on, inverse: on },
        { text: ` ${fit(localTime(r.startedAt, 'short'), 11)} ${fit(clean(r.task), 14)} ` },
        outcomeSeg(r, 11),
        r.pendingRollbacks > 0 ? { text: ` ${r.pendingRollbacks} left`, status: 'WARNING', bold: true } : { text: ' -' },
      ]);
      if (per === 2) body.push([{ text: '    ' }, { text: fit(clean((r as AttentionRun).changed ?? ''), Math.max(10, columns - 6)), accent: true }]);
    });
  }
  if (det.length) body.push([], ...det);
  if (route.opening) body.push([{ text: 'opening the run for its rollbacks…', bold: true }]);
  if (route.error) body.push([{ text: `! ${clean(route.error)}`, status: 'CRITICAL', bold: true }]);
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function History(props: HistoryProps) {
  return <Frame lines={historyLines(props)} columns={props.columns} color={props.color} rows={props.rows} />;
}
