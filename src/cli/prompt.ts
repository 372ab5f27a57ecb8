// The CLI's questions at a terminal: one Prompter, one readline implementation of it. Each
// question opens its own readline interface and closes it once answered, so that between
// questions the terminal is not in raw mode (Ctrl-C during a run still reaches the process as
// SIGINT, which cancels the step). A Prompter never asks without a terminal: the callers check
// for one first and keep their own refusals ("run it at a terminal, or pass --yes").
import { createInterface } from 'node:readline/promises';
import type { Confirmation } from '../tasks/confirm';
import { sanitizeLine } from '../util/sanitize';

/** The questions a confirmation asks (see confirmationFor / confirmationForRollback). */
export interface ConfirmQuestions {
  /** the y/N question, e.g. "Run it? [y/N] " */
  yesNo: string;
  /** the question asking for the word; default: `Type WHAT (WORD) to go on: ` */
  typeWord?: string;
}

export interface Prompter {
  /** a y/N question: true for y or yes (any case, spaces around ignored) */
  confirm(question: string): Promise<boolean>;
  /** true when exactly `word` is typed (spaces around ignored); `question` defaults to `Type WHAT (WORD) to go on: ` */
  typeWord(word: string, what: string, question?: string): Promise<boolean>;
  /** asks what the policy says: 'none' answers true without asking, 'yes-no' confirm(), 'type-word' typeWord() */
  confirmAs(c: Confirmation, questions: ConfirmQuestions): Promise<boolean>;
  /**
   * Which rollbacks to run, of `items` (newest first, as listed 1..n): a or all → every one;
   * empty, n or none → none; else the numbers listed (e.g. "1,2" or "1 3"), unknown numbers left out.
   * Returns the chosen items' `step`, in the order typed.
   */
  chooseRollbacks(items: readonly { step: string }[], question?: string): Promise<string[]>;
  /** true for c or continue (any case), anything else is quit */
  continueOrQuit(question: string): Promise<boolean>;
}

export const YES = /^y(es)?$/i;

/** The default question of a typed-word confirmation. */
export function typeWordQuestion(word: string, what: string): string {
  return `Type ${what} (${sanitizeLine(word)}) to go on: `;
}

export const CHOOSE_ROLLBACKS = 'Roll back [a]ll, [n]one, or list the numbers (e.g. 1,2): ';

/** The steps a typed rollback choice picks (see Prompter.chooseRollbacks). */
export function chosenRollbacks(answer: string, items: readonly { step: string }[]): string[] {
  const a = answer.trim().toLowerCase();
  if (a === 'a' || a === 'all') return items.map((p) => p.step);
  if (a === '' || a === 'n' || a === 'none') return [];
  return a
    .split(/[ ,]+/)
    .map((n) => items[Number(n) - 1]?.step)
    .filter((s): s is string => !!s);
}

/** A Prompter over any function that asks one question and resolves with the typed line. */
export function promptWith(ask: (question: string) => Promise<string>): Prompter {
  const p: Prompter = {
    async confirm(question) {
      return YES.test((await ask(question)).trim());
    },
    async typeWord(word, what, question) {
      return (await ask(question ?? typeWordQuestion(word, what))).trim() === word;
    },
    async confirmAs(c, questions) {
      switch (c.kind) {
        case 'none':
          return true;
        case 'yes-no':
          return p.confirm(questions.yesNo);
        case 'type-word':
          return p.typeWord(c.word, c.what, questions.typeWord);
      }
    },
    async chooseRollbacks(items, question = CHOOSE_ROLLBACKS) {
      return chosenRollbacks(await ask(question), items);
    },
    async continueOrQuit(question) {
      const a = (await ask(question)).trim().toLowerCase();
      return a === 'c' || a === 'continue';
    },
  };
  return p;
}

/**
 * The terminal's Prompter: questions on `output` (stdout, as ops has always asked), answers
 * from `input` (stdin). Refuses (throws) when `input` is not a terminal; callers check first.
 */
export function readlinePrompter(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Prompter {
  return promptWith(async (question) => {
    if (!input.isTTY) throw new Error('no terminal to ask at');
    const rl = createInterface({ input, output });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  });
}
