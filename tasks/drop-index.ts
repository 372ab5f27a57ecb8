// drop-index: drop an index nobody uses (the dashboard's Tables panel and the weekly checklist
// name them), keeping its definition: rolling back recreates it, CONCURRENTLY, exactly as it was.
// An index behind a primary key, a unique or exclusion constraint is refused: dropping it would
// change what the table accepts, not just how fast it is read.
import * as z from 'zod';
import { quoteQualified, type TaskDef } from '../src/tasks/model';

const INDEX_NAME = /^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/;

export const dropIndex: TaskDef = {
  id: 'drop-index',
  title: 'Drop an unused index',
  description:
    'DROP INDEX CONCURRENTLY one index (schema.name), after reading its definition, size and scans. Indexes behind a primary key or a unique or exclusion constraint are refused. Rolling back recreates it CONCURRENTLY from the definition read first.',
  risk: 'high',
  params: z
    .object({
      index: z.string().regex(INDEX_NAME, 'an index name, optionally with its schema: public.orders_note_idx'),
    })
    .strict(),
  steps: [
    {
      id: 'read',
      title: 'Read the index definition',
      action: (ctx) => ({
        kind: 'fn',
        describe: `read the definition, size and scans of ${String(ctx.params.index)}; refuse it if a constraint needs it`,
        run: async (io) => {
          const r = await io.sql(
            `SELECT n.nspname AS schema, c.relname AS name, t.relname AS "table", pg_get_indexdef(c.oid) AS definition,
                    pg_relation_size(c.oid)::bigint AS bytes, coalesce(s.idx_scan, 0)::bigint AS scans,
                    i.indisprimary OR i.indisunique OR i.indisexclusion
                      OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) AS constrained
               FROM pg_class c
               JOIN pg_index i ON i.indexrelid = c.oid
               JOIN pg_class t ON t.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
              WHERE c.oid = to_regclass($1) AND c.relkind = 'i'`,
            [String(ctx.params.index)],
          );
          const row = r.rows[0];
          if (!row) throw new Error(`no index ${String(ctx.params.index)}`);
          if (row.constrained) throw new Error(`${String(row.schema)}.${String(row.name)} backs a primary key, unique or exclusion constraint: not dropped`);
          io.log(`${String(row.definition)}`);
          io.log(`${Number(row.bytes)} bytes, ${Number(row.scans)} scans since the statistics were reset`);
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
        const sql = schema && name ? `DROP INDEX CONCURRENTLY ${quoteQualified(schema, name)}` : `DROP INDEX CONCURRENTLY ${String(ctx.params.index)}`;
        return { kind: 'sql', text: sql };
      },
      rollback: (ctx) => {
        const def = String(ctx.values.definition ?? '');
        // pg_get_indexdef gives "CREATE [UNIQUE] INDEX name ON ...": rebuilt without blocking writes
        const sql = def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ');
        return { kind: 'sql', text: sql || '-- the definition was not read' };
      },
      timeoutMs: 60 * 60 * 1000,
    },
  ],
};
