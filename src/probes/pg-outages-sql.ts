// The outage checks' SQL: the detection query, the every-round statements and the slower reads
// (the table scan, the sequences' listing), each built for what the role may see.
import type { PgOutageAccess, PgOutages, PgOutagesSlow } from '../types-outages';

export const MARK = '/*ops-console:probe*/';
const SYSTEM_NS_OIDS = `SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema') OR nspname ~ '^pg_toast'`;
/** Prefixes of "false" that PostgreSQL's boolean parser accepts in a reloption. */
const RELOPT_FALSE = `'^autovacuum_enabled=(f|fa|fal|fals|false|n|no|of|off|0)$'`;

export type Row = Record<string, unknown>;

export interface Meta {
  versionNum: number;
  access: PgOutageAccess;
  walSegmentBytes: number;
  archiveMode: string;
  walDir: PgOutages['walDir'];
}

/** The slower read: what it found, and the candidates the every-round query re-checks by oid. */
export interface SlowRead {
  data: Omit<PgOutagesSlow, 'neverAnalyzed'>;
  neverAnalyzed: { total: number; top: { oid: number }[] };
  neverOids: number[];
  avoffOids: number[];
  invalidOids: number[];
}

// ---------------------------------------------------------------- SQL

export const DETECT_SQL = `SELECT current_setting('server_version_num')::int AS version_num,
  r.rolsuper AS superuser,
  pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
  pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS read_all_settings,
  has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS list_archive,
  (SELECT setting FROM pg_settings WHERE name = 'data_directory') AS data_directory,
  (SELECT setting::float8 FROM pg_settings WHERE name = 'wal_segment_size') AS wal_seg,
  current_setting('archive_mode') AS archive_mode,
  host(inet_server_addr()) AS server_addr
FROM pg_roles r WHERE r.rolname = current_user`;

/** The LSN the server is at: written on a primary, received (else replayed) on a standby. */
const NOW_LSN = `CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) ELSE pg_current_wal_lsn() END`;

export const oidList = (oids: number[]) => `'{${oids.filter((o) => Number.isInteger(o) && o > 0).join(',')}}'::oid[]`;

/** The every-round statements, in the order assemble() reads their results. */
export function fastSql(meta: Meta, slow: SlowRead | null): string {
  const v = meta.versionNum;
  const parts: string[] = [];
  // This is a transaction of its own (the main batch's snapshot is gone): from PG 15, with the
  // probe's stats_fetch_consistency = snapshot, the first statistics read here would copy every
  // table's entry again (25 ms with 10,000 tables), for the few entries it reads by oid. Before
  // 15 the statistics file the main batch asked for is still fresh, and is read again.
  if (v >= 150000) parts.push('SET LOCAL stats_fetch_consistency = none');
  // settings and pg_stat_archiver (readable by every role); counting the .ready files needs
  // pg_ls_archive_statusdir()
  const list = meta.access.listArchiveStatus && meta.archiveMode !== 'off';
  parts.push(`SELECT current_setting('autovacuum')::bool AS autovacuum,
  current_setting('track_counts')::bool AS track_counts,
  current_setting('autovacuum_max_workers')::int AS av_workers,
  current_setting('autovacuum_freeze_max_age')::float8 AS freeze_max,
  current_setting('autovacuum_multixact_freeze_max_age')::float8 AS mxid_freeze_max,
  a.archived_count::float8 AS archived_count, a.last_archived_wal,
  extract(epoch FROM now() - a.last_archived_time)::float8 AS last_archived_age,
  a.failed_count::float8 AS failed_count, a.last_failed_wal,
  extract(epoch FROM now() - a.last_failed_time)::float8 AS last_failed_age,
  coalesce(a.last_failed_time > a.last_archived_time, a.last_failed_time IS NOT NULL) AS failing,
  pg_wal_lsn_diff(${NOW_LSN}, '0/0')::float8 AS lsn_bytes,
  ${list ? 'r.ready, r.oldest_ready_age' : 'NULL::int AS ready, NULL::float8 AS oldest_ready_age'}
FROM pg_stat_archiver a${
    list
      ? `
LEFT JOIN LATERAL (SELECT count(*)::int AS ready, extract(epoch FROM now() - min(f.modification))::float8 AS oldest_ready_age
  FROM pg_ls_archive_statusdir() f WHERE f.name LIKE '%.ready') r ON true`
      : ''
  }`);
  // pg_replication_slots: wal_status and safe_wal_size from 13, conflicting from 16,
  // inactive_since and invalidation_reason from 17
  parts.push(`SELECT s.slot_name AS name, s.slot_type AS type, s.database, s.active, s.active_pid, s.temporary,
  pg_wal_lsn_diff(${NOW_LSN}, s.restart_lsn)::float8 AS retained,
  ${v >= 130000 ? 's.wal_status, s.safe_wal_size::float8 AS safe_wal' : 'NULL::text AS wal_status, NULL::float8 AS safe_wal'},
  ${v >= 160000 ? 's.conflicting' : 'NULL::bool AS conflicting'},
  ${v >= 170000 ? 'extract(epoch FROM now() - s.inactive_since)::float8 AS inactive_sec, s.invalidation_reason' : 'NULL::float8 AS inactive_sec, NULL::text AS invalidation_reason'},
  age(s.xmin)::float8 AS xmin_age, age(s.catalog_xmin)::float8 AS catalog_xmin_age
FROM pg_replication_slots s ORDER BY retained DESC NULLS LAST, s.slot_name LIMIT 50`);
  // One pass over pg_stat_activity: the oldest xmin holders (sessions, and walsenders carrying a
  // standby's hot_standby_feedback) and the autovacuum workers, with the table each works on when
  // it is in this database. A lazy VACUUM's xmin (autovacuum's included) is ignored by other
  // vacuums, so it holds nothing; parallel workers share their leader's snapshot (leader_pid, 13+).
  parts.push(`SELECT x.*, w.schema AS w_schema, w.relname AS w_table
FROM (SELECT y.*, row_number() OVER (PARTITION BY y.holder, y.walsender ORDER BY y.age DESC NULLS LAST, y.pid) AS rank
      FROM (SELECT a.pid, a.datname AS database, a.usename AS user, coalesce(host(a.client_addr), 'local') AS client,
              a.application_name AS application, a.state, left(a.query, 2000) AS query, a.backend_start,
              greatest(age(a.backend_xmin), age(a.backend_xid))::float8 AS age,
              extract(epoch FROM now() - a.xact_start)::float8 AS held_sec,
              a.backend_type = 'walsender' AS walsender,
              a.backend_type = 'autovacuum worker' AS worker,
              (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL)
                AND NOT (a.backend_type = 'autovacuum worker' AND coalesce(a.query, '') LIKE 'autovacuum: VACUUM%')${
                  v >= 130000 ? `\n                AND (a.leader_pid IS NULL OR a.leader_pid = a.pid)` : ''
                } AS holder
            FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid()) y) x
LEFT JOIN LATERAL (SELECT n.nspname AS schema, c.relname
  FROM pg_stat_get_progress_info('VACUUM') p
  JOIN pg_class c ON c.oid = p.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE p.pid = x.pid AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())) w ON x.worker
WHERE x.worker OR (x.holder AND x.rank <= 5)`);
  parts.push(`SELECT p.gid, p.database, p.owner, extract(epoch FROM now() - p.prepared)::float8 AS age_sec,
  age(p.transaction)::float8 AS xid_age, count(*) OVER () AS total
FROM pg_prepared_xacts p ORDER BY p.prepared, p.gid LIMIT 20`);
  parts.push(`SELECT datname AS name, age(datfrozenxid)::float8 AS xid_age, mxid_age(datminmxid)::float8 AS mxid_age
FROM pg_database WHERE datallowconn ORDER BY 3 DESC, 1`);
  // what the slower read found, re-checked by oid (an index scan each): a table analyzed since,
  // an index rebuilt or dropped, leaves at once; new ones are found by the next slower read
  const re: string[] = [];
  if (slow?.avoffOids.length) {
    re.push(`SELECT 'avoff' AS kind, n.nspname AS schema, c.relname AS name, NULL::name AS tbl,
  pg_stat_get_dead_tuples(c.oid)::float8 AS n1, pg_stat_get_live_tuples(c.oid)::float8 AS n2, NULL::bool AS b1, NULL::bool AS b2
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY(${oidList(slow.avoffOids)}) AND EXISTS (SELECT 1 FROM unnest(c.reloptions) o WHERE lower(o) ~ ${RELOPT_FALSE})`);
  }
  if (slow?.neverOids.length) {
    re.push(`SELECT 'never' AS kind, n.nspname AS schema, c.relname AS name, NULL::name AS tbl,
  NULL::float8 AS n1, pg_stat_get_live_tuples(c.oid)::float8 AS n2, NULL::bool AS b1, NULL::bool AS b2
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY(${oidList(slow.neverOids)}) AND pg_stat_get_live_tuples(c.oid) > 0
  AND pg_stat_get_last_analyze_time(c.oid) IS NULL AND pg_stat_get_last_autoanalyze_time(c.oid) IS NULL`);
  }
  if (slow?.invalidOids.length) {
    // a concurrent build running on the table (12+) may be the one that left it invalid so far
    re.push(`SELECT 'invalid' AS kind, n.nspname AS schema, c.relname AS name, t.relname AS tbl, NULL::float8 AS n1, NULL::float8 AS n2,
  c.relkind = 'I' AS b1,
  EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
          WHERE p.relid = x.indrelid AND p.command IN ('CREATE INDEX CONCURRENTLY', 'REINDEX CONCURRENTLY')) AS b2
FROM pg_index x
JOIN pg_class c ON c.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE x.indexrelid = ANY(${oidList(slow.invalidOids)}) AND NOT x.indisvalid`);
  }
  if (re.length) parts.push(re.join('\nUNION ALL\n'));
  return parts.map((p) => `${MARK} ${p}`).join(';\n');
}

// One pass over pg_class for the table scan (no locks: catalog rows and statistics only):
// - tables with rows and no ANALYZE recorded, by hand or by autovacuum (not other sessions'
//   temporary tables, which autovacuum never analyzes);
// - tables with autovacuum_enabled = false;
// - the table with the oldest relfrozenxid and the one with the oldest relminmxid (TOAST
//   tables named by the table they belong to);
// - invalid indexes (through pg_index).
export const TABLES_SQL = (() => {
  const named = (kind: string, ageCol: string) => `(SELECT '${kind}', c.oid, c.${ageCol}, NULL::float8, n.nspname, c.relname,
   CASE WHEN c.relkind = 't' THEN (SELECT quote_ident(on_.nspname) || '.' || quote_ident(oc.relname)
     FROM pg_class oc JOIN pg_namespace on_ ON on_.oid = oc.relnamespace WHERE oc.reltoastrelid = c.oid) END
 FROM c JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY c.${ageCol} DESC, c.oid LIMIT 1)`;
  return `WITH c AS MATERIALIZED (
  SELECT c.oid, c.relname, c.relkind, c.relnamespace, c.relpersistence, c.reloptions,
    age(c.relfrozenxid)::float8 AS xid_age, mxid_age(c.relminmxid)::float8 AS mxid_age
  FROM pg_class c WHERE c.relkind IN ('r', 'm', 't')
), never AS MATERIALIZED (
  SELECT c.oid, pg_stat_get_live_tuples(c.oid)::float8 AS live FROM c
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND c.relnamespace NOT IN (${SYSTEM_NS_OIDS})
    AND pg_stat_get_live_tuples(c.oid) > 0
    AND pg_stat_get_last_analyze_time(c.oid) IS NULL AND pg_stat_get_last_autoanalyze_time(c.oid) IS NULL
)
(SELECT 'never' AS kind, x.oid, x.live AS n, (SELECT count(*) FROM never)::float8 AS total, NULL::name AS schema, NULL::name AS name, NULL::text AS toast_of
 FROM never x ORDER BY x.live DESC, x.oid LIMIT 20)
UNION ALL
(SELECT 'avoff', c.oid, NULL, NULL, NULL, NULL, NULL FROM c
 WHERE c.relkind IN ('r', 'm') AND c.reloptions IS NOT NULL
   AND EXISTS (SELECT 1 FROM unnest(c.reloptions) o WHERE lower(o) ~ ${RELOPT_FALSE}) LIMIT 50)
UNION ALL
${named('xid', 'xid_age')}
UNION ALL
${named('mxid', 'mxid_age')}
UNION ALL
(SELECT 'invalid', x.indexrelid, NULL, NULL, NULL, NULL, NULL FROM pg_index x WHERE NOT x.indisvalid LIMIT 50)`;
})();

// Every sequence with what limits it: its own maximum (minimum when it counts down), or that of
// the integer type of the column it feeds (a serial, an identity, or a DEFAULT nextval()), which
// ever comes first. Catalog rows only: the values are read apart, a chunk at a time. An unlogged
// sequence cannot be read on a standby, other sessions' temporary ones never.
export const SEQUENCES_SQL = `WITH dep AS (
  SELECT d.objid AS seq, d.refobjid AS relid, d.refobjsubid AS attnum, CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'serial' END AS how
  FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
    AND d.objid IN (SELECT seqrelid FROM pg_sequence)
  UNION ALL
  SELECT d.refobjid, ad.adrelid, ad.adnum, 'default'
  FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
  WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN (SELECT seqrelid FROM pg_sequence)
), col AS (
  SELECT dep.seq, cn.nspname AS col_schema, ct.relname AS col_table, a.attname AS col_name,
    format_type(a.atttypid, a.atttypmod) AS col_type, dep.how, coalesce(nullif(ty.typbasetype, 0), ty.oid)::regtype::text AS base
  FROM dep
  JOIN pg_attribute a ON a.attrelid = dep.relid AND a.attnum = dep.attnum AND NOT a.attisdropped
  JOIN pg_class ct ON ct.oid = a.attrelid
  JOIN pg_namespace cn ON cn.oid = ct.relnamespace
  JOIN pg_type ty ON ty.oid = a.atttypid
)
SELECT c.oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS seq_type,
  s.seqmin::text AS min, s.seqmax::text AS max, s.seqincrement > 0 AS up, s.seqcycle AS cycles,
  has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
  col.col_schema, col.col_table, col.col_name, col.col_type, col.how AS col_how, col.base
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN col ON col.seq = c.oid
WHERE c.relpersistence <> 't' AND (c.relpersistence <> 'u' OR NOT pg_is_in_recovery())`;
