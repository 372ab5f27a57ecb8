// The walkthrough screen: the steps with their status and a progress bar, the current step (or
// the one under review) in detail with its live value, and the prompt it needs. Render-only: the
// App's key handler and effects drive the walkthrough (screens/checklists/controller.ts).
import type { Status } from '../../src/types';
import type { StepRecord, ChecklistStepState } from '../../src/checklists/walkthrough';
import { describeCondition } from '../../src/checklists/conditions';
import { clean, fit } from '../format';
import type { Line, Seg } from '../panels';
import { wrapWords } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from '../tasks/Frame';
import { windowAround } from '../tasks/model';
import type { WalkRoute } from './state';

export interface WalkScreenProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: WalkRoute;
  target: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

const MARK: Record<ChecklistStepState, { mark: string; word: string; status?: Status }> = {
  open: { mark: ' ', word: '' },
  started: { mark: '…', word: 'running', status: 'WARNING' },
  blocked: { mark: '✗', word: 'BLOCKED', status: 'CRITICAL' },
  passed: { mark: '✓', word: 'passed', status: 'OK' },
  failed: { mark: '✗', word: 'FAILED', status: 'CRITICAL' },
  unknown: { mark: '?', word: 'UNKNOWN', status: 'UNKNOWN' },
  confirmed: { mark: '✓', word: 'confirmed', status: 'OK' },
  skipped: { mark: '↷', word: 'skipped', status: 'WARNING' },
  'not-applicable': { mark: '–', word: 'n/a' },
  overridden: { mark: '!', word: 'overridden', status: 'WARNING' },
  done: { mark: '✓', word: 'done', status: 'OK' },
  entered: { mark: '✓', word: 'entered', status: 'OK' },
  read: { mark: '✓', word: 'read', status: 'OK' },
};

function progressLine(steps: StepRecord[], columns: number, run: string): Line {
  const settled = steps.filter((s) => MARK[s.status].word && s.status !== 'started' && s.status !== 'blocked').length;
  const failed = steps.filter((s) => s.status === 'failed' || s.status === 'unknown').length;
  const skipped = steps.filter((s) => s.status === 'skipped').length;
  const w = Math.max(10, Math.min(20, columns - 60));
  const filled = steps.length ? Math.round((w * settled) / steps.length) : 0;
  const bar = `${'█'.repeat(filled)}${'░'.repeat(w - filled)}`;
  const line: Line = [{ text: `[${bar}] ${settled}/${steps.length} steps` }];
  if (failed) line.push({ text: ' · ' }, { text: `${failed} failed`, status: 'CRITICAL' });
  if (skipped) line.push({ text: ' · ' }, { text: `${skipped} skipped`, status: 'WARNING' });
  line.push({ text: ` · ${run}` });
  return line;
}

/** What the current step asks for, in words, plus the text being typed. */
function promptLines(route: WalkRoute, width: number): Line[] {
  const { need, mode, finished } = route;
  const out: Line[] = [];
  if (finished) {
    out.push([{ text: `Walkthrough ${finished.outcome}.`, bold: true, status: finished.outcome === 'completed' ? 'OK' : 'WARNING' }]);
    if (finished.report) out.push([{ text: `Report: ${clean(finished.report)}` }]);
    out.push([{ text: 'Enter or Esc: back to the dashboard' }]);
    return out;
  }
  if (route.beginning) return [[{ text: 'Waiting for the first health round (the walkthrough’s baseline)…' }]];
  if (mode) {
    const label = mode.kind === 'skip' ? 'Reason for skipping' : mode.kind === 'note' ? 'Note' : mode.kind === 'input' ? 'Value' : 'Type yes to go on anyway';
    if (mode.kind === 'gate' && need && 'verdict' in need) out.push([{ text: 'Now: ', bold: true }, { text: clean(need.verdict.value), status: 'WARNING' }]);
    out.push([{ text: `${label}: `, bold: true }, { text: `${clean(mode.text)}▏` }]);
    return out;
  }
  if (!need) return [[{ text: 'evaluating…' }]];
  switch (need.kind) {
    case 'done':
      return [[{ text: 'Every step has an outcome: finishing…' }]];
    case 'waiting':
      return [[{ text: `Waiting: ${clean(need.why)}` }]];
    case 'confirm':
      return [[{ text: 'Enter confirms it is done · n adds a note · s skips (with a reason)' }]];
    case 'note':
      return [[{ text: 'Enter: read, go on' }]];
    case 'input':
      return [[{ text: 'Enter to type the value' }]];
    case 'task':
      return [[{ text: 'Enter shows the task’s plan; confirm it there to run it here' }]];
    case 'task-stopped':
      return [
        [{ text: `Its run ${need.taskRun} ended ${need.taskOutcome}.`, status: 'WARNING', bold: true }],
        [{ text: 'Enter runs the task again · s skips (with a reason) · u opens the rollback session' }],
      ];
    case 'check-failed':
      return [
        [{ text: 'Now: ', bold: true }, { text: clean(need.verdict.value), status: need.verdict.pass === null ? 'UNKNOWN' : 'CRITICAL' }],
        [{ text: 'Live: it re-checks each refresh. Enter records it as not passed and goes on' }],
      ];
    case 'gate-warn':
      return [
        [{ text: 'Now: ', bold: true }, { text: clean(need.verdict.value), status: 'WARNING' }],
        [{ text: 'This gate failed. Enter, then type yes, to go on anyway (it is recorded)' }],
      ];
    case 'gate-block':
      return [
        [{ text: 'Now: ', bold: true }, { text: clean(need.verdict.value), status: 'CRITICAL' }],
        [{ text: 'BLOCKED: this must pass to go on; it re-checks each refresh. x ends here' }],
      ];
    default: {
      // a new kind of Need fails to compile here until it has its prompt
      const unhandled: never = need;
      return [[{ text: `(no prompt for ${(unhandled as { kind: string }).kind})` }]];
    }
  }
  return out.map((l) => l.map((s) => ({ ...s, text: fit(s.text, width) })));
}

export function walkLines({ route, hints, target, notice, columns, rows }: Omit<WalkScreenProps, 'color'>): Line[] {
  const walk = route.walk;
  const width = Math.max(20, Math.floor(columns));
  const title = walk ? walk.checklist.title : (route.beginning ?? '');
  // the header names the target (at 80 columns there is no room for more); the id goes on the progress line
  const header: Line = [{ text: 'Checklist', bold: true }, { text: ` · ${clean(title)} · on ${clean(target)}` }];
  const body: Line[] = [];
  const h = bodyHeight(rows);
  if (!walk) {
    body.push(...promptLines(route, width));
    return fitFrame(header, body, footer(hints, notice), rows);
  }
  const steps = walk.state.steps;
  const current = walk.current;
  const focus = route.review ?? current ?? steps.length - 1;
  const step = walk.checklist.steps[focus];
  const rec = steps[focus];

  // the focused step in detail
  const detail: Line[] = [];
  const kind = step.kind === 'gate' ? `gate (${step.onFail} on failure)` : step.kind;
  const meta = [`Step ${focus + 1} of ${steps.length}`, kind, step.required && step.kind !== 'gate' ? 'required' : '', route.review !== null ? 'REVIEW (Esc: back to the current step)' : '']
    .filter(Boolean)
    .join(' · ');
  detail.push([{ text: meta, bold: route.review !== null }]);
  detail.push([{ text: clean(step.title), bold: true }]);
  if (step.detail) for (const l of wrapWords(clean(step.detail), width - 2).slice(0, 2)) detail.push([{ text: l }]);
  switch (step.kind) {
    case 'check':
    case 'gate':
      detail.push([{ text: `Passes when: ${describeCondition(step.condition)}` }]);
      break;
    case 'task':
      detail.push([{ text: `Runs task ${step.task}${Object.keys(step.params).length ? ` with ${clean(JSON.stringify(step.params))}` : ''}` }]);
      break;
    case 'confirm':
    case 'note':
    case 'input':
      break;
    default: {
      // a new kind of step fails to compile here until its detail is shown (or it has none)
      const unhandled: never = step;
      void unhandled;
    }
  }
  if (route.review !== null || (rec.status !== 'open' && focus !== current)) {
    const m = MARK[rec.status];
    detail.push([{ text: `Outcome: ` }, { text: m.word || 'not reached', status: m.status }, { text: rec.value ? ` · ${clean(rec.value)}` : '' }, { text: rec.by ? ` · ${clean(rec.by)} ${rec.at?.slice(11, 19) ?? ''}` : '' }]);
    if (rec.reason) detail.push([{ text: `Reason: ${clean(rec.reason)}` }]);
    for (const n of rec.notes.slice(-2)) detail.push([{ text: `Note (${clean(n.by)}): ${clean(n.text)}` }]);
    if (route.mode || route.finished) detail.push(...promptLines(route, width));
  } else {
    for (const n of rec.notes.slice(-1)) detail.push([{ text: `Note (${clean(n.by)}): ${clean(n.text)}` }]);
    detail.push(...promptLines(route, width));
  }
  if (route.error) detail.push([{ text: `! ${clean(route.error)}`, status: 'WARNING', bold: true }]);

  // the list, scrolled so the focused step stays in view
  const detailH = Math.min(detail.length, Math.max(3, h - 4));
  const listH = Math.max(1, h - 2 - detailH);
  const top = windowAround(focus, steps.length, listH);
  const titleW = Math.max(10, Math.min(44, width - 30));
  const list: Line[] = steps.slice(top, top + listH).map((s, k) => {
    const i = top + k;
    const m = MARK[s.status];
    const here = i === current && !route.finished;
    const seg: Seg[] = [
      { text: i === focus ? '▶' : ' ', bold: true },
      { text: here ? '>' : m.mark, status: here ? undefined : m.status, bold: here },
      { text: ` ${String(i + 1).padStart(2)} ` },
      { text: fit(clean(s.title), titleW), bold: i === focus, inverse: i === focus },
      { text: ' ' },
      { text: here ? 'now' : m.word, status: m.status },
      { text: s.value && !here ? ` ${clean(s.value)}` : '' },
    ];
    return seg;
  });
  body.push(progressLine(steps, width, walk.run), ...list, [{ text: '─'.repeat(Math.min(width, 80)) }], ...detail.slice(0, detailH));
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function WalkScreen(props: WalkScreenProps) {
  return <Frame lines={walkLines(props)} columns={props.columns} color={props.color} />;
}
