// analyze and vacuum-analyze: refresh planner statistics, and reclaim dead tuples.
//
// analyze (low risk)
//   1. tables    resolve the given tables (default: every user table) in the catalog
//   2. analyze   ANALYZE VERBOSE "schema"."table", one table at a time
// vacuum-analyze (medium risk: VACUUM reads whole tables and adds I/O load while it runs)
//   1. pick      the given tables, or those over the dead-tuple thresholds in pg_stat_user_tables
//   2. vacuum    VACUUM (VERBOSE, ANALYZE) "schema"."table", one table at a time
//
// Neither has a rollback, and neither is irreversible: they change no data, only statistics and
// free space inside the tables, so there is nothing to undo. Both stream the server's VERBOSE
// messages into the run log.
//
// Table names: "schema.table" as the console shows them; the parts are exact names (no case
// folding). Double quotes, SQL style, are needed only for a name holding a dot or a quote:
// "my.schema"."Odd ""Name""". Without a schema, the table is looked up along the search_path.
import * as z from 'zod';
import { listParam, quoteIdent, quoteQualified, type PlanFindings, type PlanIO, type RunContext, type StepIO, type TaskDef } from '../src/tasks/model';

type Sql = StepIO['sql'];

export interface TableRef {
  schema: string | null;
  table: string;
}

/** Parses "schema.table" / "table" / "\"sch.ema\".\"Odd Name\"" into its parts; null when malformed. */
export function parseTableName(input: string): TableRef | null {
  const s = input.trim();
  if (!s) return null;
  const readPart = (from: number): { name: string; end: number } | null => {
    if (s[from] !== '"') {
      const dot = s.indexOf('.', from);
      return { name: s.slice(from, dot === -1 ? s.length : dot), end: dot === -1 ? s.length : dot };
    }
    let name = '';
    let i = from + 1;
    for (;;) {
      if (i >= s.length) return null; // unterminated quote
      if (s[i] === '"') {
        if (s[i + 1] === '"') {
          name += '"';
          i += 2;
          continue;
        }
        return { name, end: i + 1 };
      }
      name += s[i++];
    }
  };
  const first = readPart(0);
  if (!first || !first.name) return null;
  if (first.end === s.length) return { schema: null, table: first.name };
  if (s[first.end] !== '.') return null;
  const rest = s.slice(first.end + 1);
  if (!rest) return null;
  // the table part: quoted (exactly one identifier) or the whole remainder, dots included
  if (rest.startsWith('"')) {
    const second = readPart(first.end + 1);
    if (!second || !second.name || second.end !== s.length) return null;
    return { schema: first.name, table: second.name };
  }
  return { schema: first.name, table: rest };
}

export function displayName(t: { schema: string; table: string }): string {
  return `${t.schema}.${t.table}`;
}

const tableName = z.string().min(1).refine((s) => parseTableName(s) !== null, 'a table as schema.table (double quotes around a part holding a dot)');

interface Resolved {
  schema: string;
  table: string;
}

/** Finds each named table (ordinary, partitioned or materialized view); fails naming the missing. */
async function resolveTables(io: { sql: Sql }, names: string[]): Promise<Resolved[]> {
  const found: Resolved[] = [];
  const missing: string[] = [];
  for (const raw of names) {
    const ref = parseTableName(raw)!;
    const r = await io.sql(
      `SELECT n.nspname AS schema, c.relname AS table
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = $2::text AND c.relkind IN ('r', 'p', 'm')
          AND (n.nspname = $1::text OR ($1::text IS NULL AND n.nspname = ANY (current_schemas(false))))
        ORDER BY array_position(current_schemas(false), n.nspname::text) NULLS LAST
        LIMIT 1`,
      [ref.schema, ref.table],
    );
    const row = r.rows[0];
    if (!row) missing.push(raw);
    else if (!found.some((f) => f.schema === row.schema && f.table === row.table)) found.push({ schema: String(row.schema), table: String(row.table) });
  }
  if (missing.length) throw new Error(`no such table: ${missing.join(', ')}`);
  return found;
}

/** Every user table worth analyzing: not partitions (ANALYZE on the parent covers them). */
async function allTables(io: { sql: Sql }): Promise<Resolved[]> {
  const r = await io.sql(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      ORDER BY 1, 2`,
  );
  return r.rows.map((row) => ({ schema: String(row.schema), table: String(row.table) }));
}

function chosen(ctx: RunContext): Resolved[] | null {
  return (ctx.values.tables as Resolved[] | undefined) ?? null;
}

/** The statements a step will run, for the plan: known exactly once step 1 resolved the tables. */
function describeEach(ctx: RunContext, verb: string): string {
  const tables = chosen(ctx);
  const given = ctx.params.tables as string[] | undefined;
  const list =
    tables?.map((t) => quoteQualified(t.schema, t.table)) ??
    given?.map((g) => {
      const ref = parseTableName(g)!;
      return ref.schema === null ? quoteIdent(ref.table) : quoteQualified(ref.schema, ref.table);
    });
  if (!list) return `${verb} each table chosen by step 1`;
  if (!list.length) return `${verb}: no table chosen by step 1, nothing to do`;
  const shown = list.slice(0, 5).map((q) => `${verb} ${q}`);
  return `${shown.join('; ')}${list.length > 5 ? `; … ${list.length - 5} more` : ''}`;
}

async function eachTable(io: StepIO, tables: Resolved[], sql: (q: string) => string): Promise<void> {
  for (let i = 0; i < tables.length; i++) {
    if (io.signal.aborted) throw new Error('cancelled');
    const t = tables[i];
    const text = sql(quoteQualified(t.schema, t.table));
    io.log(`(${i + 1}/${tables.length}) ${text}`, 'info');
    await io.sql(text);
  }
}

const LONG = 6 * 3600_000;

interface DeadRow {
  schema: string;
  table: string;
  live: number;
  dead: number;
  pct: number;
}

/** The tables over both dead-tuple thresholds (pg_stat_user_tables), most dead rows first. */
async function overThresholds(sql: Sql, minDead: number, minPct: number): Promise<DeadRow[]> {
  const r = await sql(
    `SELECT schemaname AS schema, relname AS table, n_live_tup::bigint AS live, n_dead_tup::bigint AS dead,
            round(n_dead_tup * 100.0 / greatest(n_live_tup + n_dead_tup, 1), 1)::float8 AS pct
       FROM pg_stat_user_tables
      WHERE n_dead_tup >= $1::bigint
        AND n_dead_tup * 100.0 / greatest(n_live_tup + n_dead_tup, 1) >= $2::float8
      ORDER BY n_dead_tup DESC`,
    [minDead, minPct],
  );
  return r.rows.map(deadRow);
}

/** The dead rows of the given tables, in their order (a table with no statistics yet: 0). */
async function deadRowsOf(sql: Sql, tables: Resolved[]): Promise<DeadRow[]> {
  if (!tables.length) return [];
  const r = await sql(
    `SELECT t.schema, t.table, coalesce(s.n_live_tup, 0)::bigint AS live, coalesce(s.n_dead_tup, 0)::bigint AS dead,
            round(coalesce(s.n_dead_tup, 0) * 100.0 / greatest(coalesce(s.n_live_tup, 0) + coalesce(s.n_dead_tup, 0), 1), 1)::float8 AS pct
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema, "table", ord)
       LEFT JOIN pg_stat_user_tables s ON s.schemaname = t.schema AND s.relname = t.table
      ORDER BY t.ord`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  return r.rows.map(deadRow);
}

function deadRow(row: Record<string, unknown>): DeadRow {
  return { schema: String(row.schema), table: String(row.table), live: Number(row.live), dead: Number(row.dead), pct: Number(row.pct) };
}

/** `public.events: 9000 dead rows, 1000 live (90% dead)` */
function deadLine(d: DeadRow): string {
  return `${d.schema}.${d.table}: ${d.dead} dead rows, ${d.live} live (${d.pct}% dead)`;
}

/** vacuum-analyze's plan, read-only: the tables it will vacuum, each with its dead rows. */
async function planVacuum(io: PlanIO): Promise<PlanFindings> {
  const given = io.params.tables as string[] | undefined;
  const minDead = Number(io.params.minDeadTuples ?? 1000);
  const minPct = Number(io.params.minDeadPct ?? 20);
  let rows: DeadRow[];
  try {
    rows = given ? await deadRowsOf(io.sql, await resolveTables(io, given)) : await overThresholds(io.sql, minDead, minPct);
  } catch (err) {
    if (/^no such table/.test((err as Error).message)) return { lines: [], refusal: (err as Error).message };
    throw err;
  }
  const tables = rows.map((d) => ({ schema: d.schema, table: d.table }));
  if (!rows.length) return { lines: [`no table has at least ${minDead} dead tuples and ${minPct}% dead: nothing to vacuum`], values: { tables } };
  const lines = [`${rows.length} table${rows.length === 1 ? '' : 's'} to vacuum (dead rows as pg_stat_user_tables counts them now):`, ...rows.slice(0, 20).map((d) => `  ${deadLine(d)}`)];
  if (rows.length > 20) lines.push(`  … ${rows.length - 20} more`);
  return { lines, values: { tables } };
}

export const analyze: TaskDef = {
  id: 'analyze',
  title: 'Refresh planner statistics (ANALYZE)',
  description:
    'ANALYZE VERBOSE the given tables (schema.table), or every user table. Changes no data: there is ' +
    'nothing to roll back.',
  risk: 'low',
  params: z
    .object({ tables: listParam(tableName).pipe(z.array(tableName).min(1, 'give at least one table, or leave tables out for all')).optional() })
    .strict() as unknown as TaskDef['params'],
  steps: [
    {
      id: 'tables',
      title: 'Find the tables',
      action: (ctx) => {
        const given = ctx.params.tables as string[] | undefined;
        return {
          kind: 'fn',
          describe: given ? `look up ${given.join(', ')} in pg_class` : 'list every user table (partitions are covered by their parent)',
          run: async (io) => {
            const tables = given ? await resolveTables(io, given) : await allTables(io);
            io.log(`${tables.length} table${tables.length === 1 ? '' : 's'} to analyze${tables.length <= 10 ? `: ${tables.map(displayName).join(', ')}` : ''}`);
            return { tables };
          },
        };
      },
    },
    {
      id: 'analyze',
      title: 'ANALYZE VERBOSE',
      timeoutMs: LONG,
      action: (ctx) => ({
        kind: 'fn',
        describe: describeEach(ctx, 'ANALYZE VERBOSE'),
        run: async (io) => {
          const tables = chosen(ctx) ?? [];
          await eachTable(io, tables, (q) => `ANALYZE VERBOSE ${q}`);
          return { analyzed: tables.length };
        },
      }),
    },
  ],
};

export const vacuumAnalyze: TaskDef = {
  id: 'vacuum-analyze',
  title: 'Reclaim dead tuples (VACUUM ANALYZE)',
  description:
    'VACUUM (VERBOSE, ANALYZE) the given tables, or those with at least minDeadTuples dead tuples making ' +
    'at least minDeadPct % of their rows (pg_stat_user_tables). Adds I/O load while it runs; changes no ' +
    'data: there is nothing to roll back.',
  risk: 'medium',
  params: z
    .object({
      tables: listParam(tableName).pipe(z.array(tableName).min(1, 'give at least one table, or leave tables out to pick by dead tuples')).optional(),
      minDeadTuples: z.coerce.number().int().nonnegative().default(1000),
      minDeadPct: z.coerce.number().min(0).max(100).default(20),
    })
    .strict() as unknown as TaskDef['params'],
  plan: planVacuum,
  // from the journal: the pick step's tables, and the vacuum step's count once it finished
  changed: (values) => {
    const tables = Array.isArray(values.tables) ? values.tables.length : null;
    if (typeof values.vacuumed === 'number') return values.vacuumed === 0 ? 'vacuumed no table (none over the thresholds)' : `vacuumed ${values.vacuumed} table${values.vacuumed === 1 ? '' : 's'}`;
    if (tables !== null) return `vacuum of ${tables} table${tables === 1 ? '' : 's'} not finished`;
    return null;
  },
  steps: [
    {
      id: 'pick',
      title: 'Pick the tables',
      action: (ctx) => {
        const given = ctx.params.tables as string[] | undefined;
        const minDead = Number(ctx.params.minDeadTuples ?? 1000);
        const minPct = Number(ctx.params.minDeadPct ?? 20);
        return {
          kind: 'fn',
          describe: given
            ? `look up ${given.join(', ')} in pg_class`
            : `tables in pg_stat_user_tables with at least ${minDead} dead tuples and ${minPct}% dead`,
          run: async (io) => {
            if (given) {
              const tables = await resolveTables(io, given);
              io.log(`${tables.length} table${tables.length === 1 ? '' : 's'} to vacuum: ${tables.map(displayName).join(', ')}`);
              return { tables };
            }
            const rows = await overThresholds(io.sql, minDead, minPct);
            const tables = rows.map((d) => ({ schema: d.schema, table: d.table }));
            for (const d of rows) io.log(`${d.schema}.${d.table}: ${d.dead} dead, ${d.live} live (${d.pct}% dead)`);
            if (!tables.length) io.log(`no table has at least ${minDead} dead tuples and ${minPct}% dead: nothing to vacuum`);
            return { tables };
          },
        };
      },
    },
    {
      id: 'vacuum',
      title: 'VACUUM (VERBOSE, ANALYZE)',
      timeoutMs: LONG,
      action: (ctx) => ({
        kind: 'fn',
        describe: describeEach(ctx, 'VACUUM (VERBOSE, ANALYZE)'),
        run: async (io) => {
          const tables = chosen(ctx) ?? [];
          await eachTable(io, tables, (q) => `VACUUM (VERBOSE, ANALYZE) ${q}`);
          if (tables.length) {
            const r = await io.sql(
              `SELECT schemaname AS schema, relname AS table, n_dead_tup::bigint AS dead
                 FROM pg_stat_user_tables
                WHERE (schemaname, relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
              [tables.map((t) => t.schema), tables.map((t) => t.table)],
            );
            for (const row of r.rows) io.log(`${String(row.schema)}.${String(row.table)}: ${String(row.dead)} dead tuples now`);
          }
          return { vacuumed: tables.length };
        },
      }),
    },
  ],
};
