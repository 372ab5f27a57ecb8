// The plan's reading: a task's read-only planning (TaskDef.plan), run before the plan is shown
// and before anything runs. Its statements go to a connection of its own, opened on the first
// one, where every statement is a READ ONLY transaction (default_transaction_read_only) bounded
// by the task's connection timeouts on both sides (statement_timeout and lock_timeout on the
// server, the guarded client's deadline here). `ops run` (--dry-run, the confirmation, the run
// itself) and the console's task service all read a plan through readPlan.
import type pg from 'pg';
import type { Config } from '../config/schema';
import type { ResolvedTarget } from '../config/load';
import { closeClient } from '../util/db';
import { redact } from '../util/redact';
import type { Choice, PlanFindings, PlanIO, TaskDef } from './model';

export interface PlanReadOptions {
  target: ResolvedTarget;
  config: Config;
  /** opens the plan's connection (bounded); called on the plan's first statement only */
  connect?: () => Promise<pg.Client>;
  /** statement_timeout and lock_timeout of the plan's statements */
  statementTimeoutMs: number;
}

/** The settings of the plan's connection: nothing it runs can change the target. */
export function readOnlySetup(statementTimeoutMs: number): string {
  const ms = Math.max(1, Math.round(statementTimeoutMs));
  return `SET default_transaction_read_only = on; SET statement_timeout = ${ms}; SET lock_timeout = ${ms}`;
}

/** Runs `fn` with read-only SQL on a connection of its own, opened on its first statement and closed after. */
async function withReadOnlySql<T>(opts: PlanReadOptions, fn: (sql: PlanIO['sql']) => Promise<T>): Promise<T> {
  let client: pg.Client | null = null;
  let opening: Promise<pg.Client> | null = null;
  const open = async (): Promise<pg.Client> => {
    if (!opts.connect) throw new Error('no database connection is configured');
    const c = await opts.connect();
    c.on('error', () => undefined);
    client = c;
    await c.query(readOnlySetup(opts.statementTimeoutMs));
    return c;
  };
  try {
    return await fn(async (text, values) => {
      opening ??= open();
      const c = await opening;
      const r = await c.query({ text, values: values as unknown[] | undefined });
      return { rows: (r.rows ?? []) as Record<string, unknown>[] };
    });
  } finally {
    if (opening) await (opening as Promise<pg.Client>).catch(() => null);
    await closeClient(client, 500);
  }
}

/**
 * Reads the plan of a task with these (validated) parameters; null for a task with no reading.
 * A reading that fails (no connection, a query error) refuses the run, saying why in one line:
 * a plan that could not be read is not a plan to act on.
 */
export async function readPlan(task: Pick<TaskDef, 'id' | 'plan'>, params: Record<string, unknown>, opts: PlanReadOptions): Promise<PlanFindings | null> {
  const plan = task.plan;
  if (!plan) return null;
  try {
    const findings = await withReadOnlySql(opts, (sql) => plan({ params, target: opts.target, config: opts.config, sql }));
    return {
      lines: findings.lines.map((l) => clean(l, opts.target)),
      ...(findings.refusal ? { refusal: clean(oneLine(findings.refusal), opts.target) } : {}),
      ...(findings.values ? { values: findings.values } : {}),
      ...(findings.choices ? { choices: cleanChoices(findings.choices, opts.target) } : {}),
    };
  } catch (err) {
    return { lines: [], refusal: clean(`the plan could not read ${opts.target.display}: ${oneLine((err as Error).message)}`, opts.target) };
  }
}

/**
 * A parameter's pick list (TaskDef.choices), read-only, for the console's form: drop-index's
 * unused and invalid indexes with their sizes. Empty for a parameter with none; a failure throws
 * one line.
 */
export async function readChoices(task: Pick<TaskDef, 'id' | 'choices'>, param: string, params: Record<string, unknown>, opts: PlanReadOptions): Promise<Choice[]> {
  const list = task.choices?.[param];
  if (!list) return [];
  try {
    const items = await withReadOnlySql(opts, (sql) => list({ params, target: opts.target, config: opts.config, sql }));
    return cleanChoices({ param, items }, opts.target).items;
  } catch (err) {
    throw new Error(clean(`${task.id}: the choices for ${param} could not be read from ${opts.target.display}: ${oneLine((err as Error).message)}`, opts.target));
  }
}

function cleanChoices(c: { param: string; items: Choice[] }, target: ResolvedTarget): { param: string; items: Choice[] } {
  return { param: c.param, items: c.items.map((i) => ({ value: clean(i.value, target), label: clean(oneLine(i.label), target) })) };
}

function clean(s: string, target: ResolvedTarget): string {
  return redact(s, target.secrets);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
