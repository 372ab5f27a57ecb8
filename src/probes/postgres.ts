// The PostgreSQL probe: one dedicated connection, one multi-statement round trip per round.
//
// probe() never throws. Connection failures back off (1 s, doubling, at most 30 s); a call before
// the next attempt is due answers at once with the last error. A dropped connection (server
// restart, pg_terminate_backend) is noticed through the client's 'error'/'end' events and the next
// round reconnects. Every round is bounded by timeoutMs overall, on our side (statement_timeout
// means nothing to a server that is stopped): on timeout the socket is destroyed, never reused,
// and the next round connects afresh. close() ends a round in flight at once.
import type pg from 'pg';

/**
 * node-postgres is loaded on first connect, not at start-up: loading it touches a global that
 * makes Node load its fetch implementation (about 35 ms), which the console's first frame and
 * `ops check --only host` should not wait for.
 */
let pgModule: Promise<typeof pg> | null = null;
const loadPg = () => (pgModule ??= import('pg').then((m) => (m.default ?? m) as typeof pg));
import type { PgBlockedSession, PgData, PgIndex, PgReplica, PgSession, PgStatement, PgTable, ProbeResult } from '../types';
import { redact } from '../util/redact';
import { OutageProbe } from './pg-outages';
import { iso, num, numOrNull, str, strOrNull } from './rows';

export interface PgProbeOptions {
  connection: pg.ClientConfig;
  timeoutMs: number;
  /** secrets to scrub from error text */
  secrets?: string[];
}

const APPLICATION_NAME = 'ops-console';
const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** how long close() waits for an idle server to acknowledge the end of the session */
const CLOSE_GRACE_MS = 300;
const QUERY_TEXT_MAX = 200;
/** pg_database_size() stats every file of every database: refresh it at most this often */
const DB_SIZES_TTL_MS = 60_000;
const DB_SIZES_RETRY_MS = 5_000;
/** how often the unused indexes of the tables changed most since ANALYZE are looked for */
const STALE_TTL_MS = 60_000;
/** Marks the probe's own statements so pg_stat_statements' top list can leave them out. */
const MARK = '/*ops-console:probe*/';

type StatementsState =
  | { available: true; relation: string; meanCol: 'mean_exec_time' | 'mean_time'; totalCol: 'total_exec_time' | 'total_time' }
  | { available: false; reason: string };

interface ConnMeta {
  versionNum: number;
  statements: StatementsState;
}

type Row = Record<string, unknown>;

const TIMEOUT = Symbol('timeout');
const CLOSED = Symbol('closed');

class ConnectError extends Error {
  constructor(readonly inner: unknown) {
    super('connect failed');
  }
}

export class PostgresProbe {
  private readonly opts: PgProbeOptions;
  private readonly secrets: string[];
  private client: pg.Client | null = null;
  private alive = false;
  private meta: ConnMeta | null = null;
  private failures = 0;
  private nextRetryAt: number | null = null;
  private lastError: string | null = null;
  private inflight: Promise<ProbeResult<PgData>> | null = null;
  /** bumped when a round is abandoned (timeout, close), so its leftover work cannot reconnect */
  private gen = 0;
  private closed = false;
  /** a connection attempt (connect + detection query) is under way */
  private connecting = false;
  private sizes: { at: number; rows: { name: string; sizeBytes: number }[] } | null = null;
  private sizesRefreshing = false;
  /**
   * Unused-index candidates whose relpages is likely stale (on the tables changed most since
   * their last ANALYZE): finding them scans every table's statistics (10 to 15 ms with 10,000
   * tables), so it runs in the first round and then in the background every STALE_TTL_MS; each
   * round sizes the ones still never scanned.
   */
  private staleIndexes: { at: number; oids: number[] } | null = null;
  private staleRefreshing = false;
  /** ends the round in flight at once (close): its deadline is not waited for */
  private abandonRound: (() => void) | null = null;
  /** the checks behind real outages (slots, archiver, xmin horizon, ...): src/probes/pg-outages.ts */
  private readonly outages: OutageProbe;

  constructor(opts: PgProbeOptions) {
    this.opts = opts;
    this.secrets = collectSecrets(opts);
    this.outages = new OutageProbe({ timeoutMs: opts.timeoutMs, describe: (err) => this.describe(err) });
  }

  /** When the next connection attempt is due (epoch ms); null while healthy. */
  get retryAt(): number | null {
    return this.nextRetryAt;
  }

  probe(): Promise<ProbeResult<PgData>> {
    if (!this.inflight) {
      this.inflight = this.round().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.gen += 1;
    const client = this.client;
    // a round in flight (the server may not be answering it) is ended now, not at its deadline
    const busy = this.inflight !== null || this.connecting || !this.alive;
    this.abandonRound?.();
    this.client = null;
    this.alive = false;
    this.meta = null;
    if (!client) return;
    // an idle, healthy connection is ended politely (a short wait for the server's goodbye);
    // one that is busy or broken is destroyed: a stopped server would never say goodbye
    if (busy || this.sizesRefreshing || this.staleRefreshing || this.outages.refreshing) destroyClient(client);
    else await endClient(client, Math.min(this.opts.timeoutMs, CLOSE_GRACE_MS));
  }

  // ---------------------------------------------------------------- round
  private async round(): Promise<ProbeResult<PgData>> {
    const at = Date.now();
    const fail = (error: string): ProbeResult<PgData> => ({ ok: false, error, at, ms: Date.now() - at });
    try {
      if (this.closed) return fail('probe closed');
      if (this.nextRetryAt !== null && at < this.nextRetryAt) {
        const secs = Math.max(1, Math.ceil((this.nextRetryAt - at) / 1000));
        return fail(`${this.lastError ?? 'not connected'} (retrying in ${secs}s)`);
      }

      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<typeof TIMEOUT | typeof CLOSED>((resolve) => {
        timer = setTimeout(() => resolve(TIMEOUT), this.opts.timeoutMs);
        this.abandonRound = () => resolve(CLOSED);
      });
      const work = this.collect(this.gen);
      work.catch(() => {}); // settled later if we time out first
      let outcome: { data: PgData } | { err: unknown } | typeof TIMEOUT | typeof CLOSED;
      try {
        outcome = await Promise.race([work.then((data) => ({ data }), (err: unknown) => ({ err })), timeout]);
      } finally {
        clearTimeout(timer);
        this.abandonRound = null;
      }

      if (outcome === CLOSED) return fail('probe closed');
      if (outcome === TIMEOUT) {
        this.gen += 1;
        const connecting = this.connecting;
        this.dropClient();
        const where = connecting ? ` connecting to ${this.endpoint()}` : '';
        const msg = this.clean(`timed out after ${this.opts.timeoutMs} ms${where}`);
        if (connecting) this.connectFailed(msg);
        else this.lastError = msg;
        return fail(msg);
      }
      if ('err' in outcome) {
        const err = outcome.err;
        if (err instanceof ConnectError) {
          const msg = this.describe(err.inner);
          this.connectFailed(msg);
          return fail(msg);
        }
        const msg = this.describe(err);
        this.lastError = msg;
        return fail(msg);
      }
      this.failures = 0;
      this.nextRetryAt = null;
      this.lastError = null;
      return { ok: true, data: outcome.data, at, ms: Date.now() - at };
    } catch (err) {
      // Defensive: nothing above should throw, but probe() must never reject.
      return fail(this.describe(err));
    }
  }

  private connectFailed(msg: string): void {
    this.failures += 1;
    const delay = Math.min(BACKOFF_START_MS * 2 ** (this.failures - 1), BACKOFF_MAX_MS);
    this.nextRetryAt = Date.now() + delay;
    this.lastError = msg;
  }

  /** Connects if needed and runs the round's batch. Connection failures are wrapped in ConnectError. */
  private async collect(gen: number): Promise<PgData> {
    const reused = this.alive && this.client !== null;
    if (!reused) await this.connect(gen);
    try {
      return await this.runBatch();
    } catch (err) {
      // A reused connection that turns out dead (server restarted, backend terminated just before
      // this round) gets one fresh attempt within the same round.
      if (gen !== this.gen) throw err;
      if (reused && (!this.alive || isConnectionLoss(err)) && !this.closed) {
        this.dropClient();
        await this.connect(gen);
        return await this.runBatch();
      }
      if (isConnectionLoss(err)) this.dropClient();
      throw err;
    }
  }

  private async connect(gen: number): Promise<void> {
    if (gen !== this.gen || this.closed) throw new Error('probe round abandoned');
    this.dropClient();
    const timeoutMs = this.opts.timeoutMs;
    const { Client } = await loadPg();
    if (gen !== this.gen || this.closed) throw new Error('probe round abandoned');
    const client = new Client({
      ...this.opts.connection,
      application_name: APPLICATION_NAME,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      lock_timeout: timeoutMs,
    });
    this.client = client;
    this.meta = null;
    this.connecting = true;
    const markDead = () => {
      if (this.client === client) this.alive = false;
    };
    // An idle connection that drops must never crash the process.
    client.on('error', markDead);
    client.on('end', markDead);
    try {
      await client.connect();
      if (this.closed || this.client !== client) throw new Error('probe closed');
      const res = await client.query(DETECT_SQL);
      this.meta = detectMeta(res.rows[0] ?? {});
      await this.outages.detect(client);
    } catch (err) {
      if (this.client === client) this.dropClient();
      else destroyClient(client);
      throw new ConnectError(err);
    } finally {
      if (this.client === client) this.connecting = false;
    }
    this.alive = true;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = null;
    this.alive = false;
    this.connecting = false;
    this.meta = null;
    if (client) destroyClient(client);
  }

  private async runBatch(): Promise<PgData> {
    const client = this.client;
    const meta = this.meta;
    if (!client || !meta) throw new Error('not connected');
    const now = Date.now();
    const wantSizes = !this.sizes;
    // Should this round fail or time out (pg_database_size can be slow on a huge cluster), later
    // rounds must not repeat the sizes: the background refresh retries them a few seconds on.
    if (wantSizes) this.sizes = { at: now - DB_SIZES_TTL_MS + DB_SIZES_RETRY_MS, rows: [] };
    const stale = this.staleIndexes;
    if (!stale) this.staleIndexes = { at: now - STALE_TTL_MS + DB_SIZES_RETRY_MS, oids: [] };
    let statements = meta.statements;
    const build = () => buildBatch(meta.versionNum, statements, wantSizes, stale ? stale.oids : null);
    let batch = build();
    let results: pg.QueryResult[];
    try {
      results = asResults(await client.query(batch.sql));
    } catch (err) {
      if (!statements.available || isConnectionLoss(err) || !this.alive) throw err;
      // Most likely pg_stat_statements itself (e.g. not in shared_preload_libraries): degrade once
      // for this connection and run the batch without it.
      const original = statements;
      statements = { available: false, reason: `pg_stat_statements query failed: ${this.describe(err)}` };
      batch = build();
      try {
        results = asResults(await client.query(batch.sql));
      } catch (err2) {
        statements = original; // it was not pg_stat_statements after all
        throw err2;
      }
      meta.statements = statements;
    }
    const rows = (name: BatchPart): Row[] => {
      const i = batch.parts.indexOf(name);
      return i >= 0 && results[i] ? (results[i].rows as Row[]) : [];
    };
    if (wantSizes) this.sizes = { at: now, rows: toSizes(rows('sizes')) };
    if (!stale) this.staleIndexes = { at: now, oids: toOids(rows('stale')) };
    const data = assemble(rows, statements, this.sizes?.rows ?? []);
    // its own round trip (an error there makes its checks UNKNOWN, not the round), before the background refreshes
    data.outages = await this.outages.collect(client);
    if (this.sizes && now - this.sizes.at >= DB_SIZES_TTL_MS) this.refreshSizes(client);
    if (this.staleIndexes && now - this.staleIndexes.at >= STALE_TTL_MS) this.refreshStale(client);
    return data;
  }

  /** Finds the stale-relpages index candidates again, off the round's clock; failures keep the old list. */
  private refreshStale(client: pg.Client): void {
    if (this.staleRefreshing) return;
    this.staleRefreshing = true;
    client
      .query(`${MARK} ${STALE_INDEXES_SQL}`)
      .then((res) => {
        if (this.client === client) this.staleIndexes = { at: Date.now(), oids: toOids(res.rows as Row[]) };
      })
      .catch(() => {})
      .finally(() => {
        this.staleRefreshing = false;
      });
  }

  /** Refreshes database sizes after a round, off the round's clock; failures keep the old list. */
  private refreshSizes(client: pg.Client): void {
    if (this.sizesRefreshing) return;
    this.sizesRefreshing = true;
    client
      .query(`${MARK} ${SIZES_SQL}`)
      .then((res) => {
        if (this.client === client) this.sizes = { at: Date.now(), rows: toSizes(res.rows as Row[]) };
      })
      .catch(() => {})
      .finally(() => {
        this.sizesRefreshing = false;
      });
  }

  // ---------------------------------------------------------------- errors
  private endpoint(): string {
    const c = this.opts.connection;
    let host = c.host;
    let port: number | string | undefined = c.port;
    if ((!host || !port) && c.connectionString) {
      try {
        const u = new URL(c.connectionString);
        host ||= decodeURIComponent(u.hostname) || undefined;
        port ||= u.port || undefined;
      } catch {
        /* ignore */
      }
    }
    host ||= process.env.PGHOST || 'localhost';
    port ||= process.env.PGPORT || 5432;
    return host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : `${host}:${port}`;
  }

  private describe(err: unknown): string {
    return this.clean(describeError(err, this.opts.timeoutMs, this.endpoint()));
  }

  private clean(text: string): string {
    // a driver's message may quote a connection string: URL passwords go too, not only the known secrets
    const out = redact(text.replace(/\s+/g, ' ').trim(), this.secrets);
    return out || 'unknown error';
  }
}

// ---------------------------------------------------------------- SQL

const DETECT_SQL = `${MARK} SELECT current_setting('server_version_num')::int AS version_num,
  e.nspname AS pgss_schema,
  (SELECT string_agg(a.attname, ',') FROM pg_attribute a
    WHERE a.attrelid = to_regclass(quote_ident(e.nspname) || '.pg_stat_statements')
      AND a.attname IN ('mean_exec_time', 'mean_time') AND NOT a.attisdropped) AS pgss_cols,
  current_database() AS database
FROM (SELECT 1) one
LEFT JOIN (SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
           WHERE x.extname = 'pg_stat_statements') e ON true`;

function detectMeta(r: Row): ConnMeta {
  const versionNum = num(r.version_num);
  let statements: StatementsState;
  if (r.pgss_schema == null) {
    statements = { available: false, reason: `pg_stat_statements is not installed in ${str(r.database)}` };
  } else {
    const cols = String(r.pgss_cols ?? '').split(',');
    const relation = `${quoteIdent(str(r.pgss_schema))}.pg_stat_statements`;
    if (cols.includes('mean_exec_time')) {
      statements = { available: true, relation, meanCol: 'mean_exec_time', totalCol: 'total_exec_time' };
    } else if (cols.includes('mean_time')) {
      statements = { available: true, relation, meanCol: 'mean_time', totalCol: 'total_time' };
    } else {
      statements = { available: false, reason: 'pg_stat_statements has no mean_exec_time/mean_time column' };
    }
  }
  return { versionNum, statements };
}

type BatchPart = 'set' | 'meta' | 'conn' | 'sessions' | 'ages' | 'blocked' | 'tables' | 'unused' | 'stale' | 'xid' | 'repl' | 'sizes' | 'statements';

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
const OWN_SESSION = `(a.application_name = '${APPLICATION_NAME}' OR a.application_name LIKE '${APPLICATION_NAME}: %')`;

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
const STALE_INDEXES_SQL = `SELECT x.indexrelid AS oid
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
const SIZES_SQL = `SELECT d.datname AS name, pg_database_size(d.oid)::float8 AS size FROM pg_database d
WHERE d.datallowconn AND has_database_privilege(d.oid, 'CONNECT') ORDER BY 2 DESC NULLS LAST, 1`;

/**
 * staleOids: the stale-relpages index candidates found earlier (integers, inlined); null to find
 * them in this round (the first), which then also returns them as the 'stale' part.
 */
function buildBatch(versionNum: number, statements: StatementsState, withSizes: boolean, staleOids: number[] | null = null): { sql: string; parts: BatchPart[] } {
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

function assemble(rows: (name: BatchPart) => Row[], statements: StatementsState, sizes: PgData['databases']): PgData {
  const m = rows('meta')[0] ?? {};
  const byState: Record<string, number> = {};
  let total = 0;
  let own = 0;
  for (const r of rows('conn')) {
    const n = num(r.n);
    if (r.own === true) own += n;
    else byState[str(r.state)] = (byState[str(r.state)] ?? 0) + n;
    total += n;
  }
  const sessionRows = rows('sessions');
  const longQueries = sessionRows.filter((r) => r.kind === 'active').map(toSession);
  const idleInTransaction = sessionRows.filter((r) => r.kind === 'idle_tx').map(toSession);
  const longTransactions = sessionRows.filter((r) => r.kind === 'xact').map(toSession);
  const ages = rows('ages')[0] ?? {};
  const blocked: PgBlockedSession[] = rows('blocked').map((r) => ({
    ...toSession(r),
    blockedBy: Array.isArray(r.blocked_by) ? r.blocked_by.map(num) : [],
    waitSec: Math.max(0, num(r.wait_sec)),
  }));
  const tables: PgTable[] = rows('tables').map((r) => {
    const live = num(r.live);
    const dead = num(r.dead);
    return {
      schema: str(r.schema),
      name: str(r.name),
      liveTuples: live,
      deadTuples: dead,
      deadPct: live + dead > 0 ? (dead / (live + dead)) * 100 : 0,
      lastVacuum: iso(r.last_vacuum),
      lastAutovacuum: iso(r.last_autovacuum),
      lastAnalyze: iso(r.last_analyze),
      lastAutoanalyze: iso(r.last_autoanalyze),
    };
  });
  const unusedIndexes: PgIndex[] = rows('unused').map((r) => ({
    schema: str(r.schema),
    table: str(r.table),
    name: str(r.name),
    sizeBytes: num(r.size),
  }));
  const replicas: PgReplica[] = rows('repl').map((r) => ({
    name: str(r.name),
    client: str(r.client),
    state: str(r.state),
    lagSec: numOrNull(r.lag),
  }));
  const inRecovery = m.in_recovery === true;
  let stmts: PgData['statements'];
  if (statements.available) {
    const top: PgStatement[] = rows('statements').map((r) => ({
      query: foldQuery(r.query),
      calls: num(r.calls),
      meanMs: num(r.mean),
      totalMs: num(r.total),
    }));
    stmts = { available: true, top };
  } else {
    stmts = { available: false, reason: statements.reason };
  }
  return {
    version: str(m.version),
    versionNum: num(m.version_num),
    uptimeSec: Math.max(0, num(m.uptime)),
    database: str(m.database),
    inRecovery,
    connections: {
      total,
      max: num(m.max_conn),
      reservedForSuperuser: num(m.reserved),
      byState,
      own,
    },
    longestQuery: longQueries[0] ?? null,
    oldestIdleInTransaction: idleInTransaction[0] ?? null,
    longQueries,
    idleInTransaction,
    longTransactions,
    sessionAges: { longQueries: numbers(ages.running), idleInTransaction: numbers(ages.idle_tx), longTransactions: numbers(ages.xact) },
    blocked,
    cache: {
      bufferHitPct: ratio(m.blks_hit, m.blks_read),
      indexHitPct: ratio(m.idx_hit, m.idx_read),
    },
    tables,
    unusedIndexes,
    xidAge: rows('xid').map((r) => ({ database: str(r.name), age: num(r.age) })),
    databases: sizes,
    replication: {
      role: inRecovery ? 'standby' : 'primary',
      replicas,
      standbyLagSec: inRecovery ? numOrNull(m.standby_lag) : null,
    },
    statements: stmts,
  };
}

// ---------------------------------------------------------------- helpers

function toOids(rows: Row[]): number[] {
  return rows.map((r) => num(r.oid)).filter((o) => o > 0);
}

function toSizes(rows: Row[]): { name: string; sizeBytes: number }[] {
  return rows.map((r) => ({ name: str(r.name), sizeBytes: num(r.size) }));
}

function toSession(r: Row): PgSession {
  return {
    pid: num(r.pid),
    user: strOrNull(r.user),
    database: strOrNull(r.database),
    client: str(r.client) || 'local',
    application: strOrNull(r.application),
    state: strOrNull(r.state),
    durationSec: Math.max(0, num(r.duration)),
    xactSec: r.xact_sec == null ? null : Math.max(0, num(r.xact_sec)),
    query: foldQuery(r.query),
    waitEventType: strOrNull(r.wait_event_type),
    waitEvent: strOrNull(r.wait_event),
  };
}

/** Whitespace folded, truncated to about 200 characters. */
export function foldQuery(q: unknown): string {
  const s = String(q ?? '').replace(/\s+/g, ' ').trim();
  return s.length > QUERY_TEXT_MAX ? `${s.slice(0, QUERY_TEXT_MAX - 1)}…` : s;
}

function ratio(hit: unknown, read: unknown): number | null {
  const h = num(hit);
  const r = num(read);
  return h + r > 0 ? (h / (h + r)) * 100 : null;
}

/** A float8[] as node-postgres gives it (an array, or null for no rows), negatives as 0. */
function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map((x) => Math.max(0, num(x))) : [];
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function asResults(r: pg.QueryResult | pg.QueryResult[]): pg.QueryResult[] {
  return Array.isArray(r) ? r : [r];
}

function collectSecrets(opts: PgProbeOptions): string[] {
  const out = new Set<string>();
  const add = (s: unknown) => {
    if (typeof s !== 'string' || s === '') return;
    out.add(s);
    const enc = encodeURIComponent(s);
    if (enc !== s) out.add(enc);
  };
  for (const s of opts.secrets ?? []) add(s);
  add(opts.connection.password);
  if (opts.connection.connectionString) {
    try {
      const u = new URL(opts.connection.connectionString);
      if (u.password) {
        add(u.password);
        add(decodeURIComponent(u.password));
      }
    } catch {
      /* ignore */
    }
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

interface NodeishError {
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: unknown[];
  severity?: string;
}

const CONNECTION_LOSS = /Connection terminated|ECONNRESET|EPIPE|not queryable|Client was closed|terminating connection/i;

function isConnectionLoss(err: unknown): boolean {
  const e = err as NodeishError | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '57P01' || e.code === '57P02' || e.code === '57P03' || e.code?.startsWith('08')) return true;
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return true;
  return CONNECTION_LOSS.test(String(e.message ?? ''));
}

function describeError(err: unknown, timeoutMs: number, endpoint: string): string {
  let e = err as NodeishError | null;
  if (e instanceof ConnectError) e = e.inner as NodeishError;
  if (e == null || typeof e !== 'object') return String(err ?? 'unknown error');
  // Node's happy-eyeballs (localhost -> ::1 and 127.0.0.1) reports an AggregateError with no message.
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const parts = [...new Set(e.errors.map((x) => describeError(x, timeoutMs, endpoint)))];
    return parts.join('; ');
  }
  const at = e.address ? (e.port ? `${e.address}:${e.port}` : e.address) : endpoint;
  const msg = String(e.message ?? '');
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused at ${at}`;
    case 'ENOENT':
      return `no server socket at ${at}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found: ${e.hostname ?? endpoint}`;
    case 'ETIMEDOUT':
      return `timed out connecting to ${at}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: ${at}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${at}`;
    case '57014':
      return `timed out after ${timeoutMs} ms (${msg})`;
    default:
      break;
  }
  if (/timeout expired|connection timeout/i.test(msg)) return `timed out after ${timeoutMs} ms connecting to ${endpoint}`;
  if (/Connection terminated unexpectedly/i.test(msg)) return `connection to ${endpoint} closed unexpectedly`;
  if (/^Connection terminated$/i.test(msg)) return `connection to ${endpoint} closed`;
  return msg || e.code || 'unknown error';
}

function destroyClient(client: pg.Client): void {
  try {
    client.connection.stream.destroy();
  } catch {
    /* ignore */
  }
  client.end().catch(() => {});
}

async function endClient(client: pg.Client, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.end().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    destroyClient(client);
  }
}
