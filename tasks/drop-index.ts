// drop-index: drop an index nobody uses (the dashboard's Tables panel and the weekly checklist
// name them), keeping its definition: rolling back recreates it, CONCURRENTLY, exactly as it was.
// An index behind a primary key, a unique or exclusion constraint is refused: dropping it would
// change what the table accepts, not just how fast it is read.
//
// The plan reads (read-only) the index named, its definition, size and scans, and refuses one a
// constraint needs before anything runs; named none, it lists the never-used and invalid indexes
// with their sizes to choose from (also the `index` pick list, TaskDef.choices).
import * as z from 'zod';
import { quoteQualified, type PlanFindings, type PlanIO, type TaskDef } from '../src/tasks/model';
import { asChoice, indexCandidates } from './index-candidates';

const INDEX_NAME = /^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/;
/** what drop-index can be given as it stands: lower-case plain identifiers (to_regclass folds case) */
const PLAIN = /^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/;

type Sql = PlanIO['sql'];

const READ_SQL = `SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS table_schema, t.relname AS "table", pg_get_indexdef(c.oid) AS definition,
        pg_relation_size(c.oid)::bigint AS bytes, pg_size_pretty(pg_relation_size(c.oid)) AS size, coalesce(s.idx_scan, 0)::bigint AS scans,
        i.indisvalid AS valid,
        i.indisprimary OR i.indisunique OR i.indisexclusion
          OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) AS constrained
   FROM pg_class c
   JOIN pg_index i ON i.indexrelid = c.oid
   JOIN pg_class t ON t.oid = i.indrelid
   JOIN pg_namespace tn ON tn.oid = t.relnamespace
   JOIN pg_namespace n ON n.oid = c.relnamespace
   LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
  WHERE c.oid = to_regclass($1) AND c.relkind = 'i'`;

/** The index named, read (the plan and step 1 read it alike); a refusal for a missing one or one a constraint needs. */
async function readIndex(sql: Sql, raw: string): Promise<{ refuse: string } | { row: Record<string, unknown> }> {
  const row = (await sql(READ_SQL, [raw])).rows[0];
  if (!row) return { refuse: `no index ${raw}` };
  if (row.constrained) return { refuse: `${String(row.schema)}.${String(row.name)} backs a primary key, unique or exclusion constraint: not dropped` };
  return { row };
}

async function plainCandidates(sql: Sql) {
  return (await indexCandidates(sql)).filter((c) => !c.constrained).map(asChoice).filter((c) => PLAIN.test(c.value));
}

async function planDrop(io: PlanIO): Promise<PlanFindings> {
  const raw = io.params.index as string | undefined;
  if (!raw) {
    const items = await plainCandidates(io.sql);
    return {
      lines: [items.length ? `${items.length} never-used or invalid index${items.length === 1 ? '' : 'es'} (pg_stat_user_indexes, pg_index), largest first` : 'no index here is never used or invalid'],
      choices: { param: 'index', items },
      refusal: items.length ? 'name the index to drop: --param index=schema.name, one of those listed' : 'name the index to drop: --param index=schema.name',
    };
  }
  const r = await readIndex(io.sql, raw);
  if ('refuse' in r) return { lines: [], refusal: r.refuse };
  const row = r.row;
  const scans = Number(row.scans);
  const lines = [
    `${String(row.schema)}.${String(row.name)} on ${String(row.table_schema)}.${String(row.table)}: ${String(row.size)}, ${scans ? `${scans} scans` : 'never used'} since the statistics were reset${row.valid === false ? ', INVALID' : ''}`,
    String(row.definition),
  ];
  if (scans) lines.push(`it has been used: queries that read it get slower without it`);
  return { lines, values: { schema: String(row.schema), name: String(row.name), definition: String(row.definition) } };
}

export const dropIndex: TaskDef = {
  id: 'drop-index',
  title: 'Drop an unused index',
  description:
    'DROP INDEX CONCURRENTLY one index (schema.name), after reading its definition, size and scans. Indexes behind a primary key or a unique or exclusion constraint are refused. Rolling back recreates it CONCURRENTLY from the definition read first.',
  risk: 'high',
  params: z
    .object({
      // left out, the plan lists the never-used and invalid indexes to choose from, and refuses
      index: z.string().regex(INDEX_NAME, 'an index name, optionally with its schema: public.orders_note_idx').optional(),
    })
    .strict() as unknown as TaskDef['params'],
  plan: planDrop,
  changed: (values, params) => {
    const name = values.schema && values.name ? `${String(values.schema)}.${String(values.name)}` : String(params.index ?? 'an index');
    return values.dropped === true ? `dropped index ${name} (recreated by the undo)` : `index ${name} not dropped (read only)`;
  },
  choices: { index: async (io) => await plainCandidates(io.sql) },
  steps: [
    {
      id: 'read',
      title: 'Read the index definition',
      action: (ctx) => ({
        kind: 'fn',
        describe: `read the definition, size and scans of ${String(ctx.params.index ?? 'the index')}; refuse it if a constraint needs it`,
        run: async (io) => {
          const raw = ctx.params.index as string | undefined;
          if (!raw) throw new Error('name the index to drop: --param index=schema.name');
          const r = await readIndex(io.sql, raw);
          if ('refuse' in r) throw new Error(r.refuse);
          const row = r.row;
          io.log(`${String(row.definition)}`);
          io.log(`${String(row.size)} (${Number(row.bytes)} bytes), ${Number(row.scans)} scans since the statistics were reset`);
          return { schema: String(row.schema), name: String(row.name), definition: String(row.definition) };
        },
      }),
    },
    {
      id: 'drop',
      title: 'DROP INDEX CONCURRENTLY',
      action: (ctx) => {
        const schema = ctx.values.schema as string | undefined;
        const name = ctx.values.name as string | undefined;
        const sql = schema && name ? `DROP INDEX CONCURRENTLY ${quoteQualified(schema, name)}` : `DROP INDEX CONCURRENTLY ${String(ctx.params.index ?? '<the index named>')}`;
        return { kind: 'sql', text: sql };
      },
      // journaled with the step's end: what the run's summary line reads (runChanged)
      capture: () => ({ dropped: true }),
      rollback: (ctx) => {
        const def = String(ctx.values.definition ?? '');
        // not read yet: known once step 1 (or the plan's reading) has read it; never a statement that does nothing
        if (!def) throw new Error('decided by step 1');
        // pg_get_indexdef gives "CREATE [UNIQUE] INDEX name ON ...": rebuilt without blocking writes
        return { kind: 'sql', text: def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ') };
      },
      timeoutMs: 60 * 60 * 1000,
    },
  ],
};
