// `ops run TASK [--param k=v ...] [--dry-run] [--yes]`: one task, headless or at a plain
// terminal prompt. The console's task screens drive the same TaskRunner.
import type pg from 'pg';
import { type Settings } from '../config/load';
import { UserError, UsageError } from '../errors';
import { Journal, operatorIdentity, type JournalEvent, type RunSummary } from '../journal';
import { groupAlive, parseParams, TaskRunner, type LogSink, type RunnerLike } from '../tasks/engine';
import { progressFigures } from '../tasks/progress';
import { hostname } from 'node:os';
import { acquireRunLock } from '../tasks/lock';
import type { TaskDef } from '../tasks/model';
import { confirmationFor, type Confirmation } from '../tasks/confirm';
import { readlinePrompter, typeWordQuestion, type Prompter } from './prompt';
import { closeClient, DEFAULT_DB_LIMITS, openClient, type DbLimits, type GuardedClient } from '../util/db';
import { redact } from '../util/redact';
import { sanitizeLine, sanitizeText } from '../util/sanitize';
import { availableTasks as registry, openSession, pastRun as pastRunOf, planRunner, readTaskPlan, refuseReadOnly, sessionRunner, type Session, type TaskPlan } from '../tasks/session';
import { userTaskSource } from '../tasks/user-tasks';
import { startupNotice } from '../tasks/attention';
import type { ResultCapture } from './results';

/**
 * `--param k=v` pairs to an object. Values stay strings (tasks coerce numbers); a value in JSON
 * list or object syntax is parsed; a repeated key makes a list.
 */
export function parseParamFlags(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param: expected KEY=VALUE, got "${redact(p)}"`);
    const key = p.slice(0, eq);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    if (/^\s*[[{]/.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new UsageError(`--param ${key}: not valid JSON: ${redact(raw)}`);
      }
    }
    if (key in out) out[key] = ([] as unknown[]).concat(out[key], value);
    else out[key] = value;
  }
  return out;
}

/** The tasks the CLI knows: the built-ins (passed in by the entry point) plus the operator's own. */
export function availableTasks(builtins: readonly TaskDef[]): { tasks: TaskDef[]; errors: string[] } {
  return registry(builtins);
}

/** A past run from the journal (src/tasks/session.ts pastRun over the CLI's tasks). */
export function pastRun(settings: Settings, builtins: readonly TaskDef[], journal: Journal, runPrefix: string, what: string) {
  return pastRunOf(settings, journal, runPrefix, what, availableTasks(builtins).tasks);
}

export { openSession, planRunner, refuseReadOnly, sessionRunner, type Session };

/**
 * The CLI run's signals: Ctrl-C cancels the running step; a hang-up lets it finish, then stops
 * the run (interrupted). Bound by the command, not the session; returns the unbinding.
 */
export function watchSignals(runner: TaskRunner, session: Session): () => void {
  session.attach(runner);
  const onInt = () => runner.cancel();
  const onHup = () => {
    session.mute();
    runner.interrupt('terminal hung up (SIGHUP): the running step finishes, then the run stops');
  };
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
  };
}

export function taskOrFail(builtins: readonly TaskDef[], id: string | undefined): TaskDef {
  const { tasks, errors } = availableTasks(builtins);
  const ids = tasks.map((t) => t.id).join(', ');
  if (!id) throw new UsageError(`run: name a task (${ids})`);
  const t = tasks.find((x) => x.id === id);
  if (!t) {
    const hint = errors.length ? `; a task file did not load: ${errors[0]}` : '';
    throw new UsageError(`run: unknown task "${id}" (tasks: ${ids})${hint}`);
  }
  return t;
}

export function listTasks(builtins: readonly TaskDef[], warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const { tasks, errors } = availableTasks(builtins);
  for (const e of errors) warn(`ops: warning: ${e}`);
  const w = Math.max(...tasks.map((t) => t.id.length));
  return `${tasks.map((t) => `${t.id.padEnd(w)}  ${t.risk.padEnd(8)}  ${t.title}${userTaskSource(t) ? `  (${userTaskSource(t)})` : ''}`).join('\n')}\n`;
}

function planText(plan: TaskPlan, task: TaskDef, params: Record<string, unknown>, target: string): string {
  const lines = [`${task.id} (${task.risk} risk) on ${target}`, `  ${task.description}`];
  const shown = JSON.stringify(params);
  if (shown !== '{}') lines.push(`  parameters: ${shown}`);
  // what the plan's read-only reading found, then its pick list
  for (const l of plan.findings?.lines ?? []) lines.push(`  ${l}`);
  const choices = plan.findings?.choices;
  if (choices?.items.length) {
    lines.push(`  to choose from (--param ${choices.param}=…):`);
    for (const c of choices.items) lines.push(`    ${c.label}`);
  }
  plan.steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}${s.irreversible ? '  [IRREVERSIBLE]' : ''}`);
    lines.push(`       runs: ${s.detail}`);
    lines.push(`       undo: ${s.rollback ?? (s.irreversible ? 'none: cannot be undone' : 'nothing to undo')}`);
  });
  if (plan.findings?.refusal) lines.push(`refused: ${plan.findings.refusal}`);
  return `${lines.join('\n')}\n`;
}

/** Asks what the policy (confirmationFor) says: y/N after the plan, or the word typed. */
function confirmRun(prompter: Prompter, c: Confirmation): Promise<boolean> {
  return prompter.confirmAs(c, {
    yesNo: `${c.kind === 'yes-no' && c.irreversible ? 'This task has an irreversible step. ' : ''}Run it? [y/N] `,
    typeWord: c.kind === 'type-word' ? `This is a critical task. ${typeWordQuestion(c.word, c.what)}` : undefined,
  });
}

export interface RunFlags {
  params: string[];
  dryRun: boolean;
  yes: boolean;
  /** told the run's id once it has one (--json: src/cli/results.ts) */
  capture?: ResultCapture;
}

export async function runCommand(settings: Settings, builtins: readonly TaskDef[], taskId: string | undefined, flags: RunFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const task = taskOrFail(builtins, taskId);
  const params = parseParams(task, parseParamFlags(flags.params));
  const target = settings.target;
  const secrets = target.secrets;
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));

  const journal = new Journal(undefined, { secrets });
  if (flags.dryRun) {
    // the plan's reading is read-only: a dry run reads it too, even under --read-only
    const plan = await readTaskPlan(settings, task, params);
    print(planText(plan, task, params, target.display));
    print('dry run: nothing was changed\n');
    return plan.findings?.refusal ? 1 : 0;
  }
  refuseReadOnly(settings, `run ${task.id}`);
  // read before anything runs: a refusal (a bad value, no backup directory) stops here, one line
  const planOnly = await readTaskPlan(settings, task, params);
  if (planOnly.findings?.refusal) throw new UserError(`${task.id}: ${planOnly.findings.refusal}`, 1);
  // a critical task names what it destroys: its own word, else the database it overwrites
  const confirmation = confirmationFor(task, { params, steps: task.steps }, target.database);
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const prompter = readlinePrompter();
  const askFirst = confirmation.kind !== 'none' && !flags.yes;
  if (askFirst) {
    if (!interactive) {
      throw new UsageError(`run ${task.id}: a ${task.risk}-risk task asks for confirmation; run it at a terminal, or pass --yes (see the plan with --dry-run)`);
    }
    print(planText(planOnly, task, params, target.display));
    if (!(await confirmRun(prompter, confirmation))) {
      print('not confirmed: nothing was run\n');
      return 1;
    }
  }

  const notice = startupNotice(journal);
  if (notice) print(`note: ${notice}\n`);
  const runId = journal.newRunId(task.id);
  if (flags.capture) flags.capture.runId = runId;
  const session = await openSession(settings, task, runId, journal, out);
  const runner = sessionRunner(settings, task, params, runId, journal, session);
  const detach = watchSignals(runner, session);
  const unprogress = printProgress(runner, print);
  try {
    print(`run ${runId}: ${task.title} on ${target.display}\n`);
    // the plan was not shown before the run: what its reading found comes first
    if (!askFirst) for (const l of planOnly.findings?.lines ?? []) print(`plan: ${l}\n`);
    const state = await runner.run();
    if (state.outcome === 'succeeded') {
      print(`run ${runId} succeeded\n`);
      return 0;
    }
    if (state.outcome === 'interrupted') {
      runner.end('interrupted');
      return 1;
    }
    if (state.fault) {
      // the journal or the log cannot be written: say so, and leave the rollbacks to ops rollback
      runner.end();
      print(`run ${runId} ${runner.state.outcome}: ${state.fault}\n`);
      return 1;
    }
    const plan = runner.rollbackPlan();
    if (plan.length && interactive && !flags.yes) {
      print(`\nThe run stopped (${state.outcome}). Steps done, with their rollbacks, newest first:\n`);
      plan.forEach((p, i) => print(`  ${i + 1}. ${p.title}: ${p.detail}\n`));
      const ids = await prompter.chooseRollbacks(plan);
      if (ids.length) await runner.rollback(ids);
    } else if (plan.length) {
      print(`run ${runId} ${state.outcome}; rollbacks not applied: ${plan.map((p) => p.step).join(', ')} (ops rollback ${runId})\n`);
    }
    runner.end();
    print(`run ${runId} ${runner.state.outcome}${runner.state.fault ? `: ${runner.state.fault}` : ''}\n`);
    return 1;
  } finally {
    unprogress();
    detach();
    if (runner.state.phase !== 'done') runner.end();
    await session.release();
  }
}

/**
 * Headless progress: a line when a step's progress first shows, then at most one every
 * `everyMs` while it runs (no terminal needed). The text is progressFigures', as on the screen.
 */
export function printProgress(runner: Pick<RunnerLike, 'state' | 'subscribe'>, print: (s: string) => void, everyMs = 5000, clock: () => number = Date.now): () => void {
  let last = 0;
  let lastStep: number | null = null;
  return runner.subscribe(() => {
    const i = runner.state.current;
    const st = i === null ? undefined : runner.state.steps[i];
    if (!st?.progress || st.status !== 'running' || st.startedAt === null) return;
    const now = clock();
    if (lastStep === i && now - last < everyMs) return;
    lastStep = i;
    last = now;
    const f = progressFigures(st.progress, st.startedAt, now);
    print(`progress: step ${i! + 1}: ${f.text}${f.lockLine ? ` · ${f.lockLine}` : ''}\n`);
  });
}

/** `ops run --resume RUN_ID`: rebuilds the run from the journal and goes on from its first step
 *  not done (an interrupted step whose outcome was not recorded, or a failed one, runs again). */
export async function resumeCommand(settings: Settings, builtins: readonly TaskDef[], runPrefix: string, flags: { yes: boolean; capture?: ResultCapture }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const secrets = settings.target.secrets;
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));
  const journal = new Journal(undefined, { secrets });
  const { runId, summary, task, events, params } = pastRun(settings, builtins, journal, runPrefix, 'run --resume');
  if (flags.capture) flags.capture.runId = runId;
  refuseReadOnly(settings, `run --resume ${runId}`);
  const probe = planRunner(settings, task, params, runId);
  probe.restore(events);
  const from = probe.resumeIndex();
  if (from === null) {
    print(`run ${runId}: every step is done; nothing to resume\n`);
    return 0;
  }
  const uncertain = probe.outcomeUnknown(from);
  print(`run ${runId}: ${task.title}, ${summary.outcome}. Going on from step ${from + 1}: ${task.steps[from].title}` +
    `${uncertain ? ' (its end was never recorded: it may have run)' : probe.state.steps[from].status !== 'pending' ? ` (it ${probe.state.steps[from].status}: it runs again)` : ''}\n`);
  // the plan is read again before anything runs (issue 13 §1). With no step done yet, a refusal
  // stops the resume as it would stop the run; once steps are done, the reading describes what they
  // changed (a dropped index is gone), so a refusal is said and the resume goes on.
  const reading = await readTaskPlan(settings, task, params);
  const anyDone = probe.state.steps.slice(0, from).some((s) => s.status === 'ok');
  if (reading.findings?.refusal && !anyDone) throw new UserError(`run --resume ${runId}: ${task.id}: ${reading.findings.refusal}`, 1);
  for (const l of reading.findings?.lines ?? []) print(`plan: ${l}\n`);
  if (reading.findings?.refusal) print(`plan: the reading now says "${reading.findings.refusal}" (steps 1-${from} are done; going on)\n`);
  if (uncertain) {
    // a step that may have run is never run again unasked, and never while its processes live
    const st = summary.steps[from] as { pgid?: number | null } | undefined;
    const pgid = typeof st?.pgid === 'number' ? st.pgid : null;
    if (pgid && summary.operator?.host === hostname() && groupAlive(pgid)) {
      throw new UserError(`run --resume ${runId}: step "${task.steps[from].title}" is still running as process group ${pgid}; wait for it to end (or stop it: kill -- -${pgid}), then resume`, 1);
    }
    if (!process.stdin.isTTY) {
      throw new UsageError(`run --resume ${runId}: step "${task.steps[from].title}" may have run (its end was never recorded); run the resume at a terminal to confirm running it again, or undo it with "ops rollback ${runId}"`);
    }
    if (!(await readlinePrompter().confirm(`Step "${task.steps[from].title}" may have run already. Run it again? [y/N] `))) {
      print(`nothing was run ("ops rollback ${runId}" undoes what ran)\n`);
      return 1;
    }
  } else if (!flags.yes) {
    if (!process.stdin.isTTY) throw new UsageError(`run --resume ${runId}: asks for confirmation; run it at a terminal, or pass --yes ("ops rollback ${runId}" undoes it instead)`);
    if (!(await readlinePrompter().continueOrQuit('[c]ontinue, or [q]uit (ops rollback undoes it instead)? '))) {
      print('nothing was run\n');
      return 1;
    }
  }
  const session = await openSession(settings, task, runId, journal, out);
  const runner = sessionRunner(settings, task, params, runId, journal, session);
  const detach = watchSignals(runner, session);
  try {
    runner.restore(events);
    const state = await runner.resume(`${session.operator.user}${session.operator.sshClient ? ` from ${session.operator.sshClient}` : ''}`);
    if (state.outcome !== 'succeeded' && runner.state.phase !== 'done') runner.end(state.outcome === 'interrupted' ? 'interrupted' : undefined);
    print(`run ${runId} ${runner.state.outcome}\n`);
    return state.outcome === 'succeeded' ? 0 : 1;
  } finally {
    detach();
    if (runner.state.phase !== 'done') runner.end();
    await session.release();
  }
}
