// What the operator (or the headless runner, in their place) replies to a walkthrough step's
// need, and what becomes of the reply: the two sides of answerStep (walkthrough.ts), which the
// console's walk controller and `ops checklist run` speak. Also the check of an input step's
// typed value, which answerStep and the headless runner's --input both apply.
import { UserError } from '../config/load';
import type { ChecklistStep } from './model';

/**
 * What the operator (or the headless runner, for them) replies to the current step's need.
 * - `enter`: go on (confirm, read a note, record a failed check, run a task step, or ask for the
 *   text an input step or a warn gate needs); `note` goes to the journal with the outcome (the
 *   headless runner's "pre-confirmed with --confirm").
 * - `text`: the typed value of an input step, or the word typed at a warn gate ("yes"); `note`
 *   as above (a gate override's default is "operator typed yes").
 * - `skip`: skip the step; without `reason`, asks whether it may be skipped (refused, or `ask skip`).
 * - `end-blocked`: end the walkthrough at a failed gate (the console's x; headless at any failed
 *   gate not pre-confirmed): the gate is recorded blocked, with what was seen.
 * - `give-up`: stop waiting for the data a step needs (headless, after some rounds): recorded unknown.
 */
export type WalkReply =
  | { kind: 'enter'; note?: string }
  | { kind: 'text'; text: string; note?: string }
  | { kind: 'skip'; reason?: string }
  | { kind: 'end-blocked' }
  | { kind: 'give-up' };

/**
 * What became of a reply.
 * - `recorded`: an outcome (or a skip) was journaled; advance again.
 * - `ask`: collect text first (the input value, the yes at a gate, the skip reason), then answer
 *   again with `text` (or `skip` with its reason).
 * - `refused`: nothing recorded; `error` is the one line to show. `retype`: the typed text is
 *   dropped for a new try (a gate's word that is not yes); otherwise it is kept to be corrected.
 * - `wait`: the step waits on data (the next health round); `why` says what it waits for.
 * - `run-task`: the step runs a task: its id and parameters (taskStarted / taskEnded record it).
 * - `end`: the gate was recorded blocked; the walkthrough ends (ChecklistService.finish) blocked.
 */
export type WalkAnswer =
  | { kind: 'recorded' }
  | { kind: 'ask'; what: 'input' | 'gate' | 'skip' }
  | { kind: 'refused'; error: string; retype?: boolean }
  | { kind: 'wait'; why: string }
  | { kind: 'run-task'; index: number; taskId: string; params: Record<string, unknown> }
  | { kind: 'end'; outcome: 'blocked' };

/** An input step's value, checked against its pattern; throws a one-line error when it does not match. */
export function checkInput(step: ChecklistStep, value: string): string {
  const v = value.trim();
  if (step.kind !== 'input') return v;
  if (!v) throw new UserError(`"${step.title}" needs a value${step.example ? ` (e.g. ${step.example})` : ''}`);
  if (step.pattern && !new RegExp(step.pattern).test(v)) throw new UserError(`"${v}" does not match ${step.pattern}${step.example ? ` (e.g. ${step.example})` : ''}`);
  return v;
}
