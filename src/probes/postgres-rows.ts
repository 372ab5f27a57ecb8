// The PostgreSQL probe's row mapping: the batch's rows made into PgData, and the connection's meta.
import type { PgBlockedSession, PgData, PgIndex, PgReplica, PgSession, PgStatement, PgTable } from '../types';
import type { BatchPart, ConnMeta, Row, StatementsState } from './postgres-sql';
import { iso, num, numOrNull, str, strOrNull } from './rows';

/**
 * A session's or a statement's query text as the dashboard gets it: what its Sessions panel can
 * show wrapped on a tall terminal (200 columns by 50 rows shows a few of these whole); the whole
 * query is the sessions view's (src/sessions/sql.ts). The SQL reads at most 2,000 characters.
 */
const QUERY_TEXT_MAX = 1000;

export function detectMeta(r: Row): ConnMeta {
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

export function assemble(rows: (name: BatchPart) => Row[], statements: StatementsState, sizes: PgData['databases']): PgData {
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

export function toOids(rows: Row[]): number[] {
  return rows.map((r) => num(r.oid)).filter((o) => o > 0);
}

export function toSizes(rows: Row[]): { name: string; sizeBytes: number }[] {
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
