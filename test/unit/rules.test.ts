import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/config/schema';
import { evaluate, judge, perfdata, pluginLine, worst } from '../../src/health/rules';
import type { HostData, PgData, Snapshot } from '../../src/types';

const host = (over: Partial<HostData> = {}): HostData => ({
  hostname: 'db1',
  cores: 4,
  cpuPct: 12,
  memTotalBytes: 8e9,
  memAvailableBytes: 6e9,
  memUsedPct: 25,
  swapTotalBytes: 0,
  swapUsedBytes: 0,
  load: [0.5, 0.4, 0.3],
  uptimeSec: 1000,
  filesystems: [{ mount: '/', device: '/dev/vda', fstype: 'ext4', sizeBytes: 100e9, usedBytes: 20e9, availBytes: 80e9, usedPct: 20 }],
  ...over,
});

const session = (pid: number, durationSec: number, query = 'select 1') => ({
  pid, user: 'app', database: 'prod', client: '10.0.0.5', application: 'web', state: 'active', durationSec, xactSec: durationSec, query, waitEventType: null, waitEvent: null,
});

const pg = (over: Partial<PgData> = {}): PgData => ({
  version: '15.4 (Debian)',
  versionNum: 150004,
  uptimeSec: 3600,
  database: 'prod',
  inRecovery: false,
  connections: { total: 10, max: 100, reservedForSuperuser: 3, byState: { active: 2, idle: 7 }, own: 1 },
  longestQuery: null,
  oldestIdleInTransaction: null,
  longQueries: [],
  idleInTransaction: [],
  longTransactions: [],
  sessionAges: { longQueries: [], idleInTransaction: [], longTransactions: [] },
  blocked: [],
  cache: { bufferHitPct: 99.5, indexHitPct: 99.9 },
  tables: [],
  unusedIndexes: [],
  xidAge: [{ database: 'prod', age: 1000 }],
  databases: [{ name: 'prod', sizeBytes: 1e9 }],
  replication: { role: 'primary', replicas: [], standbyLagSec: null },
  statements: { available: false, reason: 'not installed' },
  ...over,
});

const snap = (over: Partial<Snapshot> = {}): Snapshot => ({
  at: 1,
  host: { ok: true, data: host(), at: 1, ms: 1 },
  postgres: { ok: true, data: pg(), at: 1, ms: 1 },
  http: [],
  tls: [],
  ...over,
});

const byId = (s: Snapshot, id: string) => evaluate(s, DEFAULT_THRESHOLDS).checks.find((c) => c.id === id);

describe('judge and worst', () => {
  it('applies warning and critical at the boundary, both directions', () => {
    expect(judge(59.9, { warning: 60, critical: 80 })).toBe('OK');
    expect(judge(60, { warning: 60, critical: 80 })).toBe('WARNING');
    expect(judge(80, { warning: 60, critical: 80 })).toBe('CRITICAL');
    expect(judge(95, { warning: 90, critical: 80 }, 'below')).toBe('OK');
    expect(judge(85, { warning: 90, critical: 80 }, 'below')).toBe('WARNING');
    expect(judge(79, { warning: 90, critical: 80 }, 'below')).toBe('CRITICAL');
  });
  it('orders CRITICAL > WARNING > UNKNOWN > OK', () => {
    expect(worst(['OK', 'UNKNOWN'])).toBe('UNKNOWN');
    expect(worst(['UNKNOWN', 'WARNING'])).toBe('WARNING');
    expect(worst(['WARNING', 'CRITICAL', 'OK'])).toBe('CRITICAL');
  });
});

describe('evaluate', () => {
  it('a healthy snapshot is OK with score 100', () => {
    const r = evaluate(snap(), DEFAULT_THRESHOLDS);
    expect(r.status).toBe('OK');
    expect(r.score).toBe(100);
    expect(r.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['host.cpu', 'host.memory', 'disk:/', 'pg.up', 'pg.connections', 'sessions.blocked', 'tables.dead_tuples']));
  });

  it('names the full filesystem', () => {
    const fs = [
      { mount: '/', device: 'a', fstype: 'ext4', sizeBytes: 100, usedBytes: 50, availBytes: 50, usedPct: 50 },
      { mount: '/var', device: 'b', fstype: 'xfs', sizeBytes: 100, usedBytes: 95, availBytes: 5, usedPct: 95 },
    ];
    const r = evaluate(snap({ host: { ok: true, data: host({ filesystems: fs }), at: 1, ms: 1 } }), DEFAULT_THRESHOLDS);
    const c = r.checks.find((x) => x.id === 'disk:/var')!;
    expect(c.status).toBe('CRITICAL');
    expect(c.subject).toBe('/var');
    expect(r.status).toBe('CRITICAL');
    expect(r.score).toBeLessThan(100);
  });

  it('a blocked session names its blocker and is judged on its wait', () => {
    const blocked = { ...session(4242, 50, 'update t set x=1'), blockedBy: [4141], waitSec: 45 };
    const c = byId(snap({ postgres: { ok: true, data: pg({ blocked: [blocked] }), at: 1, ms: 1 } }), 'sessions.blocked')!;
    expect(c.status).toBe('WARNING');
    expect(c.subject).toBe('pid 4242');
    expect(c.summary).toContain('blocked by pid 4141');
  });

  it('long queries and idle-in-transaction sessions use their own thresholds', () => {
    const data = pg({ longQueries: [session(7, 400, 'select pg_sleep(1000)')], idleInTransaction: [{ ...session(8, 90), state: 'idle in transaction' }] });
    const s = snap({ postgres: { ok: true, data, at: 1, ms: 1 } });
    expect(byId(s, 'sessions.long_query')).toMatchObject({ status: 'CRITICAL', subject: 'pid 7' });
    expect(byId(s, 'sessions.idle_in_transaction')).toMatchObject({ status: 'WARNING', subject: 'pid 8' });
  });

  it('dead tuples are judged only on tables with enough dead rows', () => {
    const t = (name: string, dead: number, deadPct: number) => ({
      schema: 'public', name, liveTuples: 100, deadTuples: dead, deadPct, lastVacuum: null, lastAutovacuum: null, lastAnalyze: null, lastAutoanalyze: null,
    });
    const data = pg({ tables: [t('tiny', 900, 90), t('orders', 50_000, 60)] });
    const c = byId(snap({ postgres: { ok: true, data, at: 1, ms: 1 } }), 'tables.dead_tuples')!;
    expect(c).toMatchObject({ status: 'CRITICAL', subject: 'public.orders' });
    expect(c.summary).toContain('last vacuum never');
  });

  it('an unused index over the size floor is a warning naming it', () => {
    const data = pg({ unusedIndexes: [{ schema: 'public', table: 'orders', name: 'orders_note_idx', sizeBytes: 5 * 1024 * 1024 }, { schema: 'public', table: 't', name: 'small_idx', sizeBytes: 8192 }] });
    const c = byId(snap({ postgres: { ok: true, data, at: 1, ms: 1 } }), 'tables.unused_indexes')!;
    expect(c).toMatchObject({ status: 'WARNING', subject: 'public.orders_note_idx', value: 1 });
  });

  it('connections are judged against max_connections', () => {
    const data = pg({ connections: { total: 9, max: 10, reservedForSuperuser: 3, byState: {}, own: 0 } });
    expect(byId(snap({ postgres: { ok: true, data, at: 1, ms: 1 } }), 'pg.connections')).toMatchObject({ status: 'CRITICAL', value: 90 });
  });

  it('a database that is down is CRITICAL with the reason, its other checks UNKNOWN, never OK', () => {
    const r = evaluate(snap({ postgres: { ok: false, error: 'connection refused at 127.0.0.1:5432', at: 1, ms: 1 } }), DEFAULT_THRESHOLDS);
    expect(r.status).toBe('CRITICAL');
    expect(r.checks.find((c) => c.id === 'pg.up')).toMatchObject({ status: 'CRITICAL' });
    expect(r.checks.find((c) => c.id === 'pg.up')!.summary).toContain('connection refused at 127.0.0.1:5432');
    for (const id of ['pg.connections', 'sessions.blocked', 'tables.dead_tuples']) {
      expect(r.checks.find((c) => c.id === id)!.status).toBe('UNKNOWN');
    }
  });

  it('CPU without a second sample is UNKNOWN, not OK', () => {
    expect(byId(snap({ host: { ok: true, data: host({ cpuPct: null }), at: 1, ms: 1 } }), 'host.cpu')!.status).toBe('UNKNOWN');
  });

  it('HTTP: non-2xx is CRITICAL, slow is judged by latency, a failure says why', () => {
    const s = snap({
      http: [
        { name: 'api', url: 'http://x/health', result: { ok: true, data: { status: 503, latencyMs: 20 }, at: 1, ms: 20 } },
        { name: 'web', url: 'http://y/', result: { ok: true, data: { status: 200, latencyMs: 700 }, at: 1, ms: 700 } },
        { name: 'gone', url: 'http://z/', result: { ok: false, error: 'ECONNREFUSED', at: 1, ms: 1 } },
      ],
    });
    expect(byId(s, 'http:api')).toMatchObject({ status: 'CRITICAL', subject: 'http://x/health' });
    expect(byId(s, 'http:web')!.status).toBe('WARNING');
    expect(byId(s, 'http:gone')).toMatchObject({ status: 'CRITICAL' });
  });

  it('TLS expiry and backup age', () => {
    const s = snap({
      tls: [{ name: 'site', host: 'h', port: 443, result: { ok: true, data: { subject: 'h', issuer: 'ca', validTo: '2030-01-01T00:00:00Z', daysLeft: 5 }, at: 1, ms: 1 } }],
      backup: { ok: true, data: { dir: '/b', glob: '*.dump', count: 1, newest: { file: 'x.dump', ageSec: 30 * 3600, sizeBytes: 10 } }, at: 1, ms: 1 },
    });
    expect(byId(s, 'tls:site')!.status).toBe('CRITICAL');
    expect(byId(s, 'backup.age')).toMatchObject({ status: 'WARNING', subject: '/b/x.dump' });
    const none = snap({ backup: { ok: true, data: { dir: '/b', glob: '*.dump', count: 0, newest: null }, at: 1, ms: 1 } });
    expect(byId(none, 'backup.age')!.status).toBe('CRITICAL');
  });

  it('--only keeps just the named groups', () => {
    const r = evaluate(snap(), DEFAULT_THRESHOLDS, { only: new Set(['disk']) });
    expect(new Set(r.checks.map((c) => c.group))).toEqual(new Set(['disk']));
  });
});

describe('plugin output', () => {
  it('first line follows the convention, with perfdata', () => {
    const blocked = { ...session(4242, 400), blockedBy: [4141], waitSec: 400 };
    const r = evaluate(snap({ postgres: { ok: true, data: pg({ blocked: [blocked] }), at: 1, ms: 1 } }), DEFAULT_THRESHOLDS);
    const line = pluginLine(r);
    expect(line).toMatch(/^OPS CRITICAL - .*pid 4242 \(app@10\.0\.0\.5 in prod\) blocked by pid 4141.* \| /);
    expect(perfdata(r)).toContain("'sessions.blocked'=400s;30;300");
    expect(perfdata(r)).toContain("'disk:/'=20%;80;90");
  });
  it('an all-OK report says so', () => {
    expect(pluginLine(evaluate(snap(), DEFAULT_THRESHOLDS))).toMatch(/^OPS OK - \d+ checks OK \| /);
  });
});

describe('plugin summary with a database down', () => {
  it('tells the shared reason once, with a count', () => {
    const r = evaluate(snap({ postgres: { ok: false, error: 'connection refused at 127.0.0.1:5432', at: 1, ms: 1 } }), DEFAULT_THRESHOLDS);
    // 10 of issue 10 §1, and the 9 outage checks (src/health/outages.ts)
    expect(pluginLine(r)).toMatch(/^OPS CRITICAL - PostgreSQL unavailable: connection refused at 127\.0\.0\.1:5432; 19 checks UNKNOWN: database unavailable \| /);
  });
});

describe('nothing to check', () => {
  it('is UNKNOWN and says why, never OK', () => {
    const r = evaluate(snap(), DEFAULT_THRESHOLDS, { only: new Set(['backup']) });
    expect(r.status).toBe('UNKNOWN');
    expect(pluginLine(r)).toBe('OPS UNKNOWN - nothing to check: the selected groups have nothing configured');
  });
});
