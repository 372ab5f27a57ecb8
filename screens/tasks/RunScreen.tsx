// A run: its steps with status and elapsed time, and the live output (the last lines of the
// runner's ring buffer, or a held window when scrolled). Re-rendered by useRunnerVersion, at
// most 10 times a second; everything is read from the runner's state at render time.
import type { RunState, StepState } from '../../src/tasks/engine';
import { progressBar, progressFigures } from '../../src/tasks/progress';
import type { Status } from '../../src/types';
import { clean, fit, formatDuration, plainText, wrapWords } from '../format';
import type { Line, Seg } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { hardWrap, outputTop, riskSeg, windowAround, type OutputEnv } from './model';
import type { RunRoute } from './state';

export interface RunScreenProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: RunRoute;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
  /** the clock for elapsed times (tests fix it) */
  now?: number;
}

const STEP_MARK: Record<StepState['status'], { mark: string; word: string; status?: Status }> = {
  pending: { mark: '·', word: 'pending' },
  running: { mark: '▶', word: 'running' },
  ok: { mark: '✓', word: 'ok', status: 'OK' },
  failed: { mark: '✗', word: 'FAILED', status: 'CRITICAL' },
  cancelled: { mark: '⊘', word: 'cancelled', status: 'WARNING' },
  timeout: { mark: '✗', word: 'TIMED OUT', status: 'CRITICAL' },
};

function elapsed(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
}

const UNKNOWN_OUTCOME = { mark: '?', word: 'outcome unknown (started, no finish recorded)', status: 'WARNING' as Status };

function stepLine(s: StepState, i: number, titleW: number, now: number, current: boolean, live: boolean): Line {
  // a step that started and never finished, in a run that is not running: its outcome is unknown
  const m = s.status === 'running' && !live ? UNKNOWN_OUTCOME : (STEP_MARK[s.status] ?? STEP_MARK.pending);
  const time = s.startedAt ? elapsed((s.endedAt ?? now) - s.startedAt) : '';
  const out: Line = [
    { text: `${m.mark} `, status: m.status, accent: s.status === 'running', bold: current },
    { text: `${i + 1}. ${fit(clean(s.title), titleW)} `, bold: current },
    { text: time.padStart(7) },
    { text: `  ${m.word}`, status: m.status, bold: s.status !== 'ok' && s.status !== 'pending' },
  ];
  if (s.rollback === 'running') out.push({ text: ' · ↶ undoing…', bold: true });
  else if (s.rollback === 'done') out.push({ text: ' · ↶ undone', status: 'OK' });
  else if (s.rollback === 'failed') out.push({ text: ' · ↶ UNDO FAILED', status: 'CRITICAL', bold: true });
  if (s.error && s.status !== 'ok' && s.error !== m.word) out.push({ text: `: ${clean(s.error)}` });
  return out;
}

function phaseWord(state: RunState, route: RunRoute): Seg {
  if (state.phase === 'running' && route.cancelRequested) return { text: 'CANCELLING', status: 'WARNING', bold: true };
  switch (state.phase) {
    case 'ready':
      return { text: 'starting' };
    case 'running': {
      const i = state.current ?? 0;
      return { text: `running step ${i + 1}/${state.steps.length}`, bold: true };
    }
    case 'rolling back':
      return { text: route.cancelRequested ? 'CANCELLING the rollback' : 'rolling back', status: 'WARNING', bold: true };
    default: {
      const o = state.outcome ?? 'stopped';
      const st: Status = o === 'succeeded' || o === 'rolled back' ? 'OK' : o === 'cancelled' || o === 'interrupted' ? 'WARNING' : 'CRITICAL';
      return { text: o, status: st, bold: true };
    }
  }
}

/** How the body is split: steps shown, output lines shown. */
export function runLayout(steps: number, rows: number, hasResult: boolean): { stepsH: number; outputH: number } {
  const h = bodyHeight(rows) - (hasResult ? 1 : 0);
  const stepsH = Math.max(0, Math.min(steps, Math.max(1, Math.floor(h / 3))));
  return { stepsH, outputH: Math.max(0, h - stepsH - 1) };
}

export function outputEnvOf(route: RunRoute, rows: number): OutputEnv {
  const st = route.handle.runner.state;
  const { outputH } = runLayout(st.steps.length, rows, route.result !== null);
  return { height: outputH, total: st.output.total, kept: st.output.length };
}

/**
 * The running step's progress (src/tasks/progress.ts, the headless line's figures): a bar with
 * percent, elapsed time and ETA, what is done, and whom it waits for when it waits on a lock.
 */
export function progressLines(state: RunState, columns: number, now: number): Line[] {
  const st = state.phase === 'running' && state.current !== null ? state.steps[state.current] : undefined;
  if (!st?.progress || st.status !== 'running' || st.startedAt === null) return [];
  const f = progressFigures(st.progress, st.startedAt, now);
  const barW = Math.max(10, Math.min(40, columns - f.timing.length - 6));
  const out: Line[] = [
    [{ text: `  ${progressBar(f.percent, barW)} `, accent: true }, { text: f.timing, bold: true }],
    [{ text: `  ${clean(f.detail)}` }],
  ];
  // the lock wait wraps (at most 3 lines): the pid, user, state and query head all show at 80 columns
  if (f.lockLine) for (const l of wrapWords(`⚠ ${clean(f.lockLine)}`, Math.max(20, columns - 4)).slice(0, 3)) out.push([{ text: `  ${l}`, status: 'WARNING', bold: true }]);
  return out;
}

export function runLines({ route, hints, notice, columns, rows, now = Date.now() }: Omit<RunScreenProps, 'color'>): Line[] {
  const state = route.handle.runner.state;
  const header: Line = [
    { text: route.stage === 'undoing' ? 'Rollback' : 'Run', bold: true },
    { text: ` · ${clean(state.task)} ` },
    riskSeg(state.risk),
    { text: ' · ' },
    phaseWord(state, route),
    { text: ` · ${clean(state.runId)}` },
  ];
  const { stepsH, outputH: roomH } = runLayout(state.steps.length, rows, route.result !== null);
  // the running step's progress and lock wait take their rows from the output's
  const progress = progressLines(state, columns, now).slice(0, Math.max(0, roomH - 1));
  const outputH = roomH - progress.length;
  const body: Line[] = [];
  const titleW = Math.min(34, Math.max(8, ...state.steps.map((s) => s.title.length + 0)));
  const cur = state.current ?? Math.max(0, state.steps.findIndex((s) => s.status === 'pending') - 1);
  const top = windowAround(cur, state.steps.length, stepsH);
  const live = state.phase === 'running';
  for (let i = top; i < top + stepsH && i < state.steps.length; i++) body.push(stepLine(state.steps[i], i, titleW, now, i === state.current, live));
  body.push(...progress);
  const out = state.output;
  const env: OutputEnv = { height: outputH, total: out.total, kept: out.length };
  const first = outputTop(route.view, env);
  // each output line wraps at spaces into as many rows as it needs (issue 13 §4), every character
  // kept; following, the newest lines fill the rows from the bottom, held, the window starts at its
  // first line. The range counts output lines, as scrolling does.
  const width = Math.max(10, Math.floor(columns));
  const lines = route.view.follow ? out.lines(outputH) : out.lines(out.total - first).slice(0, outputH);
  const wrapped: Line[][] = [];
  let used = 0;
  const order = route.view.follow ? [...lines.keys()].reverse() : [...lines.keys()];
  for (const i of order) {
    if (used >= outputH) break;
    const text = plainText(lines[i]);
    const status = text.startsWith('! ') || text.startsWith('✗ ') ? ('WARNING' as const) : undefined;
    const r = hardWrap(text, width).map((t): Line => [{ text: t, status }]);
    if (route.view.follow) wrapped.unshift(r);
    else wrapped.push(r);
    used += r.length;
  }
  let outRows = wrapped.flat();
  // a line taller than the rows left shows its end when following, its start when held
  if (outRows.length > outputH) outRows = route.view.follow ? outRows.slice(outRows.length - outputH) : outRows.slice(0, outputH);
  const from = route.view.follow ? out.total - wrapped.length : first;
  const range = wrapped.length ? `${from + 1}-${from + wrapped.length} of ${out.total}` : 'none yet';
  body.push([
    { text: '── output ', bold: true },
    route.view.follow ? { text: `· following · lines ${range} ──` } : { text: `· held at lines ${range} · End follows ──`, status: 'WARNING', bold: true },
  ]);
  body.push(...outRows);
  while (body.length < stepsH + progress.length + 1 + outputH) body.push([]);
  if (route.result !== null) body.push([{ text: clean(route.result), bold: true }]);
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function RunScreen(props: RunScreenProps) {
  return <Frame lines={runLines(props)} columns={props.columns} color={props.color} />;
}

