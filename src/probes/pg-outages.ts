// The checks behind real outages (issue 10, section 2): replication slots, the archiver, the xmin
// horizon and what holds it, prepared transactions, autovacuum, multixact age, invalid indexes,
// never-analyzed tables and sequences running out.
//
// Used by the PostgreSQL probe (src/probes/postgres.ts) on its one connection:
// - detect(), once per connection: the server version and what the role may see. Functions a role
//   may not EXECUTE fail the whole statement when it starts, even in a CASE branch never taken, so
//   the SQL is built for the role instead of guarding at run time;
// - collect(), every round after the main batch: one multi-statement query of cheap catalog and
//   statistics reads, as its own round trip so that an error in it (a view that differs on a
//   server version this was not run against) makes these checks UNKNOWN, never the round;
// - the slower reads run in the first round, then in the background, as the database sizes do:
//   one scan of every table's statistics and freeze ages (what it finds is re-checked by oid
//   every round), at most every SLOW_TTL_MS; and every sequence's last value, at most every
//   SEQUENCES_TTL_MS. Reading a sequence's value locks it (ACCESS SHARE, until the transaction
//   ends), so they are read SEQUENCE_CHUNK at a time, each chunk its own transaction (a single
//   one over 10,000 sequences runs out of lock table, for every session of the server), under
//   a short lock_timeout (an ALTER SEQUENCE held open delays a chunk SLOW_LOCK_TIMEOUT_MS at
//   most); the first round reads what fits in FIRST_SEQUENCES_BUDGET_MS and leaves the rest to
//   the background.
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type {
  PgArchiver,
  PgAutovacuumWorker,
  PgFrozenTable,
  PgInvalidIndex,
  PgOutageAccess,
  PgOutages,
  PgOutagesResult,
  PgOutagesSlow,
  PgSequences,
  PgPreparedXact,
  PgSequenceUse,
  PgSlot,
  PgXminHolder,
} from '../types-outages';
import { iso, num, numOrNull, str, strOrNull } from './rows';

/** How often the table scan is refreshed (in the background, after a round). */
export const SLOW_TTL_MS = 60_000;
/** How often every sequence is read again (they move slowly; 10,000 of them take about a second). */
export const SEQUENCES_TTL_MS = 300_000;
/** Sequences read per transaction (each holds a lock until its transaction ends). */
export const SEQUENCE_CHUNK = 100;
/** How long the first round spends reading sequences' values (after listing them) before leaving the rest to the background. */
export const FIRST_SEQUENCES_BUDGET_MS = 500;
/** After a failed slower read, how long until it is tried again. */
const SLOW_RETRY_MS = 10_000;
/** The slower reads wait at most this long for a lock (a sequence being altered). */
export const SLOW_LOCK_TIMEOUT_MS = 200;
const MARK = '/*ops-console:probe*/';
const SYSTEM_NS_OIDS = `SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema') OR nspname ~ '^pg_toast'`;
/** Prefixes of "false" that PostgreSQL's boolean parser accepts in a reloption. */
const RELOPT_FALSE = `'^autovacuum_enabled=(f|fa|fal|fals|false|n|no|of|off|0)$'`;

type Row = Record<string, unknown>;

interface Meta {
  versionNum: number;
  access: PgOutageAccess;
  walSegmentBytes: number;
  archiveMode: string;
  walDir: PgOutages['walDir'];
}

export interface OutageProbeOptions {
  /** the probe's statement and lock timeout, restored after the slower reads */
  timeoutMs: number;
  /** turns a driver error into one clean line (the probe's own describe()) */
  describe: (err: unknown) => string;
}

export class OutageProbe {
  private meta: Meta | null = null;
  private detectError: string | null = null;
  private slow: SlowRead | null = null;
  private slowError: string | null = null;
  /** when the table scan is next due, epoch ms */
  private slowDue = 0;
  private seqs: PgSequences | null = null;
  private seqError: string | null = null;
  private seqDue = 0;
  /** a background refresh of the slower reads is in flight */
  refreshing = false;
  /** the archiver's failed_count in the previous round on this connection */
  private lastFailedCount: number | null = null;

  constructor(private readonly opts: OutageProbeOptions) {}

  /** Once per connection, right after it is made. Never throws: a failure makes the checks UNKNOWN. */
  async detect(client: pg.Client): Promise<void> {
    this.meta = null;
    this.detectError = null;
    this.lastFailedCount = null;
    try {
      const res = await client.query(`${MARK} ${DETECT_SQL}`);
      const r = (res.rows[0] ?? {}) as Row;
      const access: PgOutageAccess = {
        superuser: r.superuser === true,
        readAllStats: r.read_all_stats === true,
        readAllSettings: r.read_all_settings === true,
        listArchiveStatus: r.list_archive === true,
      };
      this.meta = {
        versionNum: num(r.version_num),
        access,
        walSegmentBytes: num(r.wal_seg) || 16 * 1024 * 1024,
        archiveMode: str(r.archive_mode) || 'off',
        walDir: await resolveWalDir(strOrNull(r.data_directory), strOrNull(r.server_addr)),
      };
    } catch (err) {
      this.detectError = `could not read what the role may see: ${this.opts.describe(err)}`;
    }
  }

  /** After the round's main batch, on the same connection. Never throws. */
  async collect(client: pg.Client): Promise<PgOutagesResult> {
    const meta = this.meta;
    if (!meta) return { error: this.detectError ?? 'not detected yet' };
    // the first round reads the slower parts too (ops check has only that one), before the rest,
    // which re-checks what they found; later rounds leave them to the background refresh
    if (this.slow === null && this.slowError === null) await this.readSlow(client);
    if (this.seqs === null && this.seqError === null) await this.readSequences(client, FIRST_SEQUENCES_BUDGET_MS);
    const slow = this.slow;
    let rows: Row[][];
    try {
      const res = await client.query(fastSql(meta, slow));
      rows = (Array.isArray(res) ? res : [res]).map((r) => r.rows as Row[]);
      if (meta.versionNum >= 150000) rows.shift(); // the SET LOCAL
    } catch (err) {
      return { error: `outage checks query failed: ${this.opts.describe(err)}` };
    }
    // queued behind this round's query, never in front of it
    const now = Date.now();
    if (now >= this.slowDue || now >= this.seqDue) this.refreshSlow(client);
    return this.assemble(meta, rows, slow);
  }

  private async readSlow(client: pg.Client): Promise<void> {
    const at = Date.now();
    try {
      const res = await client.query(`${MARK} ${TABLES_SQL}`);
      this.slow = assembleTables(at, res.rows as Row[]);
      this.slowError = null;
      this.slowDue = at + SLOW_TTL_MS;
    } catch (err) {
      this.slowError = `table scan failed: ${this.opts.describe(err)}`;
      this.slowDue = at + SLOW_RETRY_MS;
    }
  }

  /** Every sequence, SEQUENCE_CHUNK at a time; within budgetMs when given (the rest is left unread). */
  private async readSequences(client: pg.Client, budgetMs: number | null): Promise<void> {
    const at = Date.now();
    try {
      const list = ((await client.query(`${MARK} ${SEQUENCES_SQL}`)).rows as Row[]).map(toSeqMeta);
      // a sequence feeding several columns (a serial: its OWNED BY and its DEFAULT) is listed once each
      const readable = [...new Map(list.filter((q) => q.readable).map((q) => [q.oid, q])).values()];
      const values = new Map<number, string | null>();
      let unread = 0;
      const started = Date.now();
      for (let i = 0; i < readable.length; i += SEQUENCE_CHUNK) {
        const chunk = readable.slice(i, i + SEQUENCE_CHUNK);
        if (budgetMs !== null && Date.now() - started >= budgetMs) {
          unread += readable.length - i;
          break;
        }
        try {
          const res = await client.query(
            `${MARK} SET LOCAL lock_timeout = ${SLOW_LOCK_TIMEOUT_MS};\n${MARK} SELECT s.oid, pg_sequence_last_value(s.oid)::text AS v FROM unnest(${oidList(chunk.map((q) => q.oid))}) AS s(oid)`,
          );
          const rows = (Array.isArray(res) ? res[res.length - 1] : res).rows as Row[];
          for (const r of rows) values.set(num(r.oid), strOrNull(r.v));
        } catch (err) {
          // a sequence locked (or dropped) under the chunk: its sequences are not read this time
          if (!/lock timeout|does not exist/i.test(String((err as Error)?.message ?? err))) throw err;
          unread += chunk.length;
        }
      }
      this.seqs = sequenceUse(at, list, values, unread);
      this.seqError = null;
      // a read cut short by the budget goes on in the background after this round
      this.seqDue = unread > 0 && budgetMs !== null ? 0 : at + SEQUENCES_TTL_MS;
    } catch (err) {
      this.seqError = `sequence read failed: ${this.opts.describe(err)}`;
      this.seqDue = at + SLOW_RETRY_MS;
    }
  }

  private refreshSlow(client: pg.Client): void {
    if (this.refreshing) return;
    this.refreshing = true;
    const now = Date.now();
    const tables = now >= this.slowDue;
    const sequences = now >= this.seqDue;
    // due again later whatever happens, so a slow or failing read is not queued every round
    if (tables) this.slowDue = now + SLOW_RETRY_MS;
    if (sequences) this.seqDue = now + SLOW_RETRY_MS;
    (async () => {
      if (tables) await this.readSlow(client);
      if (sequences) await this.readSequences(client, null);
    })().finally(() => {
      this.refreshing = false;
    });
  }

  private assemble(meta: Meta, rows: Row[][], slow: SlowRead | null): PgOutages {
    const [mainRows, slotRows, activityRows, preparedRows, dbRows, recheckRows] = rows;
    const s = mainRows?.[0] ?? {};
    const slots: PgSlot[] = (slotRows ?? []).map((r) => ({
      name: str(r.name),
      type: str(r.type),
      database: strOrNull(r.database),
      active: r.active === true,
      activePid: numOrNull(r.active_pid),
      temporary: r.temporary === true,
      retainedBytes: numOrNull(r.retained),
      walStatus: r.conflicting === true ? 'lost' : strOrNull(r.wal_status),
      safeWalBytes: numOrNull(r.safe_wal),
      inactiveSec: numOrNull(r.inactive_sec),
      invalidationReason: strOrNull(r.invalidation_reason) ?? (r.conflicting === true ? 'conflict with recovery' : null),
      xminAge: numOrNull(r.xmin_age),
      catalogXminAge: numOrNull(r.catalog_xmin_age),
    }));

    let archiver: PgArchiver | null = null;
    if (meta.archiveMode !== 'off') {
      const failedCount = num(s.failed_count);
      const failing = s.failing === true;
      const counted = numOrNull(s.ready);
      archiver = {
        mode: meta.archiveMode,
        archivedCount: num(s.archived_count),
        lastArchivedWal: strOrNull(s.last_archived_wal),
        lastArchivedAgeSec: numOrNull(s.last_archived_age),
        failedCount,
        lastFailedWal: strOrNull(s.last_failed_wal),
        lastFailedAgeSec: numOrNull(s.last_failed_age),
        failing,
        failuresSinceLastRound: this.lastFailedCount === null ? null : Math.max(0, failedCount - this.lastFailedCount),
        waitingFiles: counted ?? estimateWaiting(numOrNull(s.lsn_bytes), meta.walSegmentBytes, failing, strOrNull(s.last_failed_wal), strOrNull(s.last_archived_wal)),
        waitingCounted: counted !== null,
        oldestWaitingAgeSec: numOrNull(s.oldest_ready_age),
      };
      this.lastFailedCount = failedCount;
    }

    const holders: PgXminHolder[] = [];
    const workers: PgAutovacuumWorker[] = [];
    for (const r of activityRows ?? []) {
      if (r.worker === true) {
        const query = strOrNull(r.query);
        workers.push({
          pid: num(r.pid),
          database: strOrNull(r.database),
          query,
          runningSec: numOrNull(r.held_sec),
          schema: strOrNull(r.w_schema),
          table: strOrNull(r.w_table),
          wraparound: query !== null && /\(to prevent wraparound\)/.test(query),
        });
      }
      if (r.holder !== true) continue;
      const walsender = r.walsender === true;
      holders.push({
        kind: walsender ? 'standby' : 'session',
        age: num(r.age),
        // a standby's feedback (a walsender has no database when physical) holds every database
        database: walsender ? null : strOrNull(r.database),
        catalogOnly: false,
        heldSec: walsender ? null : numOrNull(r.held_sec),
        pid: numOrNull(r.pid),
        backendStart: iso(r.backend_start),
        user: strOrNull(r.user),
        client: strOrNull(r.client),
        application: strOrNull(r.application),
        state: strOrNull(r.state),
        query: walsender ? null : strOrNull(r.query),
        name: walsender ? strOrNull(r.application) : null,
      });
    }
    const prepared: PgPreparedXact[] = (preparedRows ?? []).map((r) => ({
      gid: str(r.gid),
      database: str(r.database),
      owner: str(r.owner),
      ageSec: Math.max(0, num(r.age_sec)),
      xidAge: num(r.xid_age),
    }));
    for (const p of prepared) {
      holders.push({ ...noSession, kind: 'prepared', age: p.xidAge, database: p.database, heldSec: p.ageSec, user: p.owner, name: p.gid });
    }
    for (const sl of slots) {
      if (sl.xminAge !== null) holders.push({ ...noSession, kind: 'slot', age: sl.xminAge, heldSec: sl.inactiveSec, name: sl.name, pid: sl.activePid });
      if (sl.catalogXminAge !== null) {
        holders.push({ ...noSession, kind: 'slot', age: sl.catalogXminAge, catalogOnly: true, database: sl.database, heldSec: sl.inactiveSec, name: sl.name, pid: sl.activePid });
      }
    }
    holders.sort((x, y) => y.age - x.age);

    // what the slower read found, as it is now: re-checked by oid every round
    const re = recheckRows ?? [];
    const invalid: PgInvalidIndex[] = re
      .filter((r) => r.kind === 'invalid')
      .map((r) => {
        const name = str(r.name);
        return {
          schema: str(r.schema),
          table: str(r.tbl),
          name,
          leftover: /_ccnew\d*$/.test(name) ? 'ccnew' : /_ccold\d*$/.test(name) ? 'ccold' : null,
          partitioned: r.b1 === true,
          building: r.b2 === true,
        };
      });
    const disabled = re
      .filter((r) => r.kind === 'avoff')
      .map((r) => ({ schema: str(r.schema), name: str(r.name), deadTuples: num(r.n1), liveTuples: num(r.n2) }))
      .sort((x, y) => y.deadTuples - x.deadTuples || x.schema.localeCompare(y.schema) || x.name.localeCompare(y.name));
    let slowOut: PgOutages['slow'] = this.slowError && !slow ? { error: this.slowError } : null;
    if (slow) {
      const never = re
        .filter((r) => r.kind === 'never')
        .map((r) => ({ schema: str(r.schema), name: str(r.name), liveTuples: num(r.n2) }))
        .sort((x, y) => y.liveTuples - x.liveTuples || x.schema.localeCompare(y.schema) || x.name.localeCompare(y.name));
      const gone = slow.neverAnalyzed.top.length - never.length;
      slowOut = { ...slow.data, neverAnalyzed: { total: Math.max(never.length, slow.neverAnalyzed.total - gone), top: never } };
    }
    const sequences: PgOutages['sequences'] = this.seqs ?? (this.seqError ? { error: this.seqError } : null);

    return {
      access: meta.access,
      settings: {
        autovacuum: s.autovacuum === true,
        trackCounts: s.track_counts === true,
        autovacuumMaxWorkers: num(s.av_workers),
        freezeMaxAge: num(s.freeze_max),
        multixactFreezeMaxAge: num(s.mxid_freeze_max),
        archiveMode: meta.archiveMode,
      },
      walDir: meta.walDir,
      slots,
      archiver,
      xminHolders: holders,
      prepared: { total: num(preparedRows?.[0]?.total), oldest: prepared },
      autovacuumWorkers: workers,
      autovacuumDisabled: disabled,
      databases: (dbRows ?? []).map((r) => ({ database: str(r.name), xidAge: num(r.xid_age), mxidAge: num(r.mxid_age) })),
      invalidIndexes: invalid,
      slow: slowOut,
      sequences,
    };
  }
}

/** The slower read: what it found, and the candidates the every-round query re-checks by oid. */
interface SlowRead {
  data: Omit<PgOutagesSlow, 'neverAnalyzed'>;
  neverAnalyzed: { total: number; top: { oid: number }[] };
  neverOids: number[];
  avoffOids: number[];
  invalidOids: number[];
}

const noSession: Omit<PgXminHolder, 'kind' | 'age'> = {
  database: null,
  catalogOnly: false,
  heldSec: null,
  pid: null,
  backendStart: null,
  user: null,
  client: null,
  application: null,
  state: null,
  query: null,
  name: null,
};

// ---------------------------------------------------------------- SQL

const DETECT_SQL = `SELECT current_setting('server_version_num')::int AS version_num,
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

const oidList = (oids: number[]) => `'{${oids.filter((o) => Number.isInteger(o) && o > 0).join(',')}}'::oid[]`;

/** The every-round statements, in the order assemble() reads their results. */
function fastSql(meta: Meta, slow: SlowRead | null): string {
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
const TABLES_SQL = (() => {
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
const SEQUENCES_SQL = `WITH dep AS (
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

interface SeqMeta {
  oid: number;
  schema: string;
  name: string;
  type: string;
  min: bigint;
  max: bigint;
  up: boolean;
  cycles: boolean;
  readable: boolean;
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

function big(v: unknown, fallback: bigint): bigint {
  try {
    return v == null ? fallback : BigInt(String(v));
  } catch {
    return fallback;
  }
}

function toSeqMeta(r: Row): SeqMeta & { column: PgSequenceUse['column']; base: string | null } {
  return {
    oid: num(r.oid),
    schema: str(r.schema),
    name: str(r.name),
    type: str(r.seq_type),
    min: big(r.min, 1n),
    max: big(r.max, 9223372036854775807n),
    up: r.up !== false,
    cycles: r.cycles === true,
    readable: r.readable === true,
    column:
      r.col_name == null
        ? null
        : {
            schema: str(r.col_schema),
            table: str(r.col_table),
            column: str(r.col_name),
            type: str(r.col_type),
            how: r.col_how === 'identity' ? 'identity' : r.col_how === 'default' ? 'default' : 'serial',
          },
    base: strOrNull(r.base),
  };
}

/**
 * Each sequence's share of its usable range used, from its minimum (maximum counting down) to the
 * first limit it meets: its own, or its column's type's. Exact on bigint values; a serial's
 * column listed once (its OWNED BY and its DEFAULT name the same column).
 */
export function sequenceUse(at: number, rows: ReturnType<typeof toSeqMeta>[], values: Map<number, string | null>, unread: number): PgSequences {
  const byOid = new Map<number, ReturnType<typeof toSeqMeta>[]>();
  for (const r of rows) byOid.set(r.oid, [...(byOid.get(r.oid) ?? []), r]);
  const uses: PgSequenceUse[] = [];
  let unreadable = 0;
  for (const group of byOid.values()) {
    const q = group[0];
    if (!q.readable) {
      unreadable += 1;
      continue;
    }
    const last = values.has(q.oid) ? values.get(q.oid) ?? null : undefined;
    if (last === undefined) continue; // not read this time
    let best: PgSequenceUse | null = null;
    const cols = group.filter((g) => g.column).sort((a, b) => (a.column!.how === 'default' ? 1 : 0) - (b.column!.how === 'default' ? 1 : 0));
    for (const g of cols.length ? cols : [q]) {
      const range = g.base ? INT_RANGE[g.base] : undefined;
      let limit = q.up ? q.max : q.min;
      let limitedBy: PgSequenceUse['limitedBy'] = 'sequence';
      if (range && q.up && range[1] < limit) [limit, limitedBy] = [range[1], 'column'];
      if (range && !q.up && range[0] > limit) [limit, limitedBy] = [range[0], 'column'];
      let usedPct = 0;
      if (last !== null) {
        const v = big(last, 0n);
        const used = q.up ? v - q.min + 1n : q.max - v + 1n;
        const span = q.up ? limit - q.min + 1n : q.max - limit + 1n;
        usedPct = span > 0n ? Math.max(0, Number((used * 1_000_000n) / span) / 10_000) : 100;
      }
      if (best && usedPct <= best.usedPct) continue;
      best = { schema: q.schema, name: q.name, type: q.type, usedPct, lastValue: last, limit: String(limit), limitedBy, cycles: q.cycles, column: g.column };
    }
    // a cycling sequence feeding no column never runs out
    if (best && !(best.cycles && !best.column)) uses.push(best);
  }
  uses.sort((a, b) => b.usedPct - a.usedPct || a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name));
  return { at, total: byOid.size, unreadable, unread, top: uses.slice(0, 20) };
}

function assembleTables(at: number, tableRows: Row[]): SlowRead {
  const oids = (kind: string) => tableRows.filter((r) => r.kind === kind).map((r) => num(r.oid));
  const frozen = (kind: string): PgFrozenTable | null => {
    const r = tableRows.find((x) => x.kind === kind);
    return r ? { schema: str(r.schema), name: str(r.name), age: num(r.n), toastOf: strOrNull(r.toast_of) } : null;
  };
  const never = tableRows.filter((r) => r.kind === 'never');
  return {
    data: { at, oldestXidTable: frozen('xid'), oldestMxidTable: frozen('mxid') },
    neverAnalyzed: { total: num(never[0]?.total), top: never.map((r) => ({ oid: num(r.oid) })) },
    neverOids: oids('never'),
    avoffOids: oids('avoff'),
    invalidOids: oids('invalid'),
  };
}

// ---------------------------------------------------------------- helpers

/** The segment number of a WAL file name (timeline, then the 64-bit position in two halves). */
export function walSegNo(name: string, segBytes: number): number | null {
  if (!/^[0-9A-F]{24}$/i.test(name)) return null;
  const hi = parseInt(name.slice(8, 16), 16);
  const lo = parseInt(name.slice(16, 24), 16);
  return hi * Math.floor(0x100000000 / segBytes) + lo;
}

/**
 * WAL files waiting when archive_status cannot be listed: the segments from the oldest not archived
 * (the one failing, or the one after the last archived) up to the one being written, excluded.
 */
export function estimateWaiting(lsnBytes: number | null, segBytes: number, failing: boolean, lastFailed: string | null, lastArchived: string | null): number | null {
  if (lsnBytes === null || segBytes <= 0) return null;
  const current = Math.floor(lsnBytes / segBytes);
  const failedNo = lastFailed ? walSegNo(lastFailed, segBytes) : null;
  const archivedNo = lastArchived ? walSegNo(lastArchived, segBytes) : null;
  if (failing && failedNo !== null) return Math.max(0, current - failedNo);
  if (archivedNo !== null) return Math.max(0, current - archivedNo - 1);
  return null;
}

/**
 * pg_wal on this host, when the server runs here: connected over a Unix socket or a loopback
 * address, and its data directory exists here. Symlinks are followed when the data directory can
 * be read (as root, or as the server's user).
 */
async function resolveWalDir(dataDir: string | null, serverAddr: string | null): Promise<PgOutages['walDir']> {
  if (!dataDir) return { path: null, reason: 'data_directory is not visible to this role (needs pg_read_all_settings, part of pg_monitor)' };
  const local = serverAddr === null || serverAddr === '::1' || /^127\./.test(serverAddr);
  if (!local) return { path: null, reason: `the server (${serverAddr}) is not reached over this host's loopback or socket` };
  if (!existsSync(dataDir)) return { path: null, reason: `its data directory ${dataDir} is not on this host` };
  const wal = path.join(dataDir, 'pg_wal');
  try {
    return { path: await realpath(wal) };
  } catch {
    return { path: wal };
  }
}

/** For bench/outage-queries.ts: the statements as built for a connection. */
export const __fastSqlForBench = fastSql;
export const __tablesSqlForBench = TABLES_SQL;
export const __sequencesSqlForBench = SEQUENCES_SQL;
