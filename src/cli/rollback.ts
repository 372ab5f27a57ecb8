// `ops rollback [RUN_ID] [--yes]`: the emergency rollback session. Without a run id it lists the
// recent runs that still have rollbacks not applied, newest first, with what each would run.
// With one it rebuilds the run from the journal, shows its rollbacks, confirms, and runs them.
import type { ResultCapture } from './results';
import { type Settings } from '../config/load';
import { UsageError, UserError } from '../errors';
import { formatOperator, Journal, pickByPrefix, type RunSummary } from '../journal';
import { importMirroredRun, mirroredFields, mirroredRun, mirroredRunIds, mirroredRuns, mirrorLimits, requireMirror } from '../journal/mirror';
import { redact } from '../util/redact';
import { sanitizeText, terminalJson } from '../util/sanitize';
import { needingAttention, runsNeedingAttention, unknownStepState, type AttentionRun } from '../tasks/attention';
export { interruptedRuns, runChanged, runsNeedingAttention, startupNotice, unknownStepState } from '../tasks/attention';
import { confirmationForRollback } from '../tasks/confirm';
import type { TaskDef } from '../tasks/model';
import { readlinePrompter } from './prompt';
import { availableTasks, openSession, pastRun, sessionRunner, refuseReadOnly, watchSignals } from './run';

/** A run and its undos, newest first; `from`: the source it ran from (a run of another host). */
export function describeRun(r: RunSummary | AttentionRun, from?: string): string {
  const lines = [`${r.run}  ${r.task} on ${r.target}  by ${formatOperator(r.operator)}  ${r.outcome}${from ? `  from ${from}` : ''}`];
  if ('changed' in r && r.changed) lines.push(`    changed: ${r.changed}`);
  for (const s of [...r.steps].reverse()) {
    if (s.status === 'ok' && s.rollback && !s.rolledBack) lines.push(`    undo ${s.title}: ${s.rollback}`);
    else if (s.status === 'started') {
      const known = unknownStepState(s as { pgid?: number | null; backendPid?: number | null }, r.operator?.host);
      lines.push(`    ${s.title}: started, outcome not recorded (ops died mid-step)${known ? `; ${known}` : ''}${s.rollback ? `; may have run: undo ${s.rollback}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * With a journal mirror: the run's events this journal lacks (a run from another host, or a
 * rollback of it journaled there) are copied in from the mirror first, so the rollback works
 * from what every host recorded. A run only the mirror has is found there by its id's prefix.
 * An unreachable mirror leaves a run this journal has to this journal, with a warning.
 */
async function fromMirror(settings: Settings, journal: Journal, prefix: string, print: (s: string) => void): Promise<void> {
  const places = settings.mirror ?? [];
  const limits = mirrorLimits(settings.config.probeTimeoutMs);
  let local: string | null = null;
  try {
    local = journal.findRun(prefix);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
  }
  let runId = local;
  try {
    if (!runId) runId = pickByPrefix(await mirroredRunIds(places, limits, prefix.trim()), prefix, { one: 'run', many: 'runs', where: `${journal.file} or the journal's mirror` });
    const run = await mirroredRun(places, limits, runId);
    if (!run) return;
    const copied = importMirroredRun(journal, run);
    if (copied > 0) {
      print(`run ${runId}: ${copied} event${copied === 1 ? '' : 's'} copied from the journal's mirror (it ran from ${run.source})\n`);
    }
  } catch (err) {
    if (!local || !(err instanceof UserError)) throw err;
    print(`warning: ${err.message}; rolling back from this host's journal alone\n`);
  }
}

/**
 * `ops rollback --all-hosts`: the runs of every host, from the journal's mirror, that still have
 * rollbacks to apply or stopped mid-way, each with the host that ran it. `json` gives them as
 * objects (the summary, `changed`, `host`, `hosts`, `source`).
 */
export async function mirroredAttention(settings: Settings, builtins: readonly TaskDef[], opts: { json?: boolean; limit?: number } = {}): Promise<string> {
  const places = requireMirror(settings, 'rollback --all-hosts');
  const runs = await mirroredRuns(places, mirrorLimits(settings.config.probeTimeoutMs), opts.limit ?? 50);
  const byRun = new Map(runs.map((r) => [r.run, r]));
  const tasks = availableTasks(builtins).tasks;
  const list = needingAttention(
    runs.map((r) => r.summary),
    (run) => byRun.get(run)?.events.map((e) => e.event) ?? [],
    tasks,
  );
  const secrets = settings.target.secrets;
  if (opts.json) return terminalJson(list.map((r) => ({ ...r, ...mirroredFields(byRun.get(r.run)!) })), 2);
  if (list.length === 0) return 'nothing to roll back: no recent run of any host has rollbacks left to apply\n';
  const lines = ['Runs of every host with rollbacks not applied, newest first (ops rollback RUN_ID undoes one from here):\n'];
  for (const r of list) lines.push(describeRun(r, byRun.get(r.run)!.source));
  return sanitizeText(redact(lines.join(''), secrets));
}

export async function rollbackCommand(settings: Settings, builtins: readonly TaskDef[], runPrefix: string | undefined, flags: { yes: boolean; capture?: ResultCapture }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const secrets = settings.target.secrets;
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));
  const journal = new Journal(undefined, { secrets });

  if (!runPrefix) {
    const runs = runsNeedingAttention(journal, { tasks: builtins });
    if (runs.length === 0) {
      print('nothing to roll back: no recent run has rollbacks left to apply\n');
      return 0;
    }
    print(`Recent runs with rollbacks not applied, newest first (ops rollback RUN_ID to undo one):\n`);
    for (const r of runs) print(describeRun(r));
    return 0;
  }

  refuseReadOnly(settings, `rollback ${runPrefix}`);
  if (settings.mirror?.length) await fromMirror(settings, journal, runPrefix, print);
  const { runId, summary, task, events, params } = pastRun(settings, builtins, journal, runPrefix, 'rollback');
  if (flags.capture) {
    flags.capture.runId = runId;
    flags.capture.undoneBefore = summary.steps.filter((s) => s.rolledBack).map((s) => s.id);
  }
  // an undo that only removes files needs no database: without one the lock guards this host only
  const session = await openSession(settings, task, runId, journal, out, { database: 'if-reachable' });
  const runner = sessionRunner(settings, task, params, runId, journal, session);
  const detach = watchSignals(runner, session);
  try {
    runner.restore(events);
    const plan = runner.rollbackPlan();
    if (plan.length === 0) {
      print(`run ${runId}: nothing left to roll back\n`);
      return 0;
    }
    print(`run ${runId}: ${task.title} on ${summary.target}, ${summary.outcome}. Rollbacks, newest first:\n`);
    plan.forEach((p, i) => {
      const st = summary.steps.find((s) => s.id === p.step) as { pgid?: number | null; backendPid?: number | null } | undefined;
      const known = p.mayHaveRun && st ? unknownStepState(st, summary.operator?.host) : '';
      print(`  ${i + 1}. undo ${p.title}${p.mayHaveRun ? ` [may have run: its end was never recorded${known ? `; ${known}` : ''}]` : ''}: ${p.detail}\n`);
    });
    if (!session.hasDatabase) print('  (no database connection: an undo that needs one fails and stays pending)\n');
    if (!flags.yes) {
      if (!process.stdin.isTTY) throw new UsageError(`rollback ${runId}: asks for confirmation; run it at a terminal, or pass --yes`);
      const c = confirmationForRollback(task, settings.target.database);
      const ok = await readlinePrompter().confirmAs(c, {
        yesNo: 'Roll back all of these? [y/N] ',
        typeWord: c.kind === 'type-word' ? `Type ${c.what} (${c.word}) to roll back: ` : undefined,
      });
      if (!ok) {
        print('not confirmed: nothing was rolled back\n');
        return 1;
      }
    }
    const results = await runner.rollback(plan.map((p) => p.step));
    runner.end();
    const failed = results.filter((r) => !r.ok);
    print(`run ${runId} ${runner.state.outcome}${failed.length ? `; failed: ${failed.map((f) => `${f.step} (${f.error})`).join(', ')}` : ''}\n`);
    return failed.length ? 1 : 0;
  } finally {
    detach();
    if (runner.state.phase !== 'done' && runner.state.steps.some((s) => s.rollback !== 'none')) runner.end();
    await session.release();
  }
}

