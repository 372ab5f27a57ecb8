// Fixed MonitorStates for screen tests, and a MonitorLike that serves them with call counters.
// Checks are built by hand here (not by src/health) so screen tests do not depend on the rules.
import { attachFixes } from '../../src/health/fixes';
import type {
  Check,
  CheckGroup,
  CheckRow,
  Filesystem,
  HealthReport,
  HostData,
  MonitorLike,
  MonitorState,
  PgBlockedSession,
  PgData,
  PgIndex,
  PgSession,
  PgTable,
  Snapshot,
  Status,
} from '../../src/types';

/** 2025-01-15 10:30:00 UTC: every fixture's snapshot time. */
export const FIXED_AT = Date.UTC(2025, 0, 15, 10, 30, 0);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

// ---------------------------------------------------------------- checks
const SEVERITY: Record<Status, number> = { OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };

function measured(
  id: string,
  group: CheckGroup,
  label: string,
  unit: string,
  value: number,
  [warning, critical]: [number, number],
  summary: string,
  subject: string | null,
  direction: 'above' | 'below' = 'above',
): Check {
  const status: Status =
    direction === 'above'
      ? value >= critical ? 'CRITICAL' : value >= warning ? 'WARNING' : 'OK'
      : value < critical ? 'CRITICAL' : value < warning ? 'WARNING' : 'OK';
  return { id, group, label, status, summary, value, unit, thresholds: { warning, critical, direction }, subject };
}

function fixed(id: string, group: CheckGroup, label: string, unit: string, status: Status, summary: string, value: number | null, subject: string | null): Check {
  return { id, group, label, status, summary, value, unit, thresholds: null, subject };
}

/** Each object's own verdict, as the rules give it (Check.rows): higher is worse. */
function judgedRows<T>(list: T[], subject: (x: T) => string, value: (x: T) => number, [warning, critical]: [number, number]): CheckRow[] {
  return list.map((x) => {
    const v = value(x);
    return { subject: subject(x), status: v >= critical ? 'CRITICAL' : v >= warning ? 'WARNING' : 'OK', value: v };
  });
}
const byPid = (x: PgSession) => `pid ${x.pid}`;

/** A report as evaluate() gives it: the verdict, the score, and each finding bound to its fix (the core's own binding). */
export function reportOf(checks: Check[], at = FIXED_AT): HealthReport {
  attachFixes(checks);
  const status = checks.length ? checks.reduce<Status>((w, c) => (SEVERITY[c.status] > SEVERITY[w] ? c.status : w), 'OK') : 'UNKNOWN';
  const ok = checks.filter((c) => c.status === 'OK').length;
  return { at, status, score: checks.length ? Math.round((100 * ok) / checks.length) : 0, checks };
}

// ---------------------------------------------------------------- data builders
function fs(mount: string, usedPct: number, sizeGiB: number, fstype = 'ext4', device = '/dev/sda1'): Filesystem {
  const sizeBytes = sizeGiB * GiB;
  const usedBytes = Math.round((sizeBytes * usedPct) / 100);
  return { mount, device, fstype, sizeBytes, usedBytes, availBytes: sizeBytes - usedBytes, usedPct };
}

function session(pid: number, user: string, client: string, state: string, durationSec: number, query: string): PgSession {
  return {
    pid,
    user,
    database: 'app',
    client,
    application: 'app-server',
    state,
    durationSec,
    xactSec: state === 'idle' ? null : durationSec,
    query,
    waitEventType: null,
    waitEvent: null,
  };
}

function blocked(pid: number, by: number[], waitSec: number, user = 'alice', client = '10.0.0.5'): PgBlockedSession {
  return {
    ...session(pid, user, client, 'active', waitSec, `UPDATE orders SET status = 'shipped' WHERE id = ${pid}`),
    waitEventType: 'Lock',
    waitEvent: 'transactionid',
    blockedBy: by,
    waitSec,
  };
}

function table(schema: string, name: string, live: number, dead: number, lastAutovacuum: string | null): PgTable {
  return {
    schema,
    name,
    liveTuples: live,
    deadTuples: dead,
    deadPct: live + dead > 0 ? (100 * dead) / (live + dead) : 0,
    lastVacuum: null,
    lastAutovacuum,
    lastAnalyze: null,
    lastAutoanalyze: lastAutovacuum,
  };
}

function history(base: number, spread: number, n = 40): number[] {
  return Array.from({ length: n }, (_, i) => base + spread * Math.sin(i / 3));
}

interface Knobs {
  cpuPct: number;
  memUsedPct: number;
  filesystems: Filesystem[];
  pg: PgData | { error: string } | null;
  tlsDays: number;
  httpStatus: number;
  badge: string | null;
  paused: boolean;
  pgRetryAt: number | null;
}

function basePg(): PgData {
  return {
    version: '16.4 (Debian 16.4-1.pgdg120+1)',
    versionNum: 160004,
    uptimeSec: 3 * 86400 + 4 * 3600,
    database: 'app',
    inRecovery: false,
    connections: { total: 23, max: 100, reservedForSuperuser: 3, byState: { active: 2, idle: 20 }, own: 1 },
    longestQuery: null,
    oldestIdleInTransaction: null,
    longQueries: [],
    idleInTransaction: [],
    longTransactions: [],
    sessionAges: { longQueries: [], idleInTransaction: [], longTransactions: [] },
    blocked: [],
    cache: { bufferHitPct: 99.4, indexHitPct: 99.1 },
    tables: [table('public', 'customers', 50_000, 120, '2025-01-15T08:00:00Z'), table('public', 'events', 900_000, 4_000, '2025-01-15T09:00:00Z')],
    unusedIndexes: [],
    xidAge: [
      { database: 'app', age: 150_000_000 },
      { database: 'postgres', age: 90_000_000 },
    ],
    databases: [{ name: 'app', sizeBytes: 12 * GiB }],
    replication: { role: 'primary', replicas: [], standbyLagSec: null },
    statements: { available: false, reason: 'pg_stat_statements is not installed' },
  };
}

function build(k: Knobs): MonitorState {
  const host: HostData = {
    hostname: 'db-maint-01',
    cores: 4,
    cpuPct: k.cpuPct,
    memTotalBytes: 16 * GiB,
    memAvailableBytes: Math.round(16 * GiB * (1 - k.memUsedPct / 100)),
    memUsedPct: k.memUsedPct,
    swapTotalBytes: 2 * GiB,
    swapUsedBytes: 64 * MiB,
    load: [0.52, 0.48, 0.4],
    uptimeSec: 12 * 86400 + 3 * 3600,
    filesystems: k.filesystems,
  };
  const checks: Check[] = [
    measured('host.cpu', 'host', 'CPU', '%', k.cpuPct, [60, 80], `CPU ${k.cpuPct.toFixed(1)}% of 4 cores, load 0.52`, host.hostname),
    measured('host.memory', 'host', 'memory', '%', k.memUsedPct, [70, 85], `memory ${k.memUsedPct.toFixed(1)}% used`, host.hostname),
    ...k.filesystems.map((f) =>
      measured(`disk:${f.mount}`, 'disk', f.mount, '%', f.usedPct, [80, 90], `${f.mount} ${f.usedPct.toFixed(1)}% used`, f.mount),
    ),
  ];

  let postgres: Snapshot['postgres'];
  if (k.pg && 'error' in k.pg) {
    postgres = { ok: false, error: k.pg.error, at: FIXED_AT, ms: 3 };
    checks.push(fixed('pg.up', 'postgres', 'PostgreSQL', '', 'CRITICAL', `PostgreSQL unavailable: ${k.pg.error}`, 0, null));
    for (const [id, group] of [
      ['pg.connections', 'postgres'],
      ['pg.cache.buffer', 'postgres'],
      ['pg.cache.index', 'postgres'],
      ['pg.xid_age', 'postgres'],
      ['sessions.long_query', 'sessions'],
      ['sessions.idle_in_transaction', 'sessions'],
      ['sessions.blocked', 'sessions'],
      ['sessions.long_transaction', 'sessions'],
      ['tables.dead_tuples', 'tables'],
      ['tables.unused_indexes', 'tables'],
    ] as const) {
      checks.push({ id, group, label: id, status: 'UNKNOWN', summary: 'database unavailable', value: null, unit: '', thresholds: null, subject: null });
    }
  } else if (k.pg) {
    const pg = k.pg;
    postgres = { ok: true, data: pg, at: FIXED_AT, ms: 12 };
    const c = pg.connections;
    checks.push(
      fixed('pg.up', 'postgres', 'PostgreSQL', '', 'OK', 'PostgreSQL 16.4 up 3d04h', 1, 'app'),
      measured('pg.connections', 'postgres', 'connections', '%', (100 * c.total) / c.max, [80, 90], `${c.total} of ${c.max} connections`, 'app'),
      measured('pg.cache.buffer', 'postgres', 'buffer cache hit', '%', pg.cache.bufferHitPct ?? 100, [90, 80], 'buffer cache hit', 'app', 'below'),
      measured('pg.cache.index', 'postgres', 'index cache hit', '%', pg.cache.indexHitPct ?? 100, [90, 80], 'index cache hit', 'app', 'below'),
      measured('pg.xid_age', 'postgres', 'xid age', '', pg.xidAge[0].age, [1_300_000_000, 1_400_000_000], 'transaction ID age', pg.xidAge[0].database),
    );
    const lq = pg.longQueries[0];
    checks.push({
      ...(lq
        ? measured('sessions.long_query', 'sessions', 'longest query', 's', lq.durationSec, [60, 300], `pid ${lq.pid} running`, `pid ${lq.pid}`)
        : fixed('sessions.long_query', 'sessions', 'longest query', 's', 'OK', 'no active queries', 0, null)),
      rows: judgedRows(pg.longQueries, byPid, (x) => x.durationSec, [60, 300]),
    });
    const it = pg.idleInTransaction[0];
    checks.push({
      ...(it
        ? measured('sessions.idle_in_transaction', 'sessions', 'idle in transaction', 's', it.durationSec, [60, 600], `pid ${it.pid} idle in transaction`, `pid ${it.pid}`)
        : fixed('sessions.idle_in_transaction', 'sessions', 'idle in transaction', 's', 'OK', 'no session idle in transaction', 0, null)),
      rows: judgedRows(pg.idleInTransaction, byPid, (x) => x.durationSec, [60, 600]),
    });
    const b = pg.blocked[0];
    checks.push({
      ...(b
        ? measured('sessions.blocked', 'sessions', 'blocked sessions', 's', b.waitSec, [30, 300], `${pg.blocked.length} blocked, pid ${b.pid} blocked by pid ${b.blockedBy.join(' and pid ')}`, `pid ${b.pid}`)
        : fixed('sessions.blocked', 'sessions', 'blocked sessions', 's', 'OK', 'no session waiting on a lock', 0, null)),
      rows: judgedRows(pg.blocked, byPid, (x) => x.waitSec, [30, 300]),
    });
    const lt = pg.longTransactions[0];
    checks.push({
      ...(lt
        ? measured('sessions.long_transaction', 'sessions', 'oldest transaction', 's', lt.durationSec, [600, 1500], `pid ${lt.pid} transaction open`, `pid ${lt.pid}`)
        : fixed('sessions.long_transaction', 'sessions', 'oldest transaction', 's', 'OK', 'no open transaction', 0, null)),
      rows: judgedRows(pg.longTransactions, byPid, (x) => x.durationSec, [600, 1500]),
    });
    const worst = pg.tables.filter((t) => t.deadTuples >= 1000).sort((x, y) => y.deadPct - x.deadPct)[0];
    checks.push({
      ...(worst
        ? measured('tables.dead_tuples', 'tables', 'dead tuples', '%', worst.deadPct, [20, 50], `${worst.schema}.${worst.name} dead`, `${worst.schema}.${worst.name}`)
        : fixed('tables.dead_tuples', 'tables', 'dead tuples', '%', 'OK', 'no table with 1k+ dead tuples', 0, null)),
      rows: pg.tables.map((t) => ({
        subject: `${t.schema}.${t.name}`,
        status: t.deadTuples < 1000 ? 'OK' : t.deadPct >= 50 ? 'CRITICAL' : t.deadPct >= 20 ? 'WARNING' : 'OK',
        value: t.deadPct,
        object: { kind: 'table' as const, schema: t.schema, table: t.name },
      })),
    });
    const flagged = pg.unusedIndexes.filter((i) => i.sizeBytes >= MiB);
    checks.push({
      ...(flagged.length
        ? fixed('tables.unused_indexes', 'tables', 'unused indexes', '', 'WARNING', `${flagged.length} never-used index(es)`, flagged.length, `${flagged[0].schema}.${flagged[0].name}`)
        : fixed('tables.unused_indexes', 'tables', 'unused indexes', '', 'OK', 'no never-used index worth reviewing', 0, null)),
      rows: pg.unusedIndexes.map((i) => ({ subject: `${i.schema}.${i.name}`, status: i.sizeBytes >= MiB ? 'WARNING' : 'OK', value: i.sizeBytes, object: { kind: 'index' as const, schema: i.schema, table: i.table, index: i.name } })),
    });
  }

  const http: Snapshot['http'] = [
    { name: 'api', url: 'https://api.example.internal/health', result: { ok: true, data: { status: k.httpStatus, latencyMs: 84 }, at: FIXED_AT, ms: 84 } },
  ];
  checks.push(
    k.httpStatus >= 200 && k.httpStatus < 300
      ? measured('http:api', 'http', 'api', 'ms', 84, [500, 1000], `api: HTTP ${k.httpStatus} in 84 ms`, http[0].url)
      : fixed('http:api', 'http', 'api', 'ms', 'CRITICAL', `api: HTTP ${k.httpStatus}, expected 2xx`, 84, http[0].url),
  );
  const tls: Snapshot['tls'] = [
    {
      name: 'web',
      host: 'www.example.com',
      port: 443,
      result: { ok: true, data: { subject: 'www.example.com', issuer: 'R11', validTo: '2025-04-15T00:00:00Z', daysLeft: k.tlsDays }, at: FIXED_AT, ms: 30 },
    },
  ];
  checks.push(measured('tls:web', 'tls', 'web', 'd', k.tlsDays, [30, 7], `www.example.com:443 certificate expires in ${k.tlsDays} days`, 'www.example.com:443', 'below'));
  const backup: Snapshot['backup'] = {
    ok: true,
    data: { dir: '/var/backups/pg', glob: '*.dump', count: 7, newest: { file: 'app-20250115.dump', ageSec: 5 * 3600, sizeBytes: 3 * GiB } },
    at: FIXED_AT,
    ms: 1,
  };
  checks.push(measured('backup.age', 'backup', 'newest backup', 'h', 5, [24, 48], 'newest backup is 5h00m old', '/var/backups/pg/app-20250115.dump'));

  const snapshot: Snapshot = { at: FIXED_AT, host: { ok: true, data: host, at: FIXED_AT, ms: 2 }, postgres, http, tls, backup };
  return {
    hostname: host.hostname,
    target: k.pg ? { name: 'prod', display: 'postgres://app:***@127.0.0.1:5432/app' } : null,
    refreshMs: 2000,
    paused: k.paused,
    busy: false,
    snapshot,
    report: reportOf(checks),
    history: { cpu: history(k.cpuPct, 10), mem: history(k.memUsedPct, 2), connections: history(23, 5), cacheHit: history(99, 0.5) },
    pgRetryAt: k.pgRetryAt,
    badge: k.badge,
    notice: null,
  };
}

const HEALTHY: Knobs = {
  cpuPct: 12.5,
  memUsedPct: 41,
  filesystems: [fs('/', 40, 50), fs('/var', 55, 200, 'xfs', '/dev/sdb1'), fs('/boot', 30, 1, 'ext2')],
  pg: null,
  tlsDays: 90,
  httpStatus: 200,
  badge: null,
  paused: false,
  pgRetryAt: null,
};

/** Everything OK: verdict OK, score 100. */
export function healthyState(over: Partial<Knobs> = {}): MonitorState {
  return build({ ...HEALTHY, pg: basePg(), ...over });
}

export interface UnhealthyOptions {
  /** many rows for layout tests: 12 filesystems, 10 blocked sessions, 10 tables */
  many?: boolean;
}

/**
 * CRITICAL: /var at 95 %, pid 4242 blocked by 4141, an idle-in-transaction session (pid 5151, 3 min),
 * a long query (pid 6161, 7 min), public.orders with 80 % dead tuples, an unused index, TLS in 5 days.
 */
export function unhealthyState(opts: UnhealthyOptions = {}): MonitorState {
  const pg = basePg();
  pg.connections = { total: 84, max: 100, reservedForSuperuser: 3, byState: { active: 12, idle: 65, 'idle in transaction': 6 }, own: 1 };
  const idle = session(5151, 'carol', '10.0.0.7', 'idle in transaction', 180, "BEGIN; SELECT * FROM invoices WHERE customer_id = 77 FOR UPDATE");
  const long = session(6161, 'bob', 'local', 'active', 420, 'SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE e.kind = $1');
  pg.longQueries = [long];
  pg.longestQuery = long;
  pg.idleInTransaction = [idle];
  pg.oldestIdleInTransaction = idle;
  pg.blocked = [blocked(4242, [4141], 40, 'alice', '10.0.0.5')];
  pg.tables = [table('public', 'orders', 20_000, 80_000, '2025-01-12T10:30:00Z'), ...pg.tables];
  pg.unusedIndexes = [{ schema: 'public', table: 'orders', name: 'orders_note_idx', sizeBytes: 120 * MiB } satisfies PgIndex];
  const filesystems = [fs('/', 62, 50), fs('/var', 95, 200, 'xfs', '/dev/sdb1'), fs('/boot', 30, 1, 'ext2')];
  if (opts.many) {
    for (let i = 1; i <= 9; i++) filesystems.push(fs(`/srv/data${i}`, 40 + i * 5, 100 * i, 'xfs', `/dev/sdc${i}`));
    for (let i = 1; i <= 9; i++) pg.blocked.push(blocked(4300 + i, [4141, 4200 + i], 40 - i, `user${i}`, `10.0.1.${i}`));
    for (let i = 1; i <= 8; i++) pg.tables.push(table('public', `audit_log_${i}`, 100_000, 2_000 * i, null));
    for (let i = 1; i <= 4; i++) pg.longQueries.push(session(6200 + i, 'etl', '10.0.2.1', 'active', 400 - i * 60, `SELECT * FROM big_report_${i} -- long`));
    for (let i = 1; i <= 4; i++) pg.idleInTransaction.push(session(5200 + i, 'app', '10.0.3.1', 'idle in transaction', 170 - i * 20, 'UPDATE carts SET x = 1'));
  }
  return build({ ...HEALTHY, cpuPct: 72, memUsedPct: 64, filesystems, pg, tlsDays: 5 });
}

/** The database is unreachable: pg.up CRITICAL, sessions/tables UNKNOWN; host data as healthy. */
export function dbDownState(over: Partial<Knobs> = {}): MonitorState {
  return build({ ...HEALTHY, pg: { error: 'connection refused at 127.0.0.1:5432' }, pgRetryAt: Date.now() + 5000, ...over });
}

/** The first round is in flight: no snapshot, no report yet. */
export function collectingState(): MonitorState {
  return {
    hostname: 'db-maint-01',
    target: { name: 'prod', display: 'postgres://app:***@127.0.0.1:5432/app' },
    refreshMs: 2000,
    paused: false,
    busy: true,
    snapshot: null,
    report: null,
    history: { cpu: [], mem: [], connections: [], cacheHit: [] },
    pgRetryAt: null,
    badge: null,
    notice: null,
  };
}

// ---------------------------------------------------------------- monitor
export interface FixedMonitor extends MonitorLike {
  readonly calls: { start: number; stop: number; togglePause: number; refreshNow: number };
  /** replaces the state and notifies subscribers (wrap in act()) */
  set(state: MonitorState): void;
  listenerCount(): number;
}

export function fixedMonitor(initial: MonitorState): FixedMonitor {
  let state = initial;
  const listeners = new Set<() => void>();
  const calls = { start: 0, stop: 0, togglePause: 0, refreshNow: 0 };
  return {
    calls,
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    start() {
      calls.start++;
    },
    async stop() {
      calls.stop++;
    },
    togglePause() {
      calls.togglePause++;
    },
    refreshNow() {
      calls.refreshNow++;
    },
    set(next) {
      state = next;
      for (const l of [...listeners]) l();
    },
    listenerCount: () => listeners.size,
  };
}
