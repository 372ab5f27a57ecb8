// The sessions view's one query: every client session of the cluster from pg_stat_activity, with
// the locks each holds and waits for from pg_locks, in one statement. The probe runs it in its
// round's batch when the console asks for the list (src/probes/postgres.ts), the headless
// `ops sessions` and `ops locks` on a connection of their own (src/sessions/read.ts).
//
// PostgreSQL 12 to 17, column by column (the text is the same on all of them):
//   pg_stat_activity  pid, datname, usename, application_name, client_addr, client_hostname,
//                     client_port, backend_start, xact_start, query_start, state_change, state,
//                     wait_event_type, wait_event, backend_xmin, query: 9.6 and before;
//                     backend_type: 10 (client backends only; parallel workers, autovacuum and
//                     the walsenders are left out). leader_pid (13) and query_id (14) are not read.
//   pg_blocking_pids  9.6. Called only for a session waiting on a heavyweight lock
//                     (wait_event_type 'Lock'): each call takes every lock-manager partition.
//   pg_locks          locktype, database, relation, page, tuple, virtualxid, transactionid,
//                     classid, objid, objsubid, pid, mode, granted: 9.x; waitstart: 14. It is read
//                     through to_jsonb(l) ->> 'waitstart', null before 14, so the text needs no
//                     version test; before 14 the wait is counted from state_change.
//   age(xid)          any version; backend_xmin is null for a session holding no snapshot.
//
// Times: backend_start is printed as UTC text with microseconds (to_char, whatever the
// connection's DateStyle or TimeZone): with the pid it is the session's identity, handed to
// the cancel and terminate tasks, which compare it as a timestamptz. Durations are seconds from
// now(), the statement's transaction start, so every row is measured at the same instant.
//
// A relation is named (regclass: schema-qualified when not on the search path) for the locks in
// the database the query runs in and on the shared catalogs (database 0); in another database
// its oid means nothing here: the lock gives the oid as its object, and the database's name.

import { ownSessionSql } from '../pg/own';

/** Marks the console's statements (pg_stat_statements' top list leaves them out). */
export const SESSIONS_MARK = '/*ops-console:sessions*/';

/** The console's sessions' application_name, and its prefix 'ops-console: ' (src/pg/own.ts). */
export { OWN_APPLICATION as OWN_APP_PREFIX } from '../pg/own';

/** Query text read per session, at most (the server keeps track_activity_query_size bytes, 1 kB by default). */
export const QUERY_TEXT_CAP = 100 * 1024;

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const utc = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', ${ISO_UTC})`;

/** The statement, unmarked (the probe's batch marks each of its parts itself). */
export const SESSIONS_SQL = `WITH act AS (
  SELECT a.* FROM pg_stat_activity a WHERE a.backend_type = 'client backend'
), lk AS (
  SELECT l.pid,
    json_agg(json_build_object(
      'locktype', l.locktype,
      'mode', l.mode,
      'granted', l.granted,
      'database', d.datname,
      'relation', CASE WHEN c.oid IS NOT NULL THEN c.oid::regclass::text END,
      'object', CASE l.locktype
        WHEN 'advisory' THEN CASE WHEN l.objsubid = 1
          THEN ((l.classid::int8 << 32) | l.objid::int8)::text
          ELSE l.classid::text || ',' || l.objid::text END
        WHEN 'transactionid' THEN l.transactionid::text
        WHEN 'virtualxid' THEN l.virtualxid
        WHEN 'tuple' THEN l.page::text || ',' || l.tuple::text
        WHEN 'page' THEN l.page::text
        WHEN 'relation' THEN CASE WHEN c.oid IS NULL THEN l.relation::text END
        ELSE coalesce(l.objid::text, l.relation::text) END
    ) ORDER BY l.granted, l.locktype, c.oid, l.mode) AS locks,
    min((to_jsonb(l) ->> 'waitstart')::timestamptz) FILTER (WHERE NOT l.granted) AS wait_start
  FROM pg_locks l
  LEFT JOIN pg_database d ON d.oid = l.database
  LEFT JOIN pg_class c ON c.oid = l.relation AND (l.database = 0 OR d.datname = current_database())
  WHERE l.pid IN (SELECT pid FROM act)
  GROUP BY l.pid
)
SELECT a.pid,
  ${utc('a.backend_start')} AS backend_start,
  a.datname AS database, a.usename AS user, coalesce(a.application_name, '') AS application,
  host(a.client_addr) AS client_addr, a.client_hostname, a.client_port,
  a.state, a.wait_event_type, a.wait_event,
  age(a.backend_xmin)::float8 AS xmin_age,
  ${utc('a.xact_start')} AS xact_start,
  ${utc('a.query_start')} AS query_start,
  ${utc('a.state_change')} AS state_change,
  extract(epoch FROM now() - a.query_start)::float8 AS query_sec,
  extract(epoch FROM now() - a.xact_start)::float8 AS xact_sec,
  extract(epoch FROM now() - a.backend_start)::float8 AS backend_sec,
  left(a.query, ${QUERY_TEXT_CAP}) AS query,
  CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by,
  CASE WHEN a.wait_event_type = 'Lock'
    THEN extract(epoch FROM now() - coalesce(lk.wait_start, a.state_change))::float8 END AS lock_wait_sec,
  coalesce(lk.locks, '[]'::json) AS locks,
  ${ownSessionSql('a.application_name')} AS own,
  a.pid = pg_backend_pid() AS self
FROM act a LEFT JOIN lk ON lk.pid = a.pid
ORDER BY a.pid`;
