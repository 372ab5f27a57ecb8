// The PostgreSQL probe: one dedicated connection, one multi-statement round trip per round.
// (About 420 lines, on purpose: the connection's life, the backoff, the round's deadline and the
// batch it sends are one state machine; its SQL texts and row readers are already apart, in
// postgres-sql.ts and postgres-rows.ts.)
//
// probe() never throws. Connection failures back off (1 s, doubling, at most 30 s); a call before
// the next attempt is due answers at once with the last error. A dropped connection (server
// restart, pg_terminate_backend) is noticed through the client's 'error'/'end' events and the next
// round reconnects. Every round is bounded by timeoutMs overall, on our side (statement_timeout
// means nothing to a server that is stopped): on timeout the socket is destroyed, never reused,
// and the next round connects afresh. close() ends a round in flight at once.
import type pg from 'pg';

import { loadPg } from '../pg/load';
import type { PgData, ProbeResult } from '../types';
import { redact } from '../util/redact';
import { OutageProbe } from './pg-outages';
import { APPLICATION_NAME, buildBatch, DETECT_SQL, MARK, SIZES_SQL, STALE_INDEXES_SQL, type BatchPart, type ConnMeta, type Row } from './postgres-sql';
import { assemble, detectMeta, foldQuery, toOids, toSizes } from './postgres-rows';
import { ConnectError, describeError, isConnectionLoss } from './postgres-errors';
import { toSessionRows } from '../sessions/read';

export { foldQuery };

export interface PgProbeOptions {
  connection: pg.ClientConfig;
  timeoutMs: number;
  /** secrets to scrub from error text */
  secrets?: string[];
}

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** how long close() waits for an idle server to acknowledge the end of the session */
const CLOSE_GRACE_MS = 300;
/** pg_database_size() stats every file of every database: refresh it at most this often */
const DB_SIZES_TTL_MS = 60_000;
const DB_SIZES_RETRY_MS = 5_000;
/** how often the unused indexes of the tables changed most since ANALYZE are looked for */
const STALE_TTL_MS = 60_000;

const TIMEOUT = Symbol('timeout');
const CLOSED = Symbol('closed');

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
  /** every client session is read in each round (PgData.sessions) while this is on: the console's sessions view */
  private sessionsWatched = false;

  constructor(opts: PgProbeOptions) {
    this.opts = opts;
    this.secrets = collectSecrets(opts);
    this.outages = new OutageProbe({ timeoutMs: opts.timeoutMs, describe: (err) => this.describe(err) });
  }

  /**
   * Whether each round also reads every client session of the cluster, with its locks
   * (PgData.sessions): one more statement in the round's one batch, on this connection. On
   * while the console's sessions view is open; a round already under way is not changed.
   */
  watchSessions(on: boolean): void {
    this.sessionsWatched = on;
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
    const withSessions = this.sessionsWatched;
    const build = () => buildBatch(meta.versionNum, statements, wantSizes, stale ? stale.oids : null, withSessions);
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
    if (withSessions) data.sessions = toSessionRows(rows('activity'));
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

// ---------------------------------------------------------------- helpers

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
