// The outage rules (src/health/outages.ts) on hand-made probe data: what a real cluster cannot
// easily be made to show here (a standby, PostgreSQL 12's missing wal_status, the vacuum verdict's
// three cases, a failed query), and the WAL arithmetic of the archiver's estimate.
import { describe, expect, it } from 'vitest';
import { ConfigSchema, DEFAULT_THRESHOLDS } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import { estimateWaiting, walSegNo } from '../../src/probes/pg-outages';
import type { Check, PgData, PgTable, Snapshot } from '../../src/types';
import type { PgOutages, PgXminHolder } from '../../src/types-outages';

const AT = Date.UTC(2025, 0, 15, 10, 30, 0);
const SEG = 16 * 1024 * 1024;

const outages = (over: Partial<PgOutages> = {}): PgOutages => ({
  access: { superuser: true, readAllStats: true, readAllSettings: true, listArchiveStatus: true },
  settings: { autovacuum: true, trackCounts: true, autovacuumMaxWorkers: 3, freezeMaxAge: 200_000_000, multixactFreezeMaxAge: 400_000_000, archiveMode: 'off' },
  walDir: { path: '/var/lib/postgresql/16/main/pg_wal' },
  slots: [],
  archiver: null,
  xminHolders: [],
  prepared: { total: 0, oldest: [] },
  autovacuumWorkers: [],
  autovacuumDisabled: [],
  databases: [{ database: 'prod', xidAge: 50_000_000, mxidAge: 1000 }],
  invalidIndexes: [],
  slow: { at: AT, neverAnalyzed: { total: 0, top: [] }, oldestXidTable: null, oldestMxidTable: null },
  sequences: { at: AT, total: 0, unreadable: 0, unread: 0, top: [] },
  ...over,
});

const table = (name: string, dead: number, live: number, lastVacuum: string | null): PgTable => ({
  schema: 'public', name, liveTuples: live, deadTuples: dead, deadPct: (100 * dead) / (dead + live), lastVacuum, lastAutovacuum: null, lastAnalyze: null, lastAutoanalyze: null,
});

const holder = (over: Partial<PgXminHolder>): PgXminHolder => ({
  kind: 'session', age: 100, database: 'prod', catalogOnly: false, heldSec: 600, pid: 4242, backendStart: null, user: 'app', client: '10.0.0.5', application: null, state: 'idle in transaction', query: 'select 1', name: null, ...over,
});

const pg = (o: PgOutages | { error: string }, over: Partial<PgData> = {}): PgData => ({
  version: '16.4', versionNum: 160004, uptimeSec: 3600, database: 'prod', inRecovery: false,
  connections: { total: 10, max: 100, reservedForSuperuser: 3, byState: {}, own: 1 },
  longestQuery: null, oldestIdleInTransaction: null, longQueries: [], idleInTransaction: [], longTransactions: [],
  sessionAges: { longQueries: [], idleInTransaction: [], longTransactions: [] }, blocked: [],
  cache: { bufferHitPct: 99, indexHitPct: 99 }, tables: [], unusedIndexes: [], xidAge: [{ database: 'prod', age: 50_000_000 }],
  databases: [], replication: { role: 'primary', replicas: [], standbyLagSec: null }, statements: { available: false, reason: 'no' },
  outages: o, ...over,
});

const snap = (data: PgData | null): Snapshot => ({
  at: AT,
  host: { ok: true, data: { hostname: 'db1', cores: 2, cpuPct: 1, memTotalBytes: 1, memAvailableBytes: 1, memUsedPct: 1, swapTotalBytes: 0, swapUsedBytes: 0, load: [0, 0, 0], uptimeSec: 1,
    filesystems: [
      { mount: '/', device: 'a', fstype: 'ext4', sizeBytes: 100e9, usedBytes: 50e9, availBytes: 50e9, usedPct: 50 },
      { mount: '/var/lib/postgresql', device: 'b', fstype: 'xfs', sizeBytes: 20e9, usedBytes: 16e9, availBytes: 4e9, usedPct: 80 },
    ] }, at: AT, ms: 1 },
  postgres: data ? { ok: true, data, at: AT, ms: 1 } : { ok: false, error: 'connection refused', at: AT, ms: 1 },
  http: [],
  tls: [],
});

const checks = (s: Snapshot, th = DEFAULT_THRESHOLDS) => new Map(evaluate(s, th).checks.map((c) => [c.id, c]));
const get = (m: Map<string, Check>, id: string) => m.get(id)!;

describe('WAL arithmetic', () => {
  it('segment numbers from file names, and the files waiting estimated from LSNs', () => {
    expect(walSegNo('000000010000000000000003', SEG)).toBe(3);
    expect(walSegNo('0000000100000001000000A0', SEG)).toBe(256 + 0xa0);
    expect(walSegNo('00000001.history', SEG)).toBeNull();
    // writing segment 9: failing on 3 leaves 3..8 waiting; archived up to 6 leaves 7 and 8
    expect(estimateWaiting(9 * SEG + 100, SEG, true, '000000010000000000000003', null)).toBe(6);
    expect(estimateWaiting(9 * SEG + 100, SEG, false, null, '000000010000000000000006')).toBe(2);
    expect(estimateWaiting(9 * SEG, SEG, false, null, null)).toBeNull();
  });
});

describe('outage rules', () => {
  it('a database down: every outage check UNKNOWN, never OK; a failed outage query: UNKNOWN with its reason', () => {
    const down = [...checks(snap(null)).values()].filter((c) => /^(pg\.(replication_slots|archiver|xmin_horizon|prepared_xacts|autovacuum|mxid_age)|tables\.never_analyzed|indexes\.invalid|sequences\.exhaustion)$/.test(c.id));
    expect(down).toHaveLength(9);
    for (const c of down) expect(c).toMatchObject({ status: 'UNKNOWN', summary: 'database unavailable' });
    const failed = checks(snap(pg({ error: 'outage checks query failed: column "wal_status" does not exist' })));
    expect(get(failed, 'pg.replication_slots')).toMatchObject({ status: 'UNKNOWN', summary: 'outage checks query failed: column "wal_status" does not exist' });
    // and --only narrows them as the other checks
    const only = evaluate(snap(pg(outages())), DEFAULT_THRESHOLDS, { only: new Set(['tables']) }).checks.map((c) => c.id);
    expect(only).toEqual(expect.arrayContaining(['tables.never_analyzed', 'indexes.invalid', 'sequences.exhaustion']));
    expect(only).not.toContain('pg.archiver');
  });

  it('a slot against the free space of the filesystem holding pg_wal (the longest mount above it)', () => {
    const o = outages({ slots: [{ name: 's1', type: 'physical', database: null, active: true, activePid: 77, temporary: false, retainedBytes: 3e9, walStatus: null, safeWalBytes: null, inactiveSec: null, invalidationReason: null, xminAge: null, catalogXminAge: null }] });
    // bytes judged loosely here, so the share decides
    const th = ConfigSchema.parse({ thresholds: { slotRetainedBytes: { warning: 10 * 1024 ** 3, critical: 20 * 1024 ** 3 } } }).thresholds;
    const c = get(checks(snap(pg(o)), th), 'pg.replication_slots');
    // 3 GB retained with 4 GB free on /var/lib/postgresql: 42.9 % of the room WAL has (warning 25 %)
    expect(c).toMatchObject({ status: 'WARNING', subject: 'slot s1', value: 3e9 });
    expect(c.summary).toBe('slot s1 (physical): 2.8 GB of WAL retained, 42.9% of the room WAL has on /var/lib/postgresql (3.7 GB free)');
    // PostgreSQL 12 has no wal_status; a remote server no free space: judged on bytes alone, and said so
    const remote = outages({ ...o, walDir: { path: null, reason: 'the server (10.0.0.9) is not reached over this host\'s loopback or socket' } });
    const r = get(checks(snap(pg(remote)), th), 'pg.replication_slots');
    expect(r.status).toBe('OK');
    expect(r.summary).toMatch(/free space of pg_wal's filesystem not known: the server \(10\.0\.0\.9\) is not reached/);
  });

  it("dead rows: held back when the holder began before the last vacuum, partly when after it (and held a minute), removable now otherwise", () => {
    const vacuumed = new Date(AT - 300_000).toISOString(); // 5 minutes ago
    const tables = [table('orders', 80_000, 20_000, vacuumed), table('events', 5_000, 5_000, null)];
    const verdicts = (h: PgXminHolder | null) => {
      const m = checks(snap(pg(outages({ xminHolders: h ? [h] : [] }), { tables })));
      const dead = get(m, 'tables.dead_tuples');
      return { orders: dead.rows?.find((r) => r.subject === 'public.orders')?.vacuum, events: dead.rows?.find((r) => r.subject === 'public.events')?.vacuum, xmin: get(m, 'pg.xmin_horizon') };
    };
    // open 10 minutes: before orders's vacuum; events was never vacuumed, so partly
    const old = verdicts(holder({ heldSec: 600 }));
    expect(old.orders).toEqual({ removable: 'held', heldBy: 'pid 4242 (app@10.0.0.5 in prod, idle in transaction, transaction open 10m00s)' });
    expect(old.events?.removable).toBe('partly');
    expect(old.xmin).toMatchObject({ status: 'WARNING', subject: 'pid 4242' });
    expect(old.xmin.summary).toMatch(/; public\.orders: 80k dead rows, vacuum cannot remove them: held back by pid 4242/);
    // a statement running for 2 s: nothing to say
    expect(verdicts(holder({ heldSec: 2 })).orders).toEqual({ removable: 'now', heldBy: null });
    // an old horizon holds whatever its time: a slot (its time unknown) 20 M transactions back
    const slot = verdicts(holder({ kind: 'slot', name: 'standby1', database: null, heldSec: null, age: 20_000_000, pid: null }));
    expect(slot.orders).toEqual({ removable: 'held', heldBy: 'slot standby1 (its xmin, from a standby, inactive)' });
    expect(slot.xmin).toMatchObject({ status: 'CRITICAL', subject: 'slot standby1' });
    // another database's session does not hold this one's tables
    expect(verdicts(holder({ database: 'other', heldSec: 600 })).orders).toEqual({ removable: 'now', heldBy: null });
    expect(verdicts(null).orders).toEqual({ removable: 'now', heldBy: null });
  });

  it('a standby: autovacuum and archiving are the primary\'s, no vacuum verdicts', () => {
    const o = outages({ settings: { ...outages().settings, autovacuum: false, archiveMode: 'on' }, archiver: { mode: 'on', archivedCount: 0, lastArchivedWal: null, lastArchivedAgeSec: null, failedCount: 0, lastFailedWal: null, lastFailedAgeSec: null, failing: false, failuresSinceLastRound: null, waitingFiles: null, waitingCounted: false, oldestWaitingAgeSec: null } });
    const m = checks(snap(pg(o, { inRecovery: true, tables: [table('orders', 80_000, 20_000, null)] })));
    expect(get(m, 'pg.autovacuum')).toMatchObject({ status: 'OK', summary: 'standby: autovacuum runs on the primary' });
    expect(get(m, 'pg.archiver')).toMatchObject({ status: 'OK', summary: 'standby: archive_mode = on archives on the primary only' });
    expect(get(m, 'tables.dead_tuples').rows?.[0].vacuum).toBeUndefined();
  });

  it('the archiver: failures between rounds while it still succeeds are a warning; files waiting against archiveWaitingFiles', () => {
    const base = { mode: 'on', archivedCount: 10, lastArchivedWal: '000000010000000000000009', lastArchivedAgeSec: 5, failedCount: 4, lastFailedWal: '000000010000000000000008', lastFailedAgeSec: 30, failing: false, failuresSinceLastRound: 2, waitingFiles: 3, waitingCounted: true, oldestWaitingAgeSec: 20 };
    const flaky = get(checks(snap(pg(outages({ settings: { ...outages().settings, archiveMode: 'on' }, archiver: base })))), 'pg.archiver');
    expect(flaky).toMatchObject({ status: 'WARNING', value: 3, subject: 'archiver' });
    expect(flaky.summary).toBe('WAL archiver 2 failures since the last round (the last on 000000010000000000000008), then archived, 3 WAL files waiting, the oldest ready 20s ago, last archived 000000010000000000000009 5s ago');
    const backlog = get(checks(snap(pg(outages({ settings: { ...outages().settings, archiveMode: 'on' }, archiver: { ...base, failuresSinceLastRound: 0, waitingFiles: 40, waitingCounted: false } })))), 'pg.archiver');
    expect(backlog.status).toBe('CRITICAL');
    expect(backlog.summary).toMatch(/40 WAL files waiting, the oldest ready 20s ago \(estimated from WAL positions; counting them needs pg_monitor\)/);
  });

  it('autovacuum: every worker busy for longer than autovacuumBusySec, an anti-wraparound vacuum, track_counts off', () => {
    const w = (pid: number, runningSec: number, query: string) => ({ pid, database: 'prod', query, runningSec, schema: 'public', table: `t${pid}`, wraparound: /wraparound/.test(query) });
    const o = outages({
      settings: { ...outages().settings, trackCounts: false },
      autovacuumWorkers: [w(1, 4000, 'autovacuum: VACUUM public.t1'), w(2, 3700, 'autovacuum: VACUUM public.t2 (to prevent wraparound)'), w(3, 3650, 'autovacuum: ANALYZE public.t3')],
    });
    const c = get(checks(snap(pg(o))), 'pg.autovacuum');
    expect(c.status).toBe('CRITICAL');
    const rows = new Map((c.rows ?? []).map((r) => [r.subject, r]));
    expect(rows.get('track_counts')).toMatchObject({ status: 'CRITICAL', hint: expect.stringMatching(/track_counts = on/) });
    expect(rows.get('autovacuum workers')).toMatchObject({ status: 'CRITICAL', value: 3650, text: 'all 3 autovacuum workers busy for at least 1h00m' });
    expect(rows.get('public.t2')).toMatchObject({ status: 'WARNING', text: 'anti-wraparound vacuum of public.t2 in prod running 1h01m (pid 2)', object: { kind: 'table', schema: 'public', table: 't2' } });
  });

  it('pg.mxid_age and pg.xid_age: shares of the freeze settings, the oldest table (a TOAST table by its owner)', () => {
    const o = outages({
      databases: [{ database: 'prod', xidAge: 150_000_000, mxidAge: 200_000_000 }],
      slow: { at: AT, neverAnalyzed: { total: 0, top: [] },
        oldestXidTable: { schema: 'pg_toast', name: 'pg_toast_16384', age: 149_000_000, toastOf: 'public.docs' },
        oldestMxidTable: { schema: 'public', name: 'locks', age: 199_000_000, toastOf: null } },
    });
    const m = checks(snap(pg(o, { xidAge: [{ database: 'prod', age: 150_000_000 }] })));
    expect(get(m, 'pg.xid_age').summary).toBe('transaction ID age 150.0M in prod (75.0% of autovacuum_freeze_max_age 200.0M); oldest table in prod: public.docs (its TOAST table pg_toast.pg_toast_16384) (149.0M)');
    expect(get(m, 'pg.mxid_age')).toMatchObject({ status: 'OK', subject: 'prod', value: 200_000_000 });
    expect(get(m, 'pg.mxid_age').summary).toBe('multixact ID age 200.0M in prod (50.0% of autovacuum_multixact_freeze_max_age 400.0M); oldest table in prod: public.locks (199.0M)');
    const th = ConfigSchema.parse({ thresholds: { mxidAge: { warning: 100_000_000, critical: 300_000_000 } } }).thresholds;
    expect(get(checks(snap(pg(o)), th), 'pg.mxid_age').status).toBe('WARNING');
  });

  it('an invalid index being built is not a finding; a partitioned one not yet valid everywhere is a warning', () => {
    const idx = (name: string, building: boolean, partitioned = false) => ({ schema: 'public', table: 't', name, leftover: null, partitioned, building });
    const c = get(checks(snap(pg(outages({ invalidIndexes: [idx('t_a', true), idx('t_p', false, true)] })))), 'indexes.invalid');
    expect(c).toMatchObject({ status: 'WARNING', subject: 'public.t_p', value: 1 });
    const building = get(checks(snap(pg(outages({ invalidIndexes: [idx('t_a', true)] })))), 'indexes.invalid');
    expect(building).toMatchObject({ status: 'OK', summary: 'no invalid index (1 being built)' });
  });

  it('the slower reads not done yet, or failed: their checks UNKNOWN with the reason', () => {
    expect(get(checks(snap(pg(outages({ sequences: null })))), 'sequences.exhaustion')).toMatchObject({ status: 'UNKNOWN', summary: 'not read yet' });
    expect(get(checks(snap(pg(outages({ slow: { error: 'table scan failed: canceling statement due to statement timeout' } })))), 'tables.never_analyzed'))
      .toMatchObject({ status: 'UNKNOWN', summary: 'table scan failed: canceling statement due to statement timeout' });
    // sequences past the first round's budget: what was read is judged, the rest said
    const seq = { schema: 'public', name: 'a_seq', type: 'bigint', usedPct: 1, lastValue: '10', limit: '9223372036854775807', limitedBy: 'sequence' as const, cycles: false, column: null };
    const partial = get(checks(snap(pg(outages({ sequences: { at: AT, total: 5000, unreadable: 0, unread: 4000, top: [seq] } })))), 'sequences.exhaustion');
    expect(partial.status).toBe('UNKNOWN');
    expect(partial.summary).toMatch(/^4000 of 5000 sequences not read yet/);
  });
});
