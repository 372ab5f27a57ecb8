// `ops checklist`: the list, and the headless walkthrough (`ops checklist run NAME --yes`, for
// cron). Checks and gates are judged on a probe round, tasks run through the task engine, and a
// manual step stops the run unless it was pre-confirmed with --confirm STEP (or, for an input
// step, given with --input STEP=VALUE). `ops report ID` prints a walkthrough's report.
import type { Settings } from '../config/load';
import { UserError, UsageError } from '../errors';
import { Journal } from '../journal';
import { collectOnce } from '../monitor';
import { parseParams } from '../tasks/engine';
import { redact } from '../util/redact';
import { sanitizeLine as line1, sanitizeText } from '../util/sanitize';
import { describeCondition } from '../checklists/conditions';
import type { Checklist, ChecklistStep } from '../checklists/model';
import { ChecklistService, type Health } from '../checklists/service';
import { checkInput, findWalk, isSettled, type Need, type WalkAnswer, type WalkHandle, type WalkReply, type Walkthrough } from '../checklists/walkthrough';
import { availableTasks, openSession, refuseReadOnly, sessionRunner, watchSignals } from './run';
import { readTaskPlan, type TaskPlan } from '../tasks/session';
import type { ResultCapture } from './results';

/** Exit codes of a headless walkthrough. */
export const CHECKLIST_EXIT = { ok: 0, checksFailed: 1, stopped: 2, manual: 3 } as const;

function kindWord(s: ChecklistStep): string {
  return s.kind === 'gate' ? `gate (${s.onFail})` : s.kind;
}

/** What a step of each kind does, for `ops checklist show` (a new kind fails to compile here). */
function kindWhat(s: ChecklistStep): string {
  switch (s.kind) {
    case 'check':
    case 'gate':
      return `: ${describeCondition(s.condition)}`;
    case 'task':
      return `: runs ${s.task}`;
    case 'confirm':
    case 'note':
    case 'input':
      return '';
    default: {
      const unhandled: never = s;
      throw new Error(`checklist: no words for a step of kind ${(unhandled as ChecklistStep).kind}`);
    }
  }
}

export function listChecklists(service: ChecklistService): string {
  const { checklists, errors } = service.checklists();
  const lines: string[] = [];
  const w = Math.max(...checklists.map((c) => c.id.length), 4);
  for (const c of checklists) lines.push(`${line1(c.id).padEnd(w)}  ${String(c.steps.length).padStart(2)} steps  ${line1(c.title)}${c.builtin ? '' : `  (${line1(c.source)})`}`);
  for (const e of errors) lines.push(`warning: ${line1(e)}`);
  const open = service.unfinished();
  if (open.length) {
    lines.push('', 'Unfinished walkthroughs (ops checklist resume ID):');
    for (const u of open.slice(0, 10)) {
      const at = u.steps.find((s) => !isSettled(s.status));
      lines.push(`  ${line1(u.run)}  ${line1(u.checklist)}, started ${line1(u.startedAt.slice(0, 16).replace('T', ' '))}Z${at ? `, at "${line1(at.title)}"` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One line per step as the headless run settles it. */
function stepLine(w: WalkHandle, i: number): string {
  const s = w.state.steps[i];
  const tag: Record<string, string> = {
    passed: 'PASS',
    failed: 'FAIL',
    unknown: 'UNKNOWN',
    confirmed: 'CONFIRMED',
    skipped: 'SKIPPED',
    'not-applicable': 'N/A',
    overridden: 'OVERRIDDEN',
    done: 'DONE',
    entered: 'ENTERED',
    read: 'NOTE',
    blocked: 'BLOCKED',
    started: 'RUNNING',
  };
  return `[${line1(tag[s.status] ?? s.status)}] ${line1(s.id)}: ${line1(s.title)}${s.value ? ` — ${line1(s.value)}` : ''}\n`;
}

export interface HeadlessFlags {
  yes: boolean;
  confirm: string[];
  inputs: string[];
  /** told the walkthrough's id once it has one (--json: src/cli/results.ts) */
  capture?: ResultCapture;
}

/** Checks --confirm and --input against the checklist before anything runs. */
function preAnswers(c: Checklist, flags: HeadlessFlags): { confirmed: Set<string>; inputs: Map<string, string> } {
  const confirmed = new Set<string>();
  for (const id of flags.confirm) {
    const s = c.steps.find((x) => x.id === id);
    if (!s) throw new UsageError(`--confirm ${id}: checklist ${c.id} has no step "${id}" (steps: ${c.steps.map((x) => x.id).join(', ')})`);
    if (s.kind !== 'confirm' && !(s.kind === 'gate' && s.onFail === 'warn')) {
      throw new UsageError(`--confirm ${id}: step "${id}" is a ${kindWord(s)} step; only confirm steps and warn gates can be pre-confirmed`);
    }
    confirmed.add(id);
  }
  const inputs = new Map<string, string>();
  for (const pair of flags.inputs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input: expected STEP=VALUE, got "${pair}"`);
    const id = pair.slice(0, eq);
    const s = c.steps.find((x) => x.id === id);
    if (!s || s.kind !== 'input') throw new UsageError(`--input ${id}: checklist ${c.id} has no input step "${id}"`);
    try {
      inputs.set(id, checkInput(s, pair.slice(eq + 1)));
    } catch (err) {
      throw new UsageError(`--input ${id}: ${(err as Error).message}`);
    }
  }
  return { confirmed, inputs };
}

function healthRound(settings: Settings): Promise<Health> {
  return collectOnce({ config: settings.config, target: settings.target });
}

/** Runs a task step through the engine (no prompts: --yes was given). Returns the run's outcome. */
async function runTaskStep(settings: Settings, service: ChecklistService, w: WalkHandle, run: Extract<WalkAnswer, { kind: 'run-task' }>, print: (s: string) => void, out: NodeJS.WritableStream): Promise<string> {
  const i = run.index;
  const step = w.checklist.steps[i];
  const task = availableTasks(service.builtins).tasks.find((t) => t.id === run.taskId);
  if (!task) {
    w.taskNotStarted(i, `unknown task ${run.taskId}`);
    return 'failed';
  }
  try {
    refuseReadOnly(settings, `task ${task.id}`);
  } catch (err) {
    w.taskNotStarted(i, (err as Error).message);
    return 'refused';
  }
  const params = parseParams(task, run.params);
  // the plan is read before the task runs, as ops run reads it (issue 13 §1): a refusal (a bad
  // value, a setting that needs a restart, no backup directory) stops the step before it starts
  let plan: TaskPlan;
  try {
    plan = await readTaskPlan(settings, task, params);
  } catch (err) {
    w.taskNotStarted(i, `reading the plan: ${(err as Error).message.split('\n')[0]}`);
    return 'not started';
  }
  if (plan.findings?.refusal) {
    print(`[REFUSED] ${step.id}: ${task.id}: ${plan.findings.refusal}\n`);
    w.taskNotStarted(i, plan.findings.refusal);
    return 'refused';
  }
  const journal = new Journal(undefined, { secrets: settings.target.secrets });
  const runId = journal.newRunId(task.id);
  // journaled before the task starts: a crash from here on shows the run it belongs to
  w.taskStarted(i, runId, task.id);
  print(`[RUNNING] ${step.id}: ${task.title} (run ${runId})\n`);
  for (const l of plan.findings?.lines ?? []) print(`  plan: ${l}\n`);
  const t0 = Date.now();
  let outcome = 'failed';
  try {
    const session = await openSession(settings, task, runId, journal, out);
    const runner = sessionRunner(settings, task, params, runId, journal, session);
    const detach = watchSignals(runner, session);
    try {
      const state = await runner.run();
      if (runner.state.phase !== 'done') runner.end(state.outcome === 'interrupted' ? 'interrupted' : undefined);
      outcome = runner.state.outcome ?? state.outcome ?? 'failed';
      const left = runner.rollbackPlan().length;
      if (outcome !== 'succeeded' && left) print(`run ${runId} ${outcome}; rollbacks not applied: ops rollback ${runId}\n`);
    } finally {
      detach();
      await session.release();
    }
  } catch (err) {
    w.taskNotStarted(i, (err as Error).message.split('\n')[0], { runId, durationMs: Date.now() - t0 });
    return 'not started';
  }
  w.taskEnded(i, runId, outcome, Date.now() - t0);
  return outcome;
}

/** The manual steps from `from` on that nobody pre-answered, as lines for the stop message. */
function manualLeft(c: Checklist, from: number, confirmed: Set<string>, inputs: Map<string, string>): string[] {
  return c.steps
    .slice(from)
    .filter((s) => (s.kind === 'confirm' && !confirmed.has(s.id)) || (s.kind === 'input' && !inputs.has(s.id)))
    .map((s) => `  ${s.id.padEnd(18)} ${s.kind === 'input' ? `--input ${s.id}=VALUE${s.example ? ` (e.g. ${line1(s.example)})` : ''}` : `--confirm ${s.id}`}   ${line1(s.title)}`);
}

/**
 * What a headless run will need of a person, listed before it starts: the manual steps not
 * pre-answered, each warn gate (a failed one goes on only with --confirm) and each block gate
 * (no flag answers it: it must hold).
 */
function needsUpFront(c: Checklist, confirmed: Set<string>, inputs: Map<string, string>): string[] {
  const gates = c.steps.flatMap((s) => {
    if (s.kind !== 'gate') return [];
    if (s.onFail === 'warn') return [`  ${s.id.padEnd(18)} --confirm ${s.id}   ${line1(s.title)} (warn gate: goes on past it if it fails)${confirmed.has(s.id) ? ' [given]' : ''}`];
    return [`  ${s.id.padEnd(18)} (no flag)   ${line1(s.title)} (block gate: must hold)`];
  });
  return [...manualLeft(c, 0, confirmed, inputs), ...gates];
}

/** Drives a walkthrough headless to its end, or to the first step that needs a person. */
async function drive(settings: Settings, service: ChecklistService, w: Walkthrough, flags: HeadlessFlags, out: NodeJS.WritableStream): Promise<number> {
  const secrets = settings.target.secrets;
  // every line passes the sanitizer: step values carry health summaries (table names, query
  // texts) and error messages; the fields of one-line messages are also made one line here
  const print = (s: string) => out.write(sanitizeText(redact(s, secrets)));
  const { confirmed, inputs } = preAnswers(w.checklist, flags);
  let health = await healthRound(settings);
  const printed = new Set<number>(w.state.steps.flatMap((s, i) => (isSettled(s.status) ? [i] : [])));
  const flush = () => {
    w.state.steps.forEach((s, i) => {
      if (isSettled(s.status) && !printed.has(i)) {
        printed.add(i);
        print(stepLine(w, i));
      }
    });
  };
  const finish = (outcome: 'completed' | 'blocked' | 'failed', code: number, why: string): number => {
    const path = service.finish(w, outcome, health);
    print(`checklist ${w.checklist.id} ${outcome}${why ? `: ${line1(why)}` : ''}\nreport: ${line1(path)} (ops report ${w.run})\n`);
    return code;
  };
  // what the headless runner replies in the operator's place; null: the step needs a person
  const PRE = 'pre-confirmed with --confirm';
  const replyTo = (need: Exclude<Need, { kind: 'done' }>, guard: number): WalkReply | 'refresh' | null => {
    const id = w.checklist.steps[need.index].id;
    switch (need.kind) {
      case 'waiting':
        return guard > 2 ? { kind: 'give-up' } : 'refresh';
      case 'check-failed':
      case 'note':
      case 'task':
      case 'task-stopped':
        return { kind: 'enter' };
      case 'gate-warn':
        // headless, nobody can type yes: only --confirm goes on past it
        return confirmed.has(id) ? { kind: 'text', text: 'yes', note: PRE } : { kind: 'end-blocked' };
      case 'gate-block':
        return { kind: 'end-blocked' };
      case 'confirm':
        return confirmed.has(id) ? { kind: 'enter', note: PRE } : null;
      case 'input':
        return inputs.has(id) ? { kind: 'text', text: inputs.get(id)! } : null;
      default: {
        // a new kind of Need fails to compile here until the headless runner answers it
        const unhandled: never = need;
        throw new Error(`checklist: no headless reply to a need of kind ${(unhandled as Need).kind}`);
      }
    }
  };
  for (let guard = 0; guard < 10_000; guard++) {
    const need: Need = w.advance(service.live(health), (r) => service.taskOutcome(r));
    flush();
    if (need.kind === 'done') {
      const bad = w.state.steps.filter((s) => s.status === 'failed' || s.status === 'unknown');
      return finish('completed', bad.length ? CHECKLIST_EXIT.checksFailed : CHECKLIST_EXIT.ok, bad.length ? `${bad.length} check${bad.length === 1 ? '' : 's'} did not pass (${bad.map((s) => line1(s.id)).join(', ')})` : 'every check passed');
    }
    const step = w.checklist.steps[need.index];
    const reply = replyTo(need, guard);
    if (reply === 'refresh') {
      health = await healthRound(settings);
      continue;
    }
    if (reply) {
      if (need.kind === 'waiting') health = await healthRound(settings);
      const a = w.answer(need, reply);
      switch (a.kind) {
        case 'refused':
          throw new UserError(a.error);
        case 'end': {
          // the gate is recorded blocked and stays open: the walkthrough is not ended, so a resume
          // starts at this gate (with --confirm for a warn gate, or once a block gate's condition holds)
          flush();
          print(stepLine(w, need.index));
          const seen = 'verdict' in need ? need.verdict.value : '';
          const how =
            need.kind === 'gate-warn'
              ? `a warn gate: --confirm ${step.id} goes on anyway: ops checklist resume ${w.run} --yes --confirm ${step.id}`
              : `a block gate: resume once it holds: ops checklist resume ${w.run} --yes`;
          print(`checklist ${w.checklist.id} stopped: gate "${line1(step.title)}" failed: ${line1(seen)} (${how}); the walkthrough stays open\n`);
          return CHECKLIST_EXIT.stopped;
        }
        case 'run-task': {
          const outcome = await runTaskStep(settings, service, w, a, print, out);
          flush();
          if (outcome !== 'succeeded') return finish('failed', CHECKLIST_EXIT.stopped, `task step "${step.title}" ${outcome}`);
          health = await healthRound(settings); // the task changed things: judge what follows on fresh data
          continue;
        }
        case 'recorded':
        case 'wait':
        case 'ask':
          // 'ask' and 'wait' cannot come of the replies above; advance again either way
          continue;
      }
    }
    // a manual step nobody pre-answered: stop here, resumable
    const left = manualLeft(w.checklist, need.index, confirmed, inputs);
    print(
      `checklist ${w.checklist.id} stopped at step ${need.index + 1}, "${line1(step.title)}": it needs a person.\n` +
        `Manual steps left:\n${left.join('\n')}\n` +
        `Pre-answer them (ops checklist resume ${w.run} --yes --confirm STEP ...), or finish in the console: ops checklist resume ${w.run}\n`,
    );
    return CHECKLIST_EXIT.manual;
  }
  throw new Error('checklist: the walkthrough did not settle');
}

export async function checklistRunCommand(settings: Settings, service: ChecklistService, name: string | undefined, flags: HeadlessFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (!name) throw new UsageError(`checklist run: name a checklist (${service.checklists().checklists.map((c) => c.id).join(', ')})`);
  const checklist = service.checklist(name);
  if (!flags.yes) {
    throw new UsageError(`checklist run ${name}: a headless walkthrough runs tasks without asking, so it needs --yes; to walk it step by step, run "ops checklist ${name}" at a terminal`);
  }
  preAnswers(checklist, flags); // bad flags fail before anything is journaled
  const health = await healthRound(settings);
  const w = service.begin(checklist.id, health);
  if (flags.capture) flags.capture.runId = w.run;
  out.write(`checklist ${line1(checklist.id)}: ${line1(checklist.title)} on ${line1(settings.target.display)} (walkthrough ${w.run})\n`);
  const { confirmed, inputs } = preAnswers(checklist, flags);
  const needs = needsUpFront(checklist, confirmed, inputs);
  if (needs.length) out.write(sanitizeText(`Needs a person (pre-answer with these flags, or the run stops there, resumable):\n${needs.join('\n')}\n`));
  return drive(settings, service, w, flags, out);
}

export async function checklistResumeHeadless(settings: Settings, service: ChecklistService, runPrefix: string, flags: HeadlessFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // bad flags fail before the resume is journaled
  preAnswers(service.checklist(findWalk(service.journal, runPrefix).checklist), flags);
  const w = service.resume(runPrefix);
  if (flags.capture) flags.capture.runId = w.run;
  out.write(`checklist ${line1(w.checklist.id)}: resuming walkthrough ${line1(w.run)} at step ${(w.current ?? w.checklist.steps.length) + 1}\n`);
  return drive(settings, service, w, flags, out);
}

/** `ops checklist show NAME`: the steps, for reading before a window. */
export function showChecklist(service: ChecklistService, name: string): string {
  const c = service.checklist(name);
  const lines = [`${line1(c.id)}: ${line1(c.title)}`, ...(c.description ? [`  ${line1(c.description)}`] : []), `  (${line1(c.source)})`, ''];
  c.steps.forEach((s, i) => {
    const what = kindWhat(s);
    const when = s.when ? ` [when ${'failed' in s.when ? `${s.when.failed} failed` : 'passed' in s.when ? `${s.when.passed} passed` : describeCondition(s.when.condition)}]` : '';
    lines.push(`${String(i + 1).padStart(3)}. ${line1(s.title)}  (${kindWord(s)}${s.required && s.kind !== 'gate' ? ', required' : ''}${line1(what)})${line1(when)}`);
  });
  return `${lines.join('\n')}\n`;
}

export function reportCommand(settings: Settings, service: ChecklistService, runPrefix: string | undefined): string {
  if (!runPrefix) {
    const walks = service.walks().slice(0, 20);
    if (walks.length === 0) return 'no checklist walkthrough in the journal yet\n';
    return `${walks.map((w) => `${line1(w.run)}  ${line1(w.checklist).padEnd(16)} ${line1(w.outcome).padEnd(10)} ${line1(redact(w.target, settings.target.secrets))}`).join('\n')}\n`;
  }
  // the report escapes each value it took in; this pass is the terminal's own guard
  return sanitizeText(redact(service.report(runPrefix).markdown, settings.target.secrets));
}
