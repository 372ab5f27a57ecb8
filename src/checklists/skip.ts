// Which steps may be skipped: a pure rule of the step model, read by the walkthrough's answer
// (answerStep) and by the console before it opens the prompt for a skip reason.
import type { ChecklistStep } from './model';

/** Why the step cannot be skipped, or null when it can (with a reason). */
export function skipRefusal(step: ChecklistStep): string | null {
  if (step.kind === 'gate') return 'a gate is not skipped: it passes, or (warn gates) is overridden with a typed yes';
  if (step.required) return `"${step.title}" is required: it cannot be skipped`;
  return null;
}
