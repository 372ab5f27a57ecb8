// The indexes drop-index and reindex-concurrently offer to pick from, read-only: never used
// (idx_scan = 0 since the statistics were reset, and not backing a constraint) or INVALID (a
// failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY left it), with their real sizes
// (pg_relation_size, never relpages, which stays stale until a VACUUM or ANALYZE).
import { quoteIdent, type Choice } from '../src/tasks/model';

type Sql = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

export interface IndexCandidate {
  schema: string;
  name: string;
  tableSchema: string;
  table: string;
  bytes: number;
  /** pg_size_pretty(pg_relation_size(...)) */
  size: string;
  scans: number;
  valid: boolean;
  /** a primary key, unique or exclusion index, or one a constraint uses: drop-index refuses it */
  constrained: boolean;
  exclusion: boolean;
}

/** At most this many, largest first. */
const LIMIT = 50;

const CANDIDATES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS table_schema, t.relname AS "table",
       pg_relation_size(c.oid)::int8 AS bytes, pg_size_pretty(pg_relation_size(c.oid)) AS size,
       coalesce(s.idx_scan, 0)::int8 AS scans, i.indisvalid AS valid, i.indisexclusion AS exclusion,
       (i.indisprimary OR i.indisunique OR i.indisexclusion
          OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)) AS constrained
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
 WHERE c.relkind = 'i'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   AND (NOT i.indisvalid
        OR (coalesce(s.idx_scan, 0) = 0
            AND NOT (i.indisprimary OR i.indisunique OR i.indisexclusion
                     OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid))))
 ORDER BY pg_relation_size(c.oid) DESC, 1, 2
 LIMIT ${LIMIT}`;

function mapRow(r: Record<string, unknown>): IndexCandidate {
  return {
    schema: String(r.schema),
    name: String(r.name),
    tableSchema: String(r.table_schema),
    table: String(r.table),
    bytes: Number(r.bytes),
    size: String(r.size),
    scans: Number(r.scans),
    valid: r.valid === true,
    constrained: r.constrained === true,
    exclusion: r.exclusion === true,
  };
}

/** The never-used and invalid indexes of the database, largest first. */
export async function indexCandidates(sql: Sql): Promise<IndexCandidate[]> {
  return (await sql(CANDIDATES_SQL)).rows.map(mapRow);
}

/** A name as the tasks take it: schema.name, a part in double quotes when it needs them. */
export function relParam(schema: string, name: string): string {
  const part = (p: string) => (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p : quoteIdent(p));
  return `${part(schema)}.${part(name)}`;
}

/** `public.orders_note_idx on public.orders: 16 kB, never used` */
export function candidateLabel(c: IndexCandidate): string {
  const why = c.valid ? 'never used' : `INVALID (left by a failed CREATE INDEX or REINDEX CONCURRENTLY)${c.scans ? '' : ', never used'}`;
  return `${c.schema}.${c.name} on ${c.tableSchema}.${c.table}: ${c.size}, ${why}${c.constrained ? ' (backs a constraint)' : ''}`;
}

export function asChoice(c: IndexCandidate): Choice {
  return { value: relParam(c.schema, c.name), label: candidateLabel(c) };
}
