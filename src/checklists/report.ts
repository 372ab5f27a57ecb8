// The markdown report of a walkthrough: who, where, when, each step's outcome, the tasks that
// ran, the health before and after side by side, and what is still open.
import { mkdirSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { formatOperator, type RunSummary } from '../journal';
import { formatDuration } from '../util/format';
import { markdownCell as md, sanitizeText } from '../util/sanitize';
import { formatMetric, METRICS } from './conditions';
import type { StepRecord, WalkSummary } from './walkthrough';

const OUTCOME_WORD: Record<string, string> = {
  open: 'open',
  started: 'started, no outcome recorded',
  blocked: 'BLOCKED',
  passed: 'passed',
  failed: 'FAILED',
  unknown: 'UNKNOWN',
  confirmed: 'confirmed',
  skipped: 'skipped',
  'not-applicable': 'not applicable',
  overridden: 'overridden (typed yes)',
  done: 'done',
  entered: 'entered',
  read: 'read',
};

// Every value from outside (titles and values from checklist files and health data, operator
// and host names, error texts) goes in through md(): one line, no control or bidi character,
// and `|`, `\`, backticks and `<` escaped, so it can neither break a table nor the terminal
// that `ops report` prints to.

function time(iso: string | undefined | null): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function stepDetail(s: StepRecord): string {
  const parts: string[] = [];
  if (s.value) parts.push(s.value);
  if (s.reason) parts.push(`reason: ${s.reason}`);
  if (s.taskRun) parts.push(`task run ${s.taskRun}${s.taskOutcome ? ` (${s.taskOutcome})` : ''}`);
  for (const n of s.notes) parts.push(`note (${n.by}): ${n.text}`);
  return parts.join('; ');
}

/**
 * The report. `tasks` gives the task journal's summary of a run id (for durations and outcomes);
 * a run it does not know is listed with what the checklist journal recorded.
 */
/** Something done on the target while the walkthrough was open, outside its task steps. */
export interface WalkAction {
  ts: string;
  text: string;
}

/**
 * The steps of `w` that failed and were then fixed: a later check or gate on the same condition
 * (`conditions`: each step id's condition, as a key) passed. Their index, and the step that passed.
 */
export function fixedLater(w: WalkSummary, conditions: ReadonlyMap<string, string>): Map<number, number> {
  const fixed = new Map<number, number>();
  w.steps.forEach((s, i) => {
    if (s.status !== 'failed' && s.status !== 'unknown') return;
    const key = conditions.get(s.id);
    if (key === undefined) return;
    const j = w.steps.findIndex((t, k) => k > i && t.status === 'passed' && conditions.get(t.id) === key);
    if (j >= 0) fixed.set(i, j);
  });
  return fixed;
}

export function renderReport(w: WalkSummary, tasks: (run: string) => RunSummary | null, actions: readonly WalkAction[] = [], conditions: ReadonlyMap<string, string> = new Map()): string {
  const out: string[] = [];
  const ended = w.endedAt ? time(w.endedAt) : 'not ended';
  out.push(`# ${md(w.title)}: walkthrough ${md(w.run)}`, '');
  out.push(`- Checklist: ${md(w.checklist)}${w.source ? ` (${md(w.source)})` : ''}`);
  out.push(`- Outcome: ${md(w.outcome)}`);
  out.push(`- Operator: ${md(formatOperator(w.operator))}${w.operator?.tty ? ` on ${md(w.operator.tty)}` : ''}`);
  for (const r of w.resumes) out.push(`- Resumed: ${md(time(r.ts))} by ${md(r.by)}`);
  out.push(`- Host: ${md(w.host)}`);
  out.push(`- Target: ${md(w.target)}`);
  out.push(`- Started: ${md(time(w.startedAt))}; ended: ${md(ended)}`);
  out.push(`- Maintenance window: ${w.window ? md(w.window) : 'not configured'}${w.insideWindow === null ? '' : w.insideWindow ? ' (started inside it)' : ' (started OUTSIDE it)'}`);
  out.push('');

  out.push('## Steps', '', '| # | step | kind | outcome | when | by | details |', '|---|---|---|---|---|---|---|');
  w.steps.forEach((s, i) => {
    out.push(`| ${i + 1} | ${md(s.title)} | ${md(s.kind)} | ${md(OUTCOME_WORD[s.status] ?? s.status)} | ${md(time(s.at))} | ${md(s.by)} | ${md(stepDetail(s))} |`);
  });
  out.push('');

  const taskSteps = w.steps.filter((s) => s.taskRun);
  out.push('## Tasks', '');
  if (taskSteps.length === 0) out.push(actions.length ? 'No task step ran (see the actions below).' : 'No task ran.');
  else {
    out.push('| step | task run | outcome | duration | rollbacks left |', '|---|---|---|---|---|');
    for (const s of taskSteps) {
      const r = tasks(s.taskRun!);
      const dur = r?.endedAt ? formatDuration((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000) : s.durationMs !== undefined ? formatDuration(s.durationMs / 1000) : '?';
      out.push(`| ${md(s.title)} | ${md(s.taskRun)} (${md(r?.task ?? '?')}) | ${md(r?.outcome ?? s.taskOutcome ?? '?')} | ${dur} | ${r ? r.pendingRollbacks : '?'} |`);
    }
  }
  out.push('');

  if (actions.length) {
    out.push('## Actions during the walkthrough', '', '| when | what |', '|---|---|');
    for (const a of actions) out.push(`| ${md(time(a.ts))} | ${md(a.text)} |`);
    out.push('');
  }

  out.push('## Health before and after', '');
  const before = w.start;
  const after = w.end;
  out.push(`| figure | at start${before ? ` (${md(time(before.at))})` : ''} | at end${after ? ` (${md(time(after.at))})` : ''} |`, '|---|---|---|');
  out.push(`| overall | ${md(before?.status ?? '–')} | ${md(after?.status ?? '–')} |`);
  for (const [name, def] of Object.entries(METRICS)) {
    const a = before?.metrics[name];
    const b = after?.metrics[name];
    if ((a === null || a === undefined) && (b === null || b === undefined)) continue;
    out.push(`| ${md(def.label)} | ${a === undefined ? '–' : md(formatMetric(name, a))} | ${b === undefined ? '–' : md(formatMetric(name, b))} |`);
  }
  out.push('');

  out.push('## Open problems', '');
  const open: string[] = [];
  const fixed = fixedLater(w, conditions);
  for (const [i, s] of w.steps.entries()) {
    if (fixed.has(i)) continue; // listed below as fixed, not as open
    if (s.status === 'failed' || s.status === 'unknown' || s.status === 'blocked') open.push(`Step "${md(s.title)}": ${OUTCOME_WORD[s.status]}${s.value ? `: ${md(s.value)}` : ''}`);
    else if (s.status === 'open' || s.status === 'started') open.push(`Step "${md(s.title)}" was not finished`);
    else if (s.status === 'skipped') open.push(`Step "${md(s.title)}" was skipped: ${md(s.reason ?? '')}`);
    else if (s.status === 'overridden') open.push(`Gate "${md(s.title)}" was overridden: ${md(s.value ?? '')}`);
  }
  for (const s of taskSteps) {
    const r = tasks(s.taskRun!);
    if (r && r.pendingRollbacks > 0 && r.outcome !== 'succeeded') open.push(`Task run ${md(r.run)} (${md(r.task)}) ${md(r.outcome)} with ${r.pendingRollbacks} rollback(s) not applied: ops rollback ${md(r.run)}`);
  }
  const last = after ?? before;
  for (const p of Object.values(last?.problems ?? {})) open.push(`Health ${after ? 'at end' : 'at start'}: ${md(p)}`);
  if (open.length === 0) out.push('None.');
  else for (const o of open) out.push(`- ${o}`);
  out.push('');
  if (fixed.size) {
    out.push('## Fixed during the walkthrough', '');
    for (const [i, j] of fixed) out.push(`- Step "${md(w.steps[i].title)}" ${OUTCOME_WORD[w.steps[i].status]}${w.steps[i].value ? `: ${md(w.steps[i].value!)}` : ''}; step "${md(w.steps[j].title)}" passed after it${w.steps[j].value ? `: ${md(w.steps[j].value!)}` : ''}`);
    out.push('');
  }
  return out.join('\n');
}

/** Writes the report to `<dir>/reports/<run>.md` (written whole, then renamed, then fsynced). */
export function writeReport(stateDir: string, run: string, markdown: string): string {
  const dir = join(stateDir, 'reports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${run.replace(/[/\\]/g, '_')}.md`);
  const tmp = `${file}.tmp`;
  // renderReport escaped each value; this is the last line of defence for any other caller
  writeFileSync(tmp, sanitizeText(markdown), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return file;
}
