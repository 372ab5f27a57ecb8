// The task model: what a maintenance task is, independent of how it is shown or run.
// A task has typed parameters, a risk level and ordered steps; each step is a command (argv,
// no shell unless it says so), SQL, or a small function of the core (file work), and has a
// rollback or is marked irreversible. Steps pass values forward through `values`.
import * as z from 'zod';
import type { Config } from '../config/schema';
import type { ResolvedTarget } from '../config/load';
import type { StepProgress } from './progress';

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
      /** what its own output says of its progress (pg_dump --verbose, pg_restore --verbose) */
      progress?: CommandProgress;
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

/**
 * How a command step reports its progress (src/tasks/command-progress.ts): tables done of a total
 * counted read-only by a step before it, from the command's own standard error, and the size of
 * the file it writes.
 */
export interface CommandProgress {
  source: StepProgress['source'];
  /** the tables it will process (a value passed forward); null: unknown, only the count is shown */
  total: number | null;
  /**
   * One line of its standard error: the table it starts on, its own verbose chatter (logged as
   * info, not as an error), or anything else (null: logged as it comes, as an error line).
   */
  line(line: string): CommandLine;
  /** the file it writes: its size is read at most once a second ("12 MB written") */
  file?: string;
}

/** What a command's line says (CommandProgress.line). */
export type CommandLine = { table: string } | { verbose: string } | null;

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
  /**
   * Its rollback only deletes what the run itself produced (a backup's dump and checksum): a
   * succeeded run whose pending undos all say so needs no attention (runsNeedingAttention); it
   * stays in the history, and its undo can still be run from there.
   */
  discardsOutput?: boolean;
  /**
   * Its rollback only clears what a failed or cancelled attempt leaves behind (REINDEX
   * CONCURRENTLY's INVALID _ccnew indexes): once the run succeeded, it has nothing of the step to
   * undo, so such a run needs no attention either. It stays in the history.
   */
  cleanupOnly?: boolean;
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
  /**
   * The plan's reading: read-only queries run before the plan is shown and before anything runs
   * (`ops run --dry-run`, the confirmation, the console's plan), on a connection of their own
   * where every statement is a READ ONLY transaction under the task's connection timeouts. It
   * says what the plan found (`work_mem 4MB → 64MB`), refuses a run that cannot go well (one
   * line), and may offer a pick list. Run through readPlan (src/tasks/plan-read.ts) only.
   */
  plan?: (io: PlanIO) => Promise<PlanFindings>;
  /**
   * Pick lists by parameter, read the same read-only way (readChoices), for a form to offer
   * before the parameter is given: drop-index's and reindex-concurrently's unused and invalid
   * indexes with their sizes. `io.params` holds what is given so far, unvalidated.
   */
  choices?: Record<string, (io: PlanIO) => Promise<Choice[]>>;
  /**
   * Defaults of parameters that come from the configuration or the target rather than the schema
   * (backup's dir is backup.dir), as the form shows them. Read through paramDefaults.
   */
  paramDefaults?: (ctx: Pick<RunContext, 'config' | 'target'>) => Record<string, string | undefined>;
  /**
   * One line saying what a run changed (`work_mem 4MB → 64kB`), from its journaled values only:
   * `values` merges what its succeeded steps passed forward, in order, `params` the run's
   * parameters. Null when it has nothing to say. Read through runChanged (src/tasks/attention.ts).
   */
  changed?: (values: Record<string, unknown>, params: Record<string, unknown>) => string | null;
}

/** What a task's plan reading gets: its parameters, the target, and read-only SQL. */
export interface PlanIO {
  params: Record<string, unknown>;
  target: ResolvedTarget;
  config: Config;
  /**
   * One statement in a READ ONLY transaction of its own (bound parameters), on the plan's
   * connection, opened on first use. A statement that would change anything is refused by the
   * server.
   */
  sql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** One value a parameter can take, offered as a pick list: an unused index with its size. */
export interface Choice {
  /** the parameter's value, e.g. public.orders_note_idx */
  value: string;
  /** one line saying what it is: "public.orders_note_idx on public.orders: 16 kB, never used" */
  label: string;
}

/** What a plan reading found. */
export interface PlanFindings {
  /** one line each, shown above the steps: `work_mem 4MB → 64MB` */
  lines: string[];
  /** set when the task must not run: one line naming what is wrong (and what is allowed) */
  refusal?: string;
  /**
   * values as the steps would capture them now, to describe the plan's steps and undos; the
   * run reads them again when its steps run, and the journal keeps what they read then
   */
  values?: Record<string, unknown>;
  /** a pick list for one parameter (drop-index's index: unused and invalid indexes, with sizes) */
  choices?: { param: string; items: Choice[] };
}

/** The object shape of a task's parameters: a ZodObject's, or the one inside a pipe, refinement or preprocess. */
export function paramShape(schema: unknown, depth = 0): Record<string, z.ZodType> | null {
  if (!schema || typeof schema !== 'object' || depth > 5) return null;
  const s = schema as { shape?: unknown; def?: { in?: unknown; innerType?: unknown; schema?: unknown }; _zod?: { def?: { in?: unknown; innerType?: unknown; schema?: unknown } } };
  if (s.shape && typeof s.shape === 'object') return s.shape as Record<string, z.ZodType>;
  const def = s.def ?? s._zod?.def;
  return paramShape(def?.in, depth + 1) ?? paramShape(def?.innerType, depth + 1) ?? paramShape(def?.schema, depth + 1);
}

/**
 * Each parameter's default, as text for the console's form: the schema's default (vacuum-analyze's
 * minDeadTuples 1000), else the task's own from the configuration or the target (backup's dir is
 * backup.dir, its database the connection's). A parameter with no default is left out.
 */
export function paramDefaults(task: Pick<TaskDef, 'params' | 'paramDefaults'>, ctx: Pick<RunContext, 'config' | 'target'>): Record<string, string> {
  const out: Record<string, string> = {};
  const own = task.paramDefaults?.(ctx) ?? {};
  for (const [name, field] of Object.entries(paramShape(task.params) ?? {})) {
    let value: unknown;
    try {
      const r = field.safeParse(undefined);
      value = r.success ? r.data : undefined;
    } catch {
      value = undefined;
    }
    if (value === undefined) value = own[name];
    if (value === undefined || value === null) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return out;
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
