// The markdown report of a walkthrough: who, where, when, each step's outcome, the tasks that
// ran, the health before and after side by side, and what is still open.
import { mkdirSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { formatOperator, type RunSummary } from '../journal';
import { formatDuration } from '../util/format';
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

/** `|` and newlines would break a table cell. */
function cell(s: string | undefined | null): string {
  return (s ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

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
export function renderReport(w: WalkSummary, tasks: (run: string) => RunSummary | null): string {
  const out: string[] = [];
  const ended = w.endedAt ? time(w.endedAt) : 'not ended';
  out.push(`# ${w.title}: walkthrough ${w.run}`, '');
  out.push(`- Checklist: ${w.checklist}${w.source ? ` (${w.source})` : ''}`);
  out.push(`- Outcome: ${w.outcome}`);
  out.push(`- Operator: ${formatOperator(w.operator)}${w.operator?.tty ? ` on ${w.operator.tty}` : ''}`);
  for (const r of w.resumes) out.push(`- Resumed: ${time(r.ts)} by ${r.by}`);
  out.push(`- Host: ${w.host}`);
  out.push(`- Target: ${w.target}`);
  out.push(`- Started: ${time(w.startedAt)}; ended: ${ended}`);
  out.push(`- Maintenance window: ${w.window || 'not configured'}${w.insideWindow === null ? '' : w.insideWindow ? ' (started inside it)' : ' (started OUTSIDE it)'}`);
  out.push('');

  out.push('## Steps', '', '| # | step | kind | outcome | when | by | details |', '|---|---|---|---|---|---|---|');
  w.steps.forEach((s, i) => {
    out.push(`| ${i + 1} | ${cell(s.title)} | ${s.kind} | ${OUTCOME_WORD[s.status] ?? s.status} | ${time(s.at)} | ${cell(s.by)} | ${cell(stepDetail(s))} |`);
  });
  out.push('');

  const taskSteps = w.steps.filter((s) => s.taskRun);
  out.push('## Tasks', '');
  if (taskSteps.length === 0) out.push('No task ran.');
  else {
    out.push('| step | task run | outcome | duration | rollbacks left |', '|---|---|---|---|---|');
    for (const s of taskSteps) {
      const r = tasks(s.taskRun!);
      const dur = r?.endedAt ? formatDuration((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000) : s.durationMs !== undefined ? formatDuration(s.durationMs / 1000) : '?';
      out.push(`| ${cell(s.title)} | ${s.taskRun} (${r?.task ?? '?'}) | ${r?.outcome ?? s.taskOutcome ?? '?'} | ${dur} | ${r ? r.pendingRollbacks : '?'} |`);
    }
  }
  out.push('');

  out.push('## Health before and after', '');
  const before = w.start;
  const after = w.end;
  out.push(`| figure | at start${before ? ` (${time(before.at)})` : ''} | at end${after ? ` (${time(after.at)})` : ''} |`, '|---|---|---|');
  out.push(`| overall | ${before?.status ?? '–'} | ${after?.status ?? '–'} |`);
  for (const [name, def] of Object.entries(METRICS)) {
    const a = before?.metrics[name];
    const b = after?.metrics[name];
    if ((a === null || a === undefined) && (b === null || b === undefined)) continue;
    out.push(`| ${def.label} | ${a === undefined ? '–' : formatMetric(name, a)} | ${b === undefined ? '–' : formatMetric(name, b)} |`);
  }
  out.push('');

  out.push('## Open problems', '');
  const open: string[] = [];
  for (const s of w.steps) {
    if (s.status === 'failed' || s.status === 'unknown' || s.status === 'blocked') open.push(`Step "${s.title}": ${OUTCOME_WORD[s.status]}${s.value ? `: ${s.value}` : ''}`);
    else if (s.status === 'open' || s.status === 'started') open.push(`Step "${s.title}" was not finished`);
    else if (s.status === 'skipped') open.push(`Step "${s.title}" was skipped: ${s.reason ?? ''}`);
    else if (s.status === 'overridden') open.push(`Gate "${s.title}" was overridden: ${s.value ?? ''}`);
  }
  for (const s of taskSteps) {
    const r = tasks(s.taskRun!);
    if (r && r.pendingRollbacks > 0 && r.outcome !== 'succeeded') open.push(`Task run ${r.run} (${r.task}) ${r.outcome} with ${r.pendingRollbacks} rollback(s) not applied: ops rollback ${r.run}`);
  }
  const last = after ?? before;
  for (const p of Object.values(last?.problems ?? {})) open.push(`Health ${after ? 'at end' : 'at start'}: ${p}`);
  if (open.length === 0) out.push('None.');
  else for (const o of open) out.push(`- ${o}`);
  out.push('');
  return out.join('\n');
}

/** Writes the report to `<dir>/reports/<run>.md` (written whole, then renamed, then fsynced). */
export function writeReport(stateDir: string, run: string, markdown: string): string {
  const dir = join(stateDir, 'reports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${run.replace(/[/\\]/g, '_')}.md`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, markdown, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return file;
}
