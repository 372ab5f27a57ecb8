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
import type pg from 'pg';
import type {
  PgArchiver,
  PgAutovacuumWorker,
  PgInvalidIndex,
  PgOutageAccess,
  PgOutages,
  PgOutagesResult,
  PgSequences,
  PgPreparedXact,
  PgSlot,
  PgXminHolder,
} from '../types-outages';
import { byCode, iso, num, numOrNull, str, strOrNull } from './rows';
import { assembleTables, estimateWaiting, resolveWalDir, sequenceUse, toSeqMeta } from './pg-outages-rows';
import { DETECT_SQL, MARK, SEQUENCES_SQL, TABLES_SQL, fastSql, oidList, type Meta, type Row, type SlowRead } from './pg-outages-sql';
export { estimateWaiting, sequenceUse, walSegNo } from './pg-outages-rows';

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
      .sort((x, y) => y.deadTuples - x.deadTuples || byCode(x.schema, y.schema) || byCode(x.name, y.name));
    let slowOut: PgOutages['slow'] = this.slowError && !slow ? { error: this.slowError } : null;
    if (slow) {
      const never = re
        .filter((r) => r.kind === 'never')
        .map((r) => ({ schema: str(r.schema), name: str(r.name), liveTuples: num(r.n2) }))
        .sort((x, y) => y.liveTuples - x.liveTuples || byCode(x.schema, y.schema) || byCode(x.name, y.name));
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

/** For bench/outage-queries.ts: the statements as built for a connection. */
export const __fastSqlForBench = fastSql;
export const __tablesSqlForBench = TABLES_SQL;
export const __sequencesSqlForBench = SEQUENCES_SQL;
