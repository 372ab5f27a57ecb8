// The task part of the console's controller (screens/controller.ts): the task list, a task's
// parameter form, its plan (bound to the task and its parameters as the service validated
// them), the confirmation, and starting the run or giving up its start.
import { errorLine } from '../../src/errors';
import { confirmationFor } from '../../src/tasks/confirm';
import type { Choice, TaskDef } from '../../src/tasks/model';
import type { PlanStep, TaskPlan } from '../../src/tasks/service';
import type { FixRef } from '../../src/types';
import type { CommandContext } from '../command-context';
import { paramFields, paramsFromForm } from './model';
import { runRoute } from './run-commands';
import { planBlocked, type ChecklistBack, type ParamsRoute, type PlanRoute, type TasksRoute } from './state';

/** What a plan opened from the sessions view carries besides its task: where it goes back to, its preface, an alternative. */
export type PlanExtra = Pick<PlanRoute, 'fromSessions' | 'preface' | 'alternative'>;

export type PlanCommands = ReturnType<typeof planCommands>;

export function planCommands(c: CommandContext) {
  const { openTasks, openTask, planOf, fix, leavePlan, submitForm, takeAlternative, moveField } = planning(c);
  const { start, giveUpStart, confirmWord } = starting(c);
  return { openTasks, openTask, planOf, fix, start, giveUpStart, leavePlan, submitForm, confirmWord, takeAlternative, moveField };
}

/** From the task list to a plan: the list, a task's form, the plan of a task, a fix, and back. */
function planning(c: CommandContext) {
  const { deps, apply, go } = c;

  function openTasks(): void {
    const svc = deps.service;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      go({ screen: 'tasks', tasks, errors, sel: 0 });
    } catch (err) {
      apply({ type: 'notice', text: `tasks: ${errorLine(err)}` });
    }
  }

  function openTask(from: TasksRoute, task: TaskDef): void {
    const fields = paramFields(task);
    if (fields.length === 0) return toPlan(from, null, task, {});
    let defaults: Record<string, string> = {};
    try {
      defaults = deps.service?.paramDefaults?.(task.id) ?? {};
    } catch {
      // no defaults to show: the form still works, the service applies them
    }
    const form: ParamsRoute = { screen: 'params', from, task, fields, values: {}, focus: 0, error: null, ...(Object.keys(defaults).length ? { defaults } : {}) };
    go(form);
    askChoices(form);
  }

  /** To the next or previous field, and its pick list asked for. */
  function moveField(r: ParamsRoute, delta: number): void {
    apply({ type: 'field', delta });
    const now = c.route();
    if (now.screen === 'params') askChoices(now);
  }

  /**
   * The focused field's pick list, when its task has one for it (drop-index's index), asked of
   * the service (read-only; the screens never query): its answer goes to the form only while that
   * field is still focused. The values typed so far go with it (a database chosen first).
   */
  function askChoices(r: ParamsRoute): void {
    const svc = deps.service;
    const field = r.fields[r.focus]?.name;
    if (!svc?.choices || !field || !r.task.choices?.[field]) return;
    const task = r.task.id;
    apply({ type: 'choices', task, pick: { field, state: 'reading' } });
    let asked: Promise<Choice[]>;
    try {
      asked = svc.choices(task, field, paramsFromForm(r.task, r.values));
    } catch (err) {
      asked = Promise.reject(err);
    }
    asked.then(
      (items) => apply({ type: 'choices', task, pick: { field, state: 'read', items, sel: null } }),
      (err: unknown) => apply({ type: 'choices', task, pick: { field, state: 'failed', error: errorLine(err) } }),
    );
  }

  /** The plan for these parameters, or back to the form with the service's one-line error. */
  function toPlan(from: TasksRoute, form: ParamsRoute | null, task: TaskDef, params: Record<string, unknown>, checklist?: ChecklistBack, fromDashboard = false, extra: PlanExtra = {}): void {
    const svc = deps.service!;
    try {
      const steps = svc.plan(task.id, params);
      // bound to the parameters as the task reads them (svc.plan has just validated them)
      const parsed = task.params.safeParse(params);
      const confirm = confirmationFor(task, { params: parsed.success ? (parsed.data as Record<string, unknown>) : params, steps }, svc.databaseName);
      const fromSessions = extra.fromSessions;
      const reads = typeof svc.preview === 'function';
      go({
        screen: 'plan',
        from,
        form,
        task,
        params,
        steps,
        confirm,
        typed: '',
        error: null,
        starting: false,
        top: 0,
        ...(checklist ? { checklist } : {}),
        ...(fromDashboard && !fromSessions ? { fromDashboard } : {}),
        ...(fromSessions ? { fromSessions } : {}),
        ...(extra.preface?.length ? { preface: extra.preface } : {}),
        ...(extra.alternative ? { alternative: extra.alternative } : {}),
        ...(reads ? { reading: { state: 'reading' as const } } : {}),
      });
      if (reads) readPlan(task, params, parsed.success ? (parsed.data as Record<string, unknown>) : params);
    } catch (err) {
      if (checklist) {
        go(checklist.route);
        apply({ type: 'error', error: `${task.id}: ${errorLine(err)}` });
        return;
      }
      const base: ParamsRoute = form ?? { screen: 'params', from, task, fields: [], values: {}, focus: 0, error: null };
      go({ ...base, error: errorLine(err) });
    }
  }

  /**
   * The plan's read-only reading, asked of the service (it queries; the screens never do): its
   * answer goes into the plan's route, if that plan is still the one shown.
   */
  function readPlan(task: TaskDef, params: Record<string, unknown>, parsed: Record<string, unknown>): void {
    const svc = deps.service!;
    let asked: Promise<TaskPlan>;
    try {
      asked = svc.preview!(task.id, params);
    } catch (err) {
      asked = Promise.reject(err);
    }
    asked.then(
      (plan) => {
        const f = plan.findings;
        const steps: PlanStep[] = plan.steps;
        const confirm = confirmationFor(task, { params: parsed, steps }, svc.databaseName);
        apply({ type: 'plan-read', params, steps, confirm, reading: { state: 'read', lines: f?.lines ?? [], refusal: f?.refusal ?? null } });
      },
      (err: unknown) => apply({ type: 'plan-read', params, reading: { state: 'failed', error: errorLine(err) } }),
    );
  }

  /** The plan of a task by its id: from the dashboard (f, c / x on a session), the sessions view (extra) or a walkthrough's task step. */
  function planOf(taskId: string, params: Record<string, unknown>, back?: ChecklistBack, extra?: PlanExtra): void {
    const svc = deps.service;
    if (!svc) return;
    try {
      const { tasks, errors } = svc.tasks();
      const sel = tasks.findIndex((t) => t.id === taskId);
      if (sel < 0) throw new Error(back ? `unknown task ${taskId}` : `no task ${taskId}`);
      toPlan({ screen: 'tasks', tasks, errors, sel }, null, tasks[sel], params, back, !back, extra);
    } catch (err) {
      if (back) apply({ type: 'error', error: errorLine(err) });
      else apply({ type: 'notice', text: `${taskId}: ${errorLine(err)}` });
    }
  }

  function fix(offer: FixRef | null, subject: string): void {
    if (!deps.service) return;
    if (offer) planOf(offer.task, offer.params);
    else apply({ type: 'notice', text: `no finding in ${subject} that a built-in task fixes: Tab to the panel with one` });
  }

  /** Where Esc goes from a plan. */
  function leavePlan(r: PlanRoute, notRun = false): void {
    go(r.checklist?.route ?? r.fromSessions ?? (r.fromDashboard ? { screen: 'dashboard' } : (r.form ?? r.from)));
    if (notRun) apply({ type: 'notice', text: `${r.task.id} was not run` });
  }

  function submitForm(r: ParamsRoute): void {
    toPlan(r.from, { ...r, error: null }, r.task, paramsFromForm(r.task, r.values));
  }

  /** The plan offered instead of this one (its own confirmation), going back where this one would. */
  function takeAlternative(r: PlanRoute): void {
    const alt = r.alternative;
    if (!alt) return;
    planOf(alt.taskId, alt.params, undefined, { fromSessions: r.fromSessions, preface: alt.preface });
  }

  return { openTasks, openTask, planOf, fix, leavePlan, submitForm, takeAlternative, moveField };
}

/** From a plan to its run: the confirmation, the start, and giving up a start. */
function starting(c: CommandContext) {
  const { deps, apply, go, now } = c;
  let startAbort: AbortController | null = null;

  /** The plan shown was for this task and these parameters (never a row index): starts them. */
  function start(r: PlanRoute): void {
    const svc = deps.service!;
    // its reading refused it, failed, or has not answered yet: nothing to confirm
    const blocked = planBlocked(r);
    if (blocked) return apply({ type: 'notice', text: blocked });
    const abort = new AbortController();
    startAbort = abort;
    apply({ type: 'starting', on: true });
    svc.start(r.task.id, r.params, abort.signal).then(
      (handle) => {
        startAbort = null;
        // a notice about the start (q does not quit now) no longer holds
        apply({ type: 'notice', text: null });
        if (r.checklist) {
          const back: ChecklistBack = { ...r.checklist, startedAt: now() };
          try {
            c.walk().taskStarted(back, handle);
          } catch (err) {
            apply({ type: 'notice', text: `the walkthrough could not record the run: ${errorLine(err)}` });
          }
          return go(runRoute(handle, back));
        }
        go(runRoute(handle, r.fromSessions ?? (r.fromDashboard ? { screen: 'dashboard' } : r.from)));
      },
      (err: unknown) => {
        startAbort = null;
        apply({ type: 'starting', on: false });
        apply({ type: 'notice', text: null });
        apply({ type: 'error', error: abort.signal.aborted ? `${r.task.id} was not started: given up while connecting (nothing ran)` : errorLine(err) });
      },
    );
  }

  /** Gives up a start still connecting or waiting for the lock (a server that does not answer). */
  function giveUpStart(): void {
    startAbort?.abort();
  }

  function confirmWord(r: PlanRoute): void {
    if (r.confirm.kind !== 'type-word') return;
    const { word, what } = r.confirm;
    if (r.typed === word) return start(r);
    apply({ type: 'error', error: r.typed ? `"${r.typed}" is not ${what}: type ${word} exactly, or Esc` : `type ${word} to run it, or Esc` });
  }

  return { start, giveUpStart, confirmWord };
}
