// The one confirmation policy: what an operator must answer before a task runs (or before a past
// run's rollbacks run), by the task's risk and its irreversible steps. The CLI's prompts and the
// console's plan screen both ask what this says; neither decides it on its own.
import { confirmWordFor, type ConfirmWord, type Risk, type TaskDef } from './model';

export { confirmWordFor, type ConfirmWord };

/**
 * What to ask before going on.
 * - `none`: nothing; the task runs (low risk, no irreversible step).
 * - `yes-no`: a y/N question; `irreversible` says the task has an irreversible step (the CLI
 *   then says so in its question, the console marks it on the plan).
 * - `type-word`: the operator types `word` exactly; `what` names it ("the database name",
 *   "the slot name").
 */
export type Confirmation =
  | { kind: 'none' }
  | { kind: 'yes-no'; irreversible: boolean }
  | { kind: 'type-word'; word: string; what: string };

/** What the policy reads of a plan: its parameters (as the task reads them) and its steps. */
export interface ConfirmPlan {
  params: Record<string, unknown>;
  steps: readonly { irreversible?: boolean }[];
}

/**
 * Before a run: low risk with no irreversible step asks nothing; medium, high, or any
 * irreversible step asks y/N; critical asks for the word typed (confirmWordFor: the object the
 * task destroys, else the database: its `database` parameter, else `database`, the connection's).
 */
export function confirmationFor(task: Pick<TaskDef, 'risk' | 'confirmWord'>, plan: ConfirmPlan, database: string): Confirmation {
  if (task.risk === 'critical') return { kind: 'type-word', ...confirmWordFor(task, plan.params, database) };
  const irreversible = plan.steps.some((s) => s.irreversible === true);
  if (task.risk === 'low' && !irreversible) return { kind: 'none' };
  return { kind: 'yes-no', irreversible };
}

/**
 * Before a past run's rollbacks run: they always ask (an undo changes the target too), y/N, or
 * for a critical task the connection's database name typed. Never 'none'.
 */
export function confirmationForRollback(task: { risk: Risk }, database: string): Exclude<Confirmation, { kind: 'none' }> {
  if (task.risk === 'critical') return { kind: 'type-word', word: database, what: 'the database name' };
  return { kind: 'yes-no', irreversible: false };
}
