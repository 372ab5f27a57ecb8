// The PostgreSQL probe's SQL: the detection query and the one multi-statement batch of a round.
//
// Mostly query text and the comment on what each measures; the probe (postgres.ts) runs it and
// postgres-rows.ts maps the rows.

import { SESSIONS_SQL } from '../sessions/sql';
import { OWN_APPLICATION, ownSessionSql } from '../pg/own';

export const APPLICATION_NAME = OWN_APPLICATION;
/** Marks the probe's own statements so pg_stat_statements' top list can leave them out. */
export const MARK = '/*ops-console:probe*/';

export type StatementsState =
  | { available: true; relation: string; meanCol: 'mean_exec_time' | 'mean_time'; totalCol: 'total_exec_time' | 'total_time' }
  | { available: false; reason: string };

export interface ConnMeta {
  versionNum: number;
  statements: StatementsState;
}

export type Row = Record<string, unknown>;

export const DETECT_SQL = `${MARK} SELECT current_setting('server_version_num')::int AS version_num,
  e.nspname AS pgss_schema,
  (SELECT string_agg(a.attname, ',') FROM pg_attribute a
    WHERE a.attrelid = to_regclass(quote_ident(e.nspname) || '.pg_stat_statements')
      AND a.attname IN ('mean_exec_time', 'mean_time') AND NOT a.attisdropped) AS pgss_cols,
  current_database() AS database
FROM (SELECT 1) one
LEFT JOIN (SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
           WHERE x.extname = 'pg_stat_statements') e ON true`;

export type BatchPart = 'set' | 'meta' | 'conn' | 'sessions' | 'ages' | 'blocked' | 'tables' | 'unused' | 'stale' | 'xid' | 'repl' | 'sizes' | 'statements' | 'activity';

const SYSTEM_NS_OIDS = `SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema') OR nspname ~ '^pg_toast'`;

const SESSION_COLS = `a.pid, a.usename AS user, a.datname AS database,
  coalesce(host(a.client_addr), 'local') AS client, a.application_name AS application, a.state,
  a.wait_event_type, a.wait_event, left(a.query, 2000) AS query,
  extract(epoch FROM now() - a.xact_start)::float8 AS xact_sec`;

/**
 * The console's own sessions: the probe ('ops-console') and the task runs ('ops-console: <task>
 * <run>', src/tasks/lock.ts). Counted apart and left out of the session checks. An exact name
 * and a prefix with its colon, so other clients calling themselves ops-console-something count.
 */
const OWN_SESSION = ownSessionSql('a.application_name');

/** Sessions to judge (cluster-wide): client backends, not this probe's, not the console's own. */
const USER_SESSIONS = `a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND NOT ${OWN_SESSION}`;

/** Unused indexes sized per round: the largest by relpages, and those of the tables most changed since ANALYZE. */
const UNUSED_BY_RELPAGES = 20;
/** changes since the last ANALYZE below which a table's index relpages is taken as current enough */
const STALE_MIN_CHANGES = 10_000;

/**
 * The non-unique indexes of the 10 tables changed most since their last ANALYZE (at least
 * 10,000 rows, and over a fifth of reltuples: autoanalyze would have run at a tenth), at most
 * 50. Their relpages may be far behind (an index built on an empty table still says one page);
 * each round sizes those never scanned. pg_stat_get_mod_since_analyze: PostgreSQL 9.4 on;
 * reltuples is -1 for a never-analyzed table from 14 on, 0 before.
 */
export const STALE_INDEXES_SQL = `SELECT x.indexrelid AS oid
FROM (SELECT c.oid FROM pg_class c
      WHERE c.relkind IN ('r', 'm') AND c.relnamespace NOT IN (${SYSTEM_NS_OIDS})
        AND pg_stat_get_mod_since_analyze(c.oid) >= ${STALE_MIN_CHANGES}
        AND pg_stat_get_mod_since_analyze(c.oid) > 0.2 * greatest(c.reltuples, 0)
      ORDER BY pg_stat_get_mod_since_analyze(c.oid) DESC, c.oid LIMIT 10) st
JOIN pg_index x ON x.indrelid = st.oid
WHERE NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
ORDER BY x.indexrelid LIMIT 50`;

/** Rows listed per session kind; sessionAges counts the rest. */
const SESSIONS_LISTED = 20;
const SESSION_AGES_MAX = 1000;

/**
 * The three session kinds, each measured as its name says (the figures psql gives for
 * pg_stat_activity, PostgreSQL 12 to 17: every column used exists since 10):
 *   running          state 'active' and not waiting on a lock (wait_event_type 'Lock': those
 *                    are blocked, not slow); its age is the query's, now - query_start
 *   idle_tx          'idle in transaction' (also '(aborted)'); its age is the time idle,
 *                    now - state_change (state_change is when it went idle), not the transaction's
 *   xact             any open transaction, whatever it is doing; its age is now - xact_start,
 *                    what holds the xmin horizon back (check_postgres txn_time measures the same)
 * now() is the batch's transaction start, and pg_stat_activity is read once per transaction, so
 * every part of the round sees the same sessions at the same instant.
 */
const KINDS_SQL = `SELECT ${SESSION_COLS},
    extract(epoch FROM now() - a.query_start)::float8 AS query_sec,
    extract(epoch FROM now() - a.state_change)::float8 AS idle_sec,
    a.state = 'active' AND a.wait_event_type IS DISTINCT FROM 'Lock' AS running,
    a.state IN ('idle in transaction', 'idle in transaction (aborted)') AS idle_tx
  FROM pg_stat_activity a
  WHERE ${USER_SESSIONS}`;

// pg_database_size() stats every file of every database (about 150 ms with 10,000 tables), so it
// runs in the first round only and is then refreshed in the background every DB_SIZES_TTL_MS.
export const SIZES_SQL = `SELECT d.datname AS name, pg_database_size(d.oid)::float8 AS size FROM pg_database d
WHERE d.datallowconn AND has_database_privilege(d.oid, 'CONNECT') ORDER BY 2 DESC NULLS LAST, 1`;

/**
 * staleOids: the stale-relpages index candidates found earlier (integers, inlined); null to find
 * them in this round (the first), which then also returns them as the 'stale' part.
 * withSessions: every client session with its locks as the 'activity' part (SESSIONS_SQL,
 * src/sessions/sql.ts), while the console's sessions view is open.
 */
export function buildBatch(
  versionNum: number,
  statements: StatementsState,
  withSizes: boolean,
  staleOids: number[] | null = null,
  withSessions = false,
): { sql: string; parts: BatchPart[] } {
  const staleSource =
    staleOids === null ? STALE_INDEXES_SQL : staleOids.length ? `SELECT unnest('{${staleOids.map((o) => Math.trunc(o)).join(',')}}'::oid[])` : 'SELECT NULL::oid WHERE false';
  const waitStart =
    versionNum >= 140000
      ? `coalesce((SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), a.query_start, a.state_change)`
      : `coalesce(a.query_start, a.state_change)`;

  const parts: [BatchPart, string][] = [];
  // PG15+: one stats snapshot per round; much cheaper than per-call lookups on big catalogs.
  if (versionNum >= 150000) parts.push(['set', `SET stats_fetch_consistency = snapshot`]);
  parts.push(
    [
      'meta',
      `SELECT current_setting('server_version') AS version,
  current_setting('server_version_num')::int AS version_num,
  extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime,
  current_database() AS database,
  pg_is_in_recovery() AS in_recovery,
  current_setting('max_connections')::int AS max_conn,
  current_setting('superuser_reserved_connections')::int AS reserved,
  pg_stat_get_db_blocks_hit(d.oid)::float8 AS blks_hit,
  (pg_stat_get_db_blocks_fetched(d.oid) - pg_stat_get_db_blocks_hit(d.oid))::float8 AS blks_read,
  ix.hit::float8 AS idx_hit, ix.read::float8 AS idx_read,
  CASE WHEN pg_is_in_recovery()
    THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS standby_lag
FROM pg_database d,
  (SELECT sum(pg_stat_get_blocks_hit(c.oid)) AS hit,
          sum(pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid)) AS read
   FROM pg_class c WHERE c.relkind = 'i' AND c.relnamespace NOT IN (${SYSTEM_NS_OIDS})) ix
WHERE d.datname = current_database()`,
    ],
    [
      // the console's own sessions (this probe included) are counted apart, not by state
      'conn',
      `SELECT coalesce(a.state, 'unknown') AS state, coalesce(${OWN_SESSION}, false) AS own, count(*)::int AS n
FROM pg_stat_activity a WHERE a.backend_type = 'client backend' GROUP BY 1, 2`,
    ],
    [
      'sessions',
      `WITH s AS (${KINDS_SQL})
(SELECT 'active' AS kind, s.*, s.query_sec AS duration FROM s
 WHERE s.running AND s.query_sec IS NOT NULL ORDER BY s.query_sec DESC, s.pid LIMIT ${SESSIONS_LISTED})
UNION ALL
(SELECT 'idle_tx' AS kind, s.*, s.idle_sec AS duration FROM s
 WHERE s.idle_tx AND s.idle_sec IS NOT NULL ORDER BY s.idle_sec DESC, s.pid LIMIT ${SESSIONS_LISTED})
UNION ALL
(SELECT 'xact' AS kind, s.*, s.xact_sec AS duration FROM s
 WHERE s.xact_sec IS NOT NULL ORDER BY s.xact_sec DESC, s.pid LIMIT ${SESSIONS_LISTED})`,
    ],
    [
      'ages',
      `SELECT (array_agg(s.query_sec ORDER BY s.query_sec DESC) FILTER (WHERE s.running AND s.query_sec IS NOT NULL))[1:${SESSION_AGES_MAX}] AS running,
  (array_agg(s.idle_sec ORDER BY s.idle_sec DESC) FILTER (WHERE s.idle_tx AND s.idle_sec IS NOT NULL))[1:${SESSION_AGES_MAX}] AS idle_tx,
  (array_agg(s.xact_sec ORDER BY s.xact_sec DESC) FILTER (WHERE s.xact_sec IS NOT NULL))[1:${SESSION_AGES_MAX}] AS xact
FROM (${KINDS_SQL}) s`,
    ],
    [
      'blocked',
      `SELECT * FROM (
  SELECT ${SESSION_COLS},
    extract(epoch FROM now() - a.query_start)::float8 AS duration,
    pg_blocking_pids(a.pid) AS blocked_by,
    extract(epoch FROM now() - ${waitStart})::float8 AS wait_sec
  FROM pg_stat_activity a
  WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'
) b WHERE cardinality(b.blocked_by) > 0 ORDER BY b.wait_sec DESC NULLS LAST`,
    ],
    [
      'tables',
      `SELECT t.schema, t.name, t.live, t.dead,
  pg_stat_get_last_vacuum_time(t.oid) AS last_vacuum,
  pg_stat_get_last_autovacuum_time(t.oid) AS last_autovacuum,
  pg_stat_get_last_analyze_time(t.oid) AS last_analyze,
  pg_stat_get_last_autoanalyze_time(t.oid) AS last_autoanalyze
FROM (SELECT c.oid, n.nspname AS schema, c.relname AS name,
        pg_stat_get_live_tuples(c.oid)::float8 AS live, d.dead
      FROM (SELECT c.oid, pg_stat_get_dead_tuples(c.oid)::float8 AS dead FROM pg_class c
            WHERE c.relkind IN ('r', 'm') AND c.relnamespace NOT IN (${SYSTEM_NS_OIDS})
            ORDER BY 2 DESC LIMIT 10) d
      JOIN pg_class c ON c.oid = d.oid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE d.dead > 0 OFFSET 0) t
ORDER BY t.dead DESC, t.schema, t.name`,
    ],
    [
      'unused',
      // Never-scanned indexes, minus unique, primary-key and exclusion-constraint ones (by their
      // pg_index flags). Which to size is chosen on catalog figures, with no file stat per index
      // (pg_relation_size on all 20,000 indexes of a 10,000-table database takes 160 ms): the 20
      // largest by relpages, walked largest first so the stats lookup runs for a handful, and
      // the candidates of STALE_INDEXES_SQL, whose relpages lags behind. Only those are sized,
      // with pg_relation_size, and the 10 largest reported. pg_relation_size takes an ACCESS
      // SHARE lock: an index that someone holds or awaits an ACCESS EXCLUSIVE lock on (DROP,
      // REINDEX, ALTER) keeps its relpages figure rather than stall the round behind that lock.
      // The same on PostgreSQL 12 to 17 (pg_locks, pg_index and these functions are unchanged).
      `SELECT n.nspname AS schema, t.relname AS table, c.relname AS name,
  CASE WHEN c.oid IN (SELECT l.relation FROM pg_locks l
                      WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.relation IS NOT NULL
                        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
       THEN c.relpages::float8 * current_setting('block_size')::float8
       ELSE pg_relation_size(c.oid)::float8 END AS size
FROM (
  (SELECT i.oid, i.relname, i.relpages, i.relnamespace, x.indrelid
   FROM (SELECT oid, relname, relpages, relnamespace FROM pg_class
         WHERE relkind = 'i' AND relnamespace NOT IN (${SYSTEM_NS_OIDS})
         ORDER BY relpages DESC, oid OFFSET 0) i
   JOIN pg_index x ON x.indexrelid = i.oid
   WHERE NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
     AND pg_stat_get_numscans(i.oid) = 0
   LIMIT ${UNUSED_BY_RELPAGES})
  UNION
  (SELECT i.oid, i.relname, i.relpages, i.relnamespace, x.indrelid
   FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid
   WHERE i.oid IN (${staleSource}) AND i.relkind = 'i'
     AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
     AND pg_stat_get_numscans(i.oid) = 0)
) c
JOIN pg_class t ON t.oid = c.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY size DESC NULLS LAST, c.relname
LIMIT 10`,
    ],
    [
      'xid',
      `SELECT datname AS name, age(datfrozenxid)::float8 AS age FROM pg_database WHERE datallowconn ORDER BY 2 DESC`,
    ],
    [
      'repl',
      `SELECT coalesce(application_name, '') AS name, coalesce(host(client_addr), 'local') AS client,
  coalesce(state, 'unknown') AS state, extract(epoch FROM replay_lag)::float8 AS lag
FROM pg_stat_replication ORDER BY 1`,
    ],
  );
  if (withSizes) parts.push(['sizes', SIZES_SQL]);
  if (staleOids === null) parts.push(['stale', STALE_INDEXES_SQL]);
  if (withSessions) parts.push(['activity', SESSIONS_SQL]);
  if (statements.available) {
    parts.push([
      'statements',
      `SELECT s.query, s.calls::float8 AS calls, s.${statements.meanCol}::float8 AS mean,
  s.${statements.totalCol}::float8 AS total
FROM ${statements.relation} s
WHERE s.query NOT LIKE '${MARK}%'
ORDER BY s.${statements.meanCol} DESC LIMIT 5`,
    ]);
  }
  // Each statement carries the marker so pg_stat_statements' top list can skip them.
  return { sql: parts.map(([, q]) => `${MARK} ${q}`).join(';\n'), parts: parts.map(([p]) => p) };
}
