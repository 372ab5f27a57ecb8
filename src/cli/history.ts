// `ops history` and `ops show RUN`: the journal of task runs, read back.
import { formatOperator, readLog, type Journal, type RunSummary, type StepSummary } from '../journal';
import { mirroredFields, type MirroredRun } from '../journal/mirror';
import { redact } from '../util/redact';
import { textTable as table, truncate } from '../util/format';
import { sanitizeLine as line1, sanitizeText, terminalJson } from '../util/sanitize';

/** `2026-11-23 18:45:00` in local time; '-' for a missing or bad timestamp. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `340ms`, `2.1s`, `4m05s`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// Printing: everything read from the journal or a log is outside text (a task's output, a
// database's error, an operator's name from the environment) and passes the sanitizer: one-line
// fields through line1 (after redaction, before truncation), the log through sanitizeText.


function outcomeText(s: RunSummary): string {
  return s.dryRun ? `${s.outcome} (dry run)` : s.outcome;
}

/** The journal's runs, newest first, as a table; `json` gives RunSummary[] as JSON. */
export function historyCommand(journal: Journal, opts: { json?: boolean; limit?: number } = {}): string {
  const runs = journal.runs({ limit: opts.limit });
  if (opts.json) return terminalJson(runs, 2);
  if (runs.length === 0) return `No task runs yet (journal: ${line1(journal.file)}).`;
  const rows = runs.map((s) => [
    line1(s.run),
    formatTime(s.startedAt),
    line1(s.task),
    truncate(line1(redact(s.target)), 40),
    line1(formatOperator(s.operator)),
    line1(outcomeText(s)),
    String(s.pendingRollbacks),
  ]);
  return table(['RUN', 'STARTED', 'TASK', 'TARGET', 'OPERATOR', 'OUTCOME', 'PENDING ROLLBACKS'], rows);
}

/**
 * Every host's runs, as the journal's mirror has them, newest first: which host started each
 * (and any other that journaled it, e.g. a rollback from there). `json` gives each summary with
 * `host`, `hosts` and `source`.
 */
export function mirroredHistoryCommand(runs: readonly MirroredRun[], opts: { json?: boolean; where: string }): string {
  if (opts.json) return terminalJson(runs.map((r) => ({ ...r.summary, ...mirroredFields(r) })), 2);
  if (runs.length === 0) return `No task runs in the journal's mirror (${line1(opts.where)}).`;
  const rows = runs.map((r) => {
    const s = r.summary;
    const others = r.hosts.filter((h) => h !== r.host);
    return [
      line1(s.run),
      formatTime(s.startedAt),
      truncate(line1(r.host) + (others.length ? ` (+${others.map((h) => line1(h)).join(', ')})` : ''), 40),
      line1(s.task),
      truncate(line1(redact(s.target)), 40),
      line1(formatOperator(s.operator)),
      line1(outcomeText(s)),
      String(s.pendingRollbacks),
    ];
  });
  return table(['RUN', 'STARTED', 'HOST', 'TASK', 'TARGET', 'OPERATOR', 'OUTCOME', 'PENDING ROLLBACKS'], rows);
}

function stepLine(st: StepSummary, i: number): string[] {
  const notes: string[] = [];
  if (st.attempts > 1) notes.push(`${st.attempts} attempts`);
  if (st.status === 'started') notes.push('started, no finish recorded: outcome unknown');
  if (st.exitCode !== null && st.status !== 'ok') notes.push(`exit ${st.exitCode}`);
  if (st.error) notes.push(truncate(line1(redact(st.error.split('\n')[0])), 120));
  if (st.rolledBack) notes.push('rolled back');
  else if (st.rollbackStatus !== 'none') notes.push(`rollback ${line1(st.rollbackStatus)}`);
  else if (st.status === 'ok' && st.rollback) notes.push(`rollback pending: ${truncate(line1(redact(st.rollback)), 60)}`);
  if (st.irreversible) notes.push('irreversible');
  return [`${i + 1}.`, line1(st.id), truncate(line1(st.title), 40), line1(st.status), formatMs(st.durationMs), notes.join('; ')];
}

/** One run: its header, each step with status and duration, its notes, then its full log. */
export function showCommand(journal: Journal, runIdPrefix: string): string {
  const run = journal.findRun(runIdPrefix);
  const s = journal.summary(run);
  if (!s) return `Run ${line1(run)}: no events.`;
  const op = s.operator;
  const out: string[] = [];
  out.push(`Run ${line1(s.run)} · ${line1(s.task)} · ${line1(s.title)}`);
  out.push(`  outcome   ${line1(outcomeText(s))}${s.error ? `: ${line1(redact(s.error.split('\n')[0]))}` : ''}`);
  out.push(`  risk      ${line1(s.risk)}`);
  out.push(`  target    ${line1(redact(s.target))}`);
  if (op) {
    const where = [op.host && `on ${op.host}`, op.tty && `tty ${op.tty}`, `pid ${op.pid}`].filter(Boolean).join(', ');
    out.push(`  operator  ${line1(formatOperator(op))} (${line1(where)})`);
  }
  const took = s.endedAt ? ` (${formatMs(Date.parse(s.endedAt) - Date.parse(s.startedAt))})` : '';
  out.push(`  started   ${formatTime(s.startedAt)}   ended ${s.endedAt ? formatTime(s.endedAt) : '- (no end recorded)'}${took}`);
  if (s.resumeOf) out.push(`  resumes   ${line1(s.resumeOf)}`);
  if (s.pendingRollbacks > 0) {
    const ids = s.steps.filter((x) => x.status === 'ok' && x.rollback && !x.rolledBack).map((x) => x.id);
    out.push(`  pending rollbacks: ${s.pendingRollbacks} (${line1(ids.join(', '))})`);
  }
  out.push('');
  out.push('Steps');
  if (s.steps.length === 0) out.push('  (none)');
  else
    out.push(
      table(['#', 'STEP', 'TITLE', 'STATUS', 'TIME', ''], s.steps.map(stepLine))
        .split('\n')
        .map((l) => `  ${l}`.trimEnd())
        .join('\n'),
    );
  // each undo in full, as the rollback runs it (the journal keeps it with the values each step
  // captured), newest first: the order ops rollback offers them in
  const undos = [...s.steps].reverse().filter((x) => x.rollback && !x.rolledBack && (x.status === 'ok' || x.status === 'started'));
  if (undos.length) {
    out.push('');
    out.push(`Undo, newest first (ops rollback ${line1(s.run)} runs these)`);
    for (const x of undos) {
      out.push(`  undo ${line1(x.title)}${x.status === 'started' ? ' [may have run: its end was never recorded]' : ''}: ${line1(redact(x.rollback!))}`);
    }
  }
  if (s.notes.length) {
    out.push('');
    out.push('Notes');
    for (const n of s.notes) out.push(`  ${formatTime(n.ts)}  ${line1(redact(n.text))}`);
  }
  out.push('');
  const path = journal.logPath(run);
  const log = readLog(path);
  if (log === null) out.push(`Log: none (${line1(path)})`);
  else {
    // the file keeps the bytes the task wrote; what reaches the terminal is sanitized
    out.push(`Log ${line1(path)}`);
    const shown = sanitizeText(log);
    out.push(shown.endsWith('\n') ? shown.slice(0, -1) : shown);
  }
  return out.join('\n');
}
