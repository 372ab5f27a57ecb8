// The task model: what a maintenance task is, independent of how it is shown or run.
// A task has typed parameters, a risk level and ordered steps; each step is a command (argv,
// no shell unless it says so), SQL, or a small function of the core (file work), and has a
// rollback or is marked irreversible. Steps pass values forward through `values`.
import * as z from 'zod';
import type { Config } from '../config/schema';
import type { ResolvedTarget } from '../config/load';

import type { Risk } from '../risk';
export { RISKS, type Risk } from '../risk';

export interface RunContext {
  /** the validated parameters */
  params: Record<string, unknown>;
  /** values passed forward by earlier steps (and, in a rollback, by the step itself) */
  values: Record<string, unknown>;
  target: ResolvedTarget;
  config: Config;
}

/** What a step's function gets: output lines go to the run log and the screen. */
export interface StepIO {
  log(line: string, stream?: 'out' | 'err' | 'info'): void;
  /** aborted when the operator cancels */
  signal: AbortSignal;
  /** runs SQL on the task's connection (parameters bound, never interpolated) */
  sql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export type Action =
  | {
      kind: 'command';
      argv: string[];
      /** run through /bin/sh -c (argv[0] is then the script); only when the step says so */
      shell?: boolean;
      env?: Record<string, string>;
      cwd?: string;
    }
  | {
      kind: 'sql';
      text: string;
      /** bound parameters ($1, $2...); identifiers must be quoted with quoteIdent */
      values?: unknown[];
    }
  | {
      kind: 'fn';
      /** one line shown in the plan and journaled, e.g. "gzip 12 files in /var/log/app" */
      describe: string;
      run: (io: StepIO) => Promise<Record<string, unknown> | void>;
    };

export interface StepDef {
  id: string;
  title: string;
  action: (ctx: RunContext) => Action;
  /** undoes the step; ctx.values then includes what this step passed forward */
  rollback?: (ctx: RunContext) => Action;
  /** cannot be undone; always asks before it runs */
  irreversible?: boolean;
  /** default 10 minutes */
  timeoutMs?: number;
  /** turns the step's result into values passed forward */
  capture?: (result: StepResult) => Record<string, unknown>;
}

export interface StepResult {
  exitCode: number | null;
  /** the last lines of standard output (commands) */
  stdoutTail: string[];
  /** rows of the last statement (SQL) */
  rows: Record<string, unknown>[];
  /** what a function step returned */
  returned: Record<string, unknown>;
}

export interface TaskDef {
  id: string;
  title: string;
  description: string;
  risk: Risk;
  params: z.ZodType<Record<string, unknown>>;
  /** names of parameters whose values are secrets (redacted in plans and the journal) */
  secretParams?: string[];
  steps: StepDef[];
  /**
   * What a critical task's confirmation asks to be typed when it is not the database name: the
   * name of the one object the task destroys (a replication slot, a prepared transaction's gid).
   * Read through confirmWordFor, by the CLI prompt and the console's plan alike.
   */
  confirmWord?: (params: Record<string, unknown>) => ConfirmWord;
}

/** The word a critical task's confirmation wants typed exactly, and what it is ("the slot name"). */
export interface ConfirmWord {
  word: string;
  what: string;
}

/**
 * What a critical task asks the operator to type: the task's own word (the object it destroys),
 * else the database it works on: its `database` parameter when given, else the connection's.
 */
export function confirmWordFor(task: Pick<TaskDef, 'confirmWord'>, params: Record<string, unknown>, connectionDatabase: string): ConfirmWord {
  const own = task.confirmWord?.(params);
  if (own && own.word) return own;
  const db = typeof params.database === 'string' && params.database ? params.database : connectionDatabase;
  return { word: db, what: 'the database name' };
}

/** Quotes an SQL identifier ("my table" -> "\"my table\""). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes schema.name as two identifiers. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** One line describing an action, for the plan, the journal and the rollback prompt. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'command':
      return a.shell ? `sh -c ${JSON.stringify(a.argv[0])}` : a.argv.map(shellQuote).join(' ');
    case 'sql':
      return a.values?.length ? `${a.text}  -- with ${a.values.map((v) => JSON.stringify(v)).join(', ')}` : a.text;
    case 'fn':
      return a.describe;
    default: {
      // a new kind of Action fails to compile here until it is described
      const unhandled: never = a;
      throw new Error(`no description for an action of kind ${(unhandled as Action).kind}`);
    }
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an SQL string literal the way libpq's PQescapeLiteral does (E'' when it has a backslash). */
export function quoteLiteral(value: string): string {
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** A list parameter: `--param tables=a --param tables=b`, or one `--param tables=a` for a list of one. */
export function listParam<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item));
}
