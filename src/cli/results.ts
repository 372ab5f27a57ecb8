// `--json` results of `ops run`, `ops rollback` and `ops checklist run`, for automation (issue 15
// §4: an Ansible task's `register`, `changed_when`, `failed_when`). With --json the command's
// human lines go to standard error and standard output carries one JSON object, also when the
// command is refused or fails before it starts (then with `error`, and its exit code).
import { UserError } from '../errors';
import type { WalkSummary } from '../checklists/walk-journal';
import type { RunSummary } from '../journal';
import { terminalJson } from '../util/sanitize';

/** What a command tells its JSON result while it runs: the run (or walkthrough) it is about. */
export interface ResultCapture {
  runId: string | null;
  /** ops rollback: the steps already rolled back before this one started */
  undoneBefore?: string[];
}

export interface StepJson {
  id: string;
  title: string;
  status: string;
  rolledBack: boolean;
  durationMs: number | null;
}

export interface RunJson {
  run: string | null;
  task: string | null;
  target: string;
  outcome: string;
  /** at least one step changed something and was not undone (see changedBy) */
  changed: boolean;
  exitCode: number;
  error?: string;
  steps: StepJson[];
  /** the undos not applied, newest first: what `ops rollback RUN --yes` would run */
  rollbacksLeft: { step: string; title: string; undo: string }[];
}

/**
 * Whether a run changed something that stands: a step done and not rolled back that has an undo
 * or cannot be undone; in a task with no undo at all (analyze, vacuum), any step done. A dry
 * run, a refused run and a run whose only steps done were reads (set-setting's "Read the current
 * value") changed nothing.
 */
export function changedBy(s: RunSummary | null): boolean {
  if (!s || s.dryRun) return false;
  const noUndo = s.steps.every((x) => x.rollback === null && !x.irreversible);
  return s.steps.some((x) => x.status === 'ok' && !x.rolledBack && (noUndo || x.rollback !== null || x.irreversible));
}

export function runJson(s: RunSummary | null, opts: { task: string | null; target: string; exitCode: number; error?: string | null }): RunJson {
  return {
    run: s?.run ?? null,
    task: s?.task ?? opts.task,
    target: s?.target ?? opts.target,
    outcome: s ? s.outcome : 'not started',
    changed: changedBy(s),
    exitCode: opts.exitCode,
    ...(opts.error ? { error: opts.error } : s?.error ? { error: s.error } : {}),
    steps: (s?.steps ?? []).map((x) => ({ id: x.id, title: x.title, status: x.status, rolledBack: x.rolledBack, durationMs: x.durationMs })),
    rollbacksLeft: (s?.steps ?? [])
      .filter((x) => x.status === 'ok' && x.rollback !== null && !x.rolledBack)
      .reverse()
      .map((x) => ({ step: x.id, title: x.title, undo: x.rollback! })),
  };
}

/**
 * Runs `work` and prints `result`'s object as JSON on `out`, whatever happens: a UserError (a
 * refusal, bad input) gets its JSON too, with `error` and its exit code, and is then thrown on, so
 * the one-line error still goes to standard error and the exit code stays the command's.
 */
export async function withJsonResult(
  work: (capture: ResultCapture) => Promise<number>,
  result: (capture: ResultCapture, exitCode: number, error: string | null) => object,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const capture: ResultCapture = { runId: null };
  let code: number;
  try {
    code = await work(capture);
  } catch (err) {
    const exitCode = err instanceof UserError ? err.exitCode : 1;
    out.write(`${terminalJson(result(capture, exitCode, String((err as Error)?.message ?? err).split('\n')[0]), 2)}\n`);
    throw err;
  }
  out.write(`${terminalJson(result(capture, code, null), 2)}\n`);
  return code;
}

/**
 * `ops rollback RUN --yes --json`: the run after its rollback, with `undone`, the steps this
 * rollback undid, and `changed` true when it undid any.
 */
export function rollbackJson(s: RunSummary | null, capture: ResultCapture, opts: { target: string; exitCode: number; error?: string | null }): RunJson & { undone: string[] } {
  const before = new Set(capture.undoneBefore ?? []);
  const undone = (s?.steps ?? []).filter((x) => x.rolledBack && !before.has(x.id)).map((x) => x.id);
  return { ...runJson(s, { task: null, ...opts }), changed: undone.length > 0, undone };
}

/**
 * `ops checklist run NAME --yes --json` (and `checklist resume ID --yes --json`): the
 * walkthrough's outcome and steps, each task run it started as its run result, the undos those
 * runs left, and `changed` when any of them changed something.
 */
export function checklistJson(
  w: WalkSummary | null,
  taskRun: (run: string) => RunSummary | null,
  opts: { checklist: string | null; target: string; exitCode: number; error?: string | null },
) {
  const runs = (w?.steps ?? []).filter((x) => x.taskRun).map((x) => runJson(taskRun(x.taskRun!), { task: null, target: opts.target, exitCode: x.taskOutcome === 'succeeded' ? 0 : 1 }));
  return {
    walkthrough: w?.run ?? null,
    checklist: w?.checklist ?? opts.checklist,
    target: w?.target ?? opts.target,
    outcome: w ? w.outcome : 'not started',
    changed: runs.some((r) => r.changed),
    exitCode: opts.exitCode,
    ...(opts.error ? { error: opts.error } : {}),
    steps: (w?.steps ?? []).map((x) => ({
      id: x.id,
      kind: x.kind,
      title: x.title,
      status: x.status,
      ...(x.value !== undefined ? { value: x.value } : {}),
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      ...(x.taskRun ? { taskRun: x.taskRun, taskOutcome: x.taskOutcome ?? null } : {}),
    })),
    taskRuns: runs,
    rollbacksLeft: runs.flatMap((r) => r.rollbacksLeft.map((b) => ({ run: r.run, ...b }))),
  };
}
