// reindex-concurrently: rebuild an index, or every index of a table, without blocking writes.
//
//   1. check    find the index (or the table and its indexes, TOAST and partitions included), and
//               check there is more free space where they live than they take now: REINDEX
//               CONCURRENTLY builds each new index beside the old one before it drops the old one.
//               The free space is measured in the data directory (SHOW data_directory) or the
//               tablespace's directory (pg_tablespace_location), when the server runs on this host
//               and the directory can be read; otherwise the check is skipped with a warning.
//               rollback: drop the INVALID "<name>_ccnew" / "<name>_ccold" indexes a failed or
//               cancelled REINDEX CONCURRENTLY leaves behind (a failed step offers no rollback of
//               its own, so this is the one the rollback prompt offers after the rebuild fails)
//   2. reindex  REINDEX (VERBOSE) INDEX CONCURRENTLY "schema"."index"  (or TABLE "schema"."table")
//               rollback: the same clean-up (after a completed rebuild there is normally nothing to
//               drop: the rebuilt index is as good as the old one, nothing else needs undoing)
//
// DROP INDEX CONCURRENTLY IF EXISTS is used for the clean-up: it takes no lock that blocks writes,
// and runs outside a transaction like every statement of the task's connection.
//
// Names: "schema.name" as the console shows them (parts exact; double quotes SQL style around a
// part holding a dot); without a schema the name is looked up along the search_path.
import { statfs } from 'node:fs/promises';
import * as z from 'zod';
import { quoteIdent, quoteQualified, type Action, type PlanFindings, type PlanIO, type RunContext, type StepIO, type TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';
import { parseTableName } from './analyze';
import { asChoice, indexCandidates } from './index-candidates';
import { targetParts } from '../src/pg/env';

const LONG = 6 * 3600_000;

const relName = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => parseTableName(s) !== null, `${what} as schema.name (double quotes around a part holding a dot)`);

interface LeafIndex {
  schema: string;
  name: string;
  tableOid: string;
  size: number;
  valid: boolean;
  tablespace: string;
  location: string;
}

/** What step 1 found and passes forward. */
interface Resolved {
  kind: 'index' | 'table';
  schema: string;
  name: string;
  /** the indexes that will be rebuilt (partitions' and TOAST's included) */
  indexes: { schema: string; name: string }[];
  /** the tables those indexes belong to: where a leftover _ccnew / _ccold index would be */
  tableOids: string[];
}

function target(ctx: RunContext): { kind: 'index' | 'table'; raw: string } {
  const index = ctx.params.index as string | undefined;
  const table = ctx.params.table as string | undefined;
  return index ? { kind: 'index', raw: index } : { kind: 'table', raw: table! };
}

/** The statement step 2 runs: exact once step 1 resolved the name, else as given. */
function reindexSql(ctx: RunContext): string {
  const r = ctx.values.resolved as Resolved | undefined;
  const t = target(ctx);
  let q: string;
  if (r) q = quoteQualified(r.schema, r.name);
  else {
    const ref = parseTableName(t.raw)!;
    q = ref.schema === null ? quoteIdent(ref.table) : quoteQualified(ref.schema, ref.table);
  }
  return `REINDEX (VERBOSE) ${t.kind === 'index' ? 'INDEX' : 'TABLE'} CONCURRENTLY ${q}`;
}

const LEAF_COLS = `n.nspname AS schema, c.relname AS name, i.indrelid::oid::text AS table_oid,
  pg_relation_size(c.oid)::int8 AS size, i.indisvalid AS valid, i.indisexclusion AS exclusion,
  ts.spcname AS tablespace, pg_tablespace_location(ts.oid) AS location`;
const LEAF_FROM = `pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_database d ON d.datname = current_database()
  JOIN pg_tablespace ts ON ts.oid = coalesce(nullif(c.reltablespace, 0), d.dattablespace)`;

async function resolve(io: Pick<StepIO, 'sql'>, kind: 'index' | 'table', raw: string): Promise<{ schema: string; name: string; oid: string; relkind: string; leaves: (LeafIndex & { exclusion: boolean })[] }> {
  const ref = parseTableName(raw)!;
  const kinds = kind === 'index' ? ['i', 'I'] : ['r', 'm', 'p'];
  const r = await io.sql(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::text AS oid, c.relkind::text AS relkind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $2::text AND c.relkind::text = ANY ($3::text[])
        AND (n.nspname = $1::text OR ($1::text IS NULL AND n.nspname = ANY (current_schemas(false))))
      ORDER BY array_position(current_schemas(false), n.nspname::text) NULLS LAST
      LIMIT 1`,
    [ref.schema, ref.table, kinds],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`no such ${kind}: ${raw}`);
  const oid = String(row.oid);
  // the relations whose own storage gets rebuilt: leaves of a partition tree, or the relation itself
  const leavesSql =
    kind === 'index'
      ? `WITH rels AS (
           SELECT $1::oid AS oid
           UNION SELECT relid FROM pg_partition_tree($1::oid) WHERE isleaf)
         SELECT ${LEAF_COLS} FROM ${LEAF_FROM}
          WHERE i.indexrelid IN (SELECT oid FROM rels) AND c.relkind = 'i'
          ORDER BY 1, 2`
      : `WITH tables AS (
           SELECT $1::oid AS oid
           UNION SELECT relid FROM pg_partition_tree($1::oid)),
         withtoast AS (
           SELECT oid FROM tables
           UNION SELECT t.reltoastrelid FROM pg_class t WHERE t.oid IN (SELECT oid FROM tables) AND t.reltoastrelid <> 0)
         SELECT ${LEAF_COLS} FROM ${LEAF_FROM}
          WHERE i.indrelid IN (SELECT oid FROM withtoast) AND c.relkind = 'i'
          ORDER BY 1, 2`;
  const leaves = (await io.sql(leavesSql, [oid])).rows.map((x) => ({
    schema: String(x.schema),
    name: String(x.name),
    tableOid: String(x.table_oid),
    size: Number(x.size),
    valid: x.valid === true,
    exclusion: x.exclusion === true,
    tablespace: String(x.tablespace),
    location: String(x.location ?? ''),
  }));
  return { schema: String(row.schema), name: String(row.name), oid, relkind: String(row.relkind), leaves };
}

type Found = Awaited<ReturnType<typeof resolve>>;

/** Why REINDEX CONCURRENTLY cannot rebuild what was found, or null: the plan and step 1 judge alike. */
function cannotRebuild(found: Found, kind: 'index' | 'table'): string | null {
  if (found.schema === 'pg_catalog' || found.schema === 'information_schema') {
    return `${found.schema}.${found.name} is a system catalog: REINDEX CONCURRENTLY cannot rebuild it`;
  }
  if (!found.leaves.length) return `${kind} ${found.schema}.${found.name} has no index to rebuild`;
  const excl = found.leaves.filter((l) => l.exclusion);
  if (excl.length) return `REINDEX CONCURRENTLY cannot rebuild exclusion-constraint indexes: ${excl.map((l) => `${l.schema}.${l.name}`).join(', ')}`;
  return null;
}

function resolvedOf(kind: 'index' | 'table', found: Found): Resolved {
  return {
    kind,
    schema: found.schema,
    name: found.name,
    indexes: found.leaves.map((l) => ({ schema: l.schema, name: l.name })),
    tableOids: [...new Set(found.leaves.map((l) => l.tableOid))],
  };
}

/** The plan's reading (read-only): what will be rebuilt, with the sizes it takes now. */
async function planReindex(io: PlanIO): Promise<PlanFindings> {
  const index = io.params.index as string | undefined;
  const table = io.params.table as string | undefined;
  const t = index ? { kind: 'index' as const, raw: index } : { kind: 'table' as const, raw: table! };
  const ref = parseTableName(t.raw);
  if (!ref) return { lines: [], refusal: `${t.kind} ${t.raw}: not a name as schema.name` };
  let found: Found;
  try {
    found = await resolve(io, t.kind, t.raw);
  } catch (err) {
    return { lines: [], refusal: (err as Error).message };
  }
  const why = cannotRebuild(found, t.kind);
  if (why) return { lines: [], refusal: why };
  const total = found.leaves.reduce((a, l) => a + l.size, 0);
  const lines = found.leaves.slice(0, 20).map((l) => `${l.schema}.${l.name}: ${formatBytes(l.size)}${l.valid ? '' : ' (INVALID now)'}, tablespace ${l.tablespace}`);
  if (found.leaves.length > 20) lines.push(`… ${found.leaves.length - 20} more indexes`);
  lines.push(`${found.leaves.length} index${found.leaves.length === 1 ? '' : 'es'} to rebuild, ${formatBytes(total)} in all: about as much free space is needed where they live (step 1 checks it)`);
  return { lines, values: { resolved: resolvedOf(t.kind, found) } };
}

function isLocalHost(host: string): boolean {
  return host.startsWith('/') || host === 'localhost' || /^127\./.test(host) || host === '::1' || host === '[::1]';
}

/** Leftover INVALID indexes of a REINDEX CONCURRENTLY on these indexes (_ccnew: the new one that
 *  was not finished; _ccold: the old one that was not dropped). Long names are truncated by
 *  PostgreSQL before the suffix, so the part before it is matched as a prefix. */
async function leftovers(io: StepIO, r: Resolved): Promise<{ schema: string; name: string }[]> {
  if (!r.tableOids.length) return [];
  const rows = (
    await io.sql(
      `SELECT n.nspname AS schema, c.relname AS name
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT i.indisvalid AND i.indrelid = ANY ($1::oid[]) AND c.relname ~ '_cc(new|old)[0-9]*$'
        ORDER BY 1, 2`,
      [r.tableOids],
    )
  ).rows.map((x) => ({ schema: String(x.schema), name: String(x.name) }));
  return rows.filter((x) => {
    const base = x.name.replace(/_cc(new|old)[0-9]*$/, '');
    return base.length > 0 && r.indexes.some((ix) => ix.schema === x.schema && ix.name.startsWith(base));
  });
}

function cleanup(ctx: RunContext): Action {
  const r = ctx.values.resolved as Resolved | undefined;
  const what = r ? `${r.kind} ${r.schema}.${r.name}` : `the ${target(ctx).kind} ${target(ctx).raw}`;
  return {
    kind: 'fn',
    describe: `DROP INDEX CONCURRENTLY IF EXISTS each INVALID <name>_ccnew / <name>_ccold index left by a failed REINDEX CONCURRENTLY of ${what}`,
    run: async (io) => {
      if (!r) {
        io.log('step 1 found nothing: nothing to drop', 'info');
        return { dropped: [] };
      }
      const left = await leftovers(io, r);
      if (!left.length) io.log('no invalid _ccnew / _ccold index left behind: nothing to drop', 'info');
      const dropped: string[] = [];
      for (const ix of left) {
        const sql = `DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(ix.schema, ix.name)}`;
        io.log(sql, 'info');
        await io.sql(sql);
        dropped.push(`${ix.schema}.${ix.name}`);
      }
      return { dropped };
    },
  };
}

export const reindexConcurrently: TaskDef = {
  id: 'reindex-concurrently',
  title: 'Rebuild an index without blocking writes (REINDEX CONCURRENTLY)',
  description:
    'REINDEX CONCURRENTLY one index (index=schema.name) or every index of a table (table=schema.name), ' +
    'after checking there is more free disk space than the indexes take. Writes go on meanwhile. A ' +
    'failed or cancelled rebuild leaves an INVALID <name>_ccnew (or _ccold) index behind; rolling back ' +
    'drops it with DROP INDEX CONCURRENTLY. A completed rebuild needs no undoing.',
  risk: 'medium',
  params: z
    .object({ index: relName('an index').optional(), table: relName('a table').optional() })
    .strict()
    .refine((p) => (p.index === undefined) !== (p.table === undefined), 'give exactly one of index=schema.name or table=schema.name') as unknown as TaskDef['params'],
  plan: planReindex,
  // from the journal: what the check step resolved, and the rebuild step's sizeAfter once it finished
  changed: (values) => {
    const r = values.resolved as Partial<Resolved> | undefined;
    if (!r || typeof r.schema !== 'string' || typeof r.name !== 'string') return null;
    const name = `${r.schema}.${r.name}`;
    const n = Array.isArray(r.indexes) ? r.indexes.length : 0;
    const what = r.kind === 'table' ? `${n === 1 ? 'the index' : `the ${n} indexes`} of table ${name}` : `index ${name}`;
    return typeof values.sizeAfter === 'number' ? `rebuilt ${what}` : `rebuild of ${what} not finished (the undo drops its INVALID leftovers)`;
  },
  // the pick list for a form: INVALID indexes (what a rebuild repairs) and never-used ones, with sizes
  choices: {
    index: async (io) =>
      (await indexCandidates(io.sql))
        .filter((c) => !c.exclusion)
        .sort((a, b) => Number(a.valid) - Number(b.valid))
        .map(asChoice),
  },
  steps: [
    {
      id: 'check',
      title: 'Find the index and check free space',
      action: (ctx) => {
        const t = target(ctx);
        return {
          kind: 'fn',
          describe: `look up ${t.kind} ${t.raw} in pg_class, and check that the free space where its indexes live exceeds their size (pg_relation_size); nothing to undo but what a failed rebuild leaves`,
          run: async (io) => {
            const found = await resolve(io, t.kind, t.raw);
            const why = cannotRebuild(found, t.kind);
            if (why) throw new Error(why);
            const leaves = found.leaves;
            const total = leaves.reduce((a, l) => a + l.size, 0);
            for (const l of leaves.slice(0, 20)) {
              io.log(`${l.schema}.${l.name}: ${formatBytes(l.size)}${l.valid ? '' : ' (INVALID now)'}, tablespace ${l.tablespace}`);
            }
            if (leaves.length > 20) io.log(`… ${leaves.length - 20} more indexes`);
            io.log(`${leaves.length} index${leaves.length === 1 ? '' : 'es'} to rebuild, ${formatBytes(total)} in all`);

            // free space, per tablespace directory
            const host = targetParts(ctx.target).host;
            const byLocation = new Map<string, { tablespace: string; size: number }>();
            for (const l of leaves) {
              const key = l.location || '';
              const e = byLocation.get(key) ?? { tablespace: l.tablespace, size: 0 };
              e.size += l.size;
              byLocation.set(key, e);
            }
            for (const [location, { tablespace, size }] of byLocation) {
              if (!isLocalHost(host)) {
                io.log(`free space not checked: the server runs on ${host}, not this host, so its tablespace ${tablespace} cannot be measured from here`, 'err');
                continue;
              }
              let dir = location;
              if (!dir) {
                try {
                  dir = String((await io.sql('SHOW data_directory')).rows[0].data_directory);
                } catch (err) {
                  io.log(`free space not checked: the data directory is not readable for this user (${(err as Error).message})`, 'err');
                  continue;
                }
              }
              let free: number;
              try {
                const fs = await statfs(dir);
                free = Number(fs.bavail) * Number(fs.bsize);
              } catch (err) {
                io.log(`free space not checked: cannot measure ${dir} from here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'err');
                continue;
              }
              io.log(`${formatBytes(free)} free in ${dir} (tablespace ${tablespace}); the rebuilt indexes need about ${formatBytes(size)}`);
              if (free <= size) {
                throw new Error(`not enough free space in ${dir}: ${formatBytes(free)} free, the indexes to rebuild take ${formatBytes(size)}`);
              }
            }

            const resolved = resolvedOf(t.kind, found);
            const already = await leftovers(io, resolved);
            if (already.length) {
              io.log(`already INVALID from an earlier failed rebuild: ${already.map((x) => `${x.schema}.${x.name}`).join(', ')} (rolling back drops these too)`, 'err');
            }
            return { resolved, sizeBefore: total };
          },
        };
      },
      rollback: (ctx) => cleanup(ctx),
      cleanupOnly: true,
    },
    {
      id: 'reindex',
      title: 'REINDEX CONCURRENTLY',
      timeoutMs: LONG,
      action: (ctx) => {
        const sql = reindexSql(ctx);
        return {
          kind: 'fn',
          describe: sql,
          run: async (io) => {
            const r = ctx.values.resolved as Resolved;
            await io.sql(sql);
            const after = (
              await io.sql(
                `SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid)::int8 AS size, i.indisvalid AS valid
                   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                  ORDER BY 1, 2`,
                [r.indexes.map((x) => x.schema), r.indexes.map((x) => x.name)],
              )
            ).rows;
            const invalid = after.filter((x) => x.valid !== true).map((x) => `${String(x.schema)}.${String(x.name)}`);
            const total = after.reduce((a, x) => a + Number(x.size), 0);
            const before = Number(ctx.values.sizeBefore ?? 0);
            io.log(`${after.length} index${after.length === 1 ? '' : 'es'} rebuilt: ${formatBytes(before)} before, ${formatBytes(total)} now`);
            if (invalid.length) throw new Error(`still INVALID after the rebuild: ${invalid.join(', ')}`);
            return { sizeAfter: total };
          },
        };
      },
      rollback: (ctx) => cleanup(ctx),
      cleanupOnly: true,
    },
  ],
};
