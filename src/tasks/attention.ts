// The attention queries over the task journal: runs that still have rollbacks to apply or never
// ended cleanly, runs left interrupted, and the start-up notice the console and ops run show.
import { hostname } from 'node:os';
import type { Journal, RunSummary } from '../journal';
import { groupAlive } from './engine';

/** Runs that still have something to undo, or that never ended cleanly; newest first. */
export function runsNeedingAttention(journal: Journal, limit = 50): RunSummary[] {
  return journal.runs({ limit }).filter((r) => r.pendingRollbacks > 0 || r.outcome === 'interrupted' || r.outcome === 'unfinished' || r.steps.some((s) => s.status === 'started'));
}

/**
 * What is known of a step that started and has no recorded end: its process group, and whether
 * anything of it still runs on this host. "" when nothing more is known.
 */
export function unknownStepState(s: { pgid?: number | null; backendPid?: number | null }, runHost: string | null | undefined): string {
  const parts: string[] = [];
  if (typeof s.pgid === 'number' && s.pgid > 0) {
    if (runHost && runHost !== hostname()) parts.push(`its process group ${s.pgid} ran on ${runHost}`);
    else parts.push(groupAlive(s.pgid) ? `its process group ${s.pgid} is still running` : `its process group ${s.pgid} has ended`);
  }
  if (typeof s.backendPid === 'number' && s.backendPid > 0) parts.push(`its statement ran as backend pid ${s.backendPid}`);
  return parts.join('; ');
}

/** Runs that stopped without ending: interrupted (hang-up), or left unfinished by a process that died. */
export function interruptedRuns(journal: Journal, limit = 50): RunSummary[] {
  const host = hostname();
  return journal.runs({ limit }).filter((r) => {
    if (r.outcome === 'interrupted') return r.pendingRollbacks > 0 || r.steps.some((s) => s.status === 'pending' || s.status === 'started');
    if (r.outcome !== 'unfinished' || !r.operator) return false;
    if (r.operator.host !== host) return false; // cannot tell whether it still runs there
    try {
      process.kill(r.operator.pid, 0);
      return false; // still running
    } catch {
      return true;
    }
  });
}

/** The line the console (and ops run) shows at start when a run was left interrupted. */
export function startupNotice(journal: Journal): string | null {
  let runs: RunSummary[];
  try {
    runs = interruptedRuns(journal);
  } catch {
    return null; // an unreadable journal must not stop the console
  }
  if (runs.length === 0) return null;
  if (runs.length > 1) return `${runs.length} runs were interrupted; "ops rollback" lists them`;
  const r = runs[0];
  const started = r.steps.find((s) => s.status === 'started');
  if (started) {
    const known = unknownStepState(started as { pgid?: number | null; backendPid?: number | null }, r.operator?.host);
    return `run ${r.run} (${r.task}) stopped mid-step: "${started.title}" may have run${known ? ` (${known})` : ''}; "ops rollback ${r.run}" shows what ran and how to undo it`;
  }
  const at = r.steps.find((s) => s.status === 'pending');
  return `run ${r.run} (${r.task}) was interrupted${at ? ` at "${at.title}"` : ''}; "ops rollback ${r.run}" shows what ran and how to undo it`;
}
