// One status order for the whole project, perfdata ranges in the plugin convention, and the
// session checks' summaries: the pieces of issue 10 §1 that need no database.
import { describe, expect, it } from 'vitest';
import { judgeCondition, type LiveContext } from '../../src/checklists/conditions';
import { DEFAULT_THRESHOLDS } from '../../src/config/schema';
import { evaluate, perfdata, pluginLine, worst as rulesWorst } from '../../src/health/rules';
import { rowStatus, severity, STATUS_ORDER, worst, worstOrNull } from '../../src/health/status';
import type { Check, HealthReport, PgData, PgSession, Snapshot, Status } from '../../src/types';
import * as format from '../../screens/format';

const ALL: Status[] = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

const check = (id: string, status: Status, over: Partial<Check> = {}): Check => ({
  id,
  group: id.startsWith('sessions') ? 'sessions' : 'postgres',
  label: id,
  status,
  summary: `${id} is ${status}`,
  value: null,
  unit: '',
  thresholds: null,
  subject: null,
  ...over,
});

const report = (checks: Check[]): HealthReport => ({ at: 1, status: worst(checks.map((c) => c.status)), score: 0, checks });

const live = (r: HealthReport): LiveContext => ({
  snapshot: { at: 1, host: { ok: false, error: 'x', at: 1, ms: 1 }, http: [], tls: [] },
  report: r,
  now: new Date('2026-12-01T03:00:00Z'),
  window: { days: ['mon'], start: '02:00', end: '04:00', timezone: 'UTC' },
});

describe('one status order', () => {
  it('ranks CRITICAL > WARNING > UNKNOWN > OK, and every ranking in the project is that one', () => {
    expect(STATUS_ORDER).toEqual(['OK', 'UNKNOWN', 'WARNING', 'CRITICAL']);
    expect([...ALL].sort((a, b) => severity(a) - severity(b))).toEqual(STATUS_ORDER);
    // the rules, the screens and the checklists use the same functions, not copies
    expect(rulesWorst).toBe(worst);
    expect(format.severity).toBe(severity);
    expect(format.worstOf).toBe(worstOrNull);
    expect('judgeBy' in format).toBe(false);
    for (const a of ALL) for (const b of ALL) expect(worst([a, b])).toBe(severity(a) >= severity(b) ? a : b);
    expect(worst([])).toBe('OK');
    expect(worstOrNull([])).toBeNull();
  });

  it('a health condition never passes on UNKNOWN, whatever it ranks below', () => {
    const sessions = report([check('sessions.long_query', 'WARNING'), check('sessions.blocked', 'UNKNOWN', { summary: 'sessions: no answer' })]);
    const v = judgeCondition({ health: 'sessions', atWorst: 'WARNING' }, live(sessions));
    expect(v.pass).not.toBe(true);
    expect(v.pass).toBeNull();
    expect(v.value).toBe('sessions WARNING: sessions.long_query is WARNING (+1 more); UNKNOWN: sessions.blocked: sessions: no answer');
    // worse than allowed is a plain failure, with or without an UNKNOWN beside it
    const worse = report([check('sessions.long_query', 'CRITICAL'), check('sessions.blocked', 'UNKNOWN')]);
    expect(judgeCondition({ health: 'sessions', atWorst: 'WARNING' }, live(worse)).pass).toBe(false);
    expect(judgeCondition({ health: 'sessions', atWorst: 'OK' }, live(report([check('sessions.blocked', 'UNKNOWN')]))).pass).toBeNull();
    expect(judgeCondition({ health: 'sessions', atWorst: 'WARNING' }, live(report([check('sessions.long_query', 'WARNING')]))).pass).toBe(true);
  });

  it('a baseline does not pass on a check now UNKNOWN that was judged then', () => {
    const now = report([check('pg.up', 'OK'), check('sessions.blocked', 'UNKNOWN')]);
    const ctx = { ...live(now), baseline: () => ({ run: 'pre-1', at: '2026-12-01T02:00:00Z', statuses: { 'pg.up': 'OK', 'sessions.blocked': 'WARNING' } as Record<string, Status> }) };
    const v = judgeCondition({ baseline: 'pre-maintenance' }, ctx);
    expect(v.pass).toBeNull();
    expect(v.value).toMatch(/^1 check UNKNOWN, not comparable with pre-1: sessions\.blocked: /);
  });

  it('a row is drawn with the verdict the rules gave it, and UNKNOWN when its check could not be judged now', () => {
    const c = check('tables.dead_tuples', 'CRITICAL', { rows: [{ subject: 'public.a', status: 'CRITICAL', value: 80 }, { subject: 'public.b', status: 'OK', value: 5 }] });
    expect(rowStatus(c, 'public.a')).toBe('CRITICAL');
    expect(rowStatus(c, 'public.b')).toBe('OK');
    expect(rowStatus(c, 'public.c')).toBeUndefined();
    expect(rowStatus(undefined, 'public.a')).toBeUndefined();
    expect(rowStatus({ ...c, status: 'UNKNOWN' }, 'public.b')).toBe('UNKNOWN');
  });
});

// ---------------------------------------------------------------- perfdata and the summary

const session = (pid: number, durationSec: number, over: Partial<PgSession> = {}): PgSession => ({
  pid,
  user: 'app',
  database: 'shop',
  client: '10.0.0.5',
  application: 'web',
  state: 'active',
  durationSec,
  xactSec: durationSec,
  query: 'select 1',
  waitEventType: null,
  waitEvent: null,
  ...over,
});

const pgData = (over: Partial<PgData> = {}): PgData => ({
  version: '15.4',
  versionNum: 150004,
  uptimeSec: 3600,
  database: 'shop',
  inRecovery: false,
  connections: { total: 4, max: 100, reservedForSuperuser: 3, byState: { active: 2, idle: 1 }, own: 1 },
  longestQuery: null,
  oldestIdleInTransaction: null,
  longQueries: [],
  idleInTransaction: [],
  longTransactions: [],
  sessionAges: { longQueries: [], idleInTransaction: [], longTransactions: [] },
  blocked: [],
  cache: { bufferHitPct: 99.3, indexHitPct: 85 },
  tables: [],
  unusedIndexes: [],
  xidAge: [{ database: 'shop', age: 1000 }],
  databases: [],
  replication: { role: 'primary', replicas: [], standbyLagSec: null },
  statements: { available: false, reason: 'not installed' },
  ...over,
});

const snapOf = (pg: PgData, over: Partial<Snapshot> = {}): Snapshot => ({
  at: 1,
  host: { ok: false, error: 'not asked', at: 1, ms: 1 },
  postgres: { ok: true, data: pg, at: 1, ms: 1 },
  http: [],
  tls: [],
  ...over,
});

describe('perfdata', () => {
  it('gives lower-is-worse thresholds as "N:" ranges (alert below N), higher-is-worse as plain N', () => {
    const tls: Snapshot['tls'] = [{ name: 'site', host: 'h', port: 443, result: { ok: true, data: { subject: 'h', issuer: 'ca', validTo: '2030-01-01T00:00:00Z', daysLeft: 12 }, at: 1, ms: 1 } }];
    const r = evaluate(snapOf(pgData(), { tls }), DEFAULT_THRESHOLDS, { only: new Set(['postgres', 'tls']) });
    const pd = perfdata(r);
    expect(pd).toContain("'pg.cache.buffer'=99.3%;90:;80:");
    expect(pd).toContain("'pg.cache.index'=85%;90:;80:");
    expect(pd).toContain("'tls:site'=12;30:;7:");
    expect(pd).toContain("'pg.connections'=4%;80;90");
    expect(pd).toContain("'pg.xid_age'=1000;1300000000;1400000000");
    // each label=value;warn;crit, nothing else between the spaces
    for (const item of pd.split(' ')) expect(item).toMatch(/^'[^']+'=-?[\d.]+(%|s|ms)?(;\d+:?;\d+:?)?$/);
  });

  it('the summary has no doubled separator when a query ends with a semicolon', () => {
    const idle = session(4242, 700, { state: 'idle in transaction', query: 'update orders set status = 2 where id=1;' });
    const long = session(4343, 400, { query: 'select * from orders where id=1 ;  ' });
    const line = pluginLine(evaluate(snapOf(pgData({ longQueries: [long], longestQuery: long, idleInTransaction: [idle], oldestIdleInTransaction: idle })), DEFAULT_THRESHOLDS, { only: new Set(['sessions']) }));
    const summary = line.slice(0, line.indexOf(' | '));
    expect(summary).not.toMatch(/;\s*;/);
    expect(summary).toBe('OPS CRITICAL - pid 4343 (app@10.0.0.5 in shop) running 6m40s: select * from orders where id=1; pid 4242 (app@10.0.0.5 in shop) idle in transaction 11m40s: update orders set status = 2 where id=1');
  });
});

describe('session checks', () => {
  it('long_query names every session over the threshold with their count, each with its database, and judges each row', () => {
    const list = [
      session(11, 420, { query: 'SELECT pg_sleep(600)', database: 'shop' }),
      session(12, 130, { database: 'billing', user: 'etl' }),
      session(13, 61, { database: 'shop' }),
      session(14, 5),
    ];
    const data = pgData({ longQueries: list, sessionAges: { longQueries: [420, 130, 61, 5], idleInTransaction: [], longTransactions: [] } });
    const c = evaluate(snapOf(data), DEFAULT_THRESHOLDS).checks.find((x) => x.id === 'sessions.long_query')!;
    expect(c).toMatchObject({ status: 'CRITICAL', value: 420, subject: 'pid 11' });
    expect(c.summary).toBe(
      '3 queries running 1m00s or more: pid 11 (app@10.0.0.5 in shop) running 7m00s: SELECT pg_sleep(600), pid 12 (etl@10.0.0.5 in billing) 2m10s, pid 13 (app@10.0.0.5 in shop) 1m01s',
    );
    // each row is the session itself (what a task binds to); a long query has no fix of its own
    expect(c.rows).toEqual([
      { subject: 'pid 11', status: 'CRITICAL', value: 420, object: { kind: 'session', pid: 11, backendStart: null, database: 'shop', user: 'app' } },
      { subject: 'pid 12', status: 'WARNING', value: 130, object: { kind: 'session', pid: 12, backendStart: null, database: 'billing', user: 'etl' } },
      { subject: 'pid 13', status: 'WARNING', value: 61, object: { kind: 'session', pid: 13, backendStart: null, database: 'shop', user: 'app' } },
      { subject: 'pid 14', status: 'OK', value: 5, object: { kind: 'session', pid: 14, backendStart: null, database: 'shop', user: 'app' } },
    ]);
  });

  it('counts the sessions over the threshold beyond the rows listed', () => {
    const list = Array.from({ length: 20 }, (_, i) => session(100 + i, 500 - i));
    const ages = [...list.map((x) => x.durationSec), 300, 200, 90, 10];
    const c = evaluate(snapOf(pgData({ longQueries: list, sessionAges: { longQueries: ages, idleInTransaction: [], longTransactions: [] } })), DEFAULT_THRESHOLDS).checks.find(
      (x) => x.id === 'sessions.long_query',
    )!;
    expect(c.summary).toMatch(/^23 queries running 1m00s or more: pid 100 .*, pid 119 \(app@10\.0\.0\.5 in shop\) 8m01s, \+3 more$/);
  });

  it('long_transaction judges the transaction age; idle_in_transaction the idle time, and names the transaction when older', () => {
    const idle = session(21, 40, { state: 'idle in transaction', xactSec: 700, query: 'select 2' });
    const working = session(22, 900, { state: 'active', xactSec: 900, query: 'update t set n = n + 1' });
    const data = pgData({
      idleInTransaction: [idle],
      longTransactions: [{ ...working }, { ...idle, durationSec: 700 }],
      sessionAges: { longQueries: [], idleInTransaction: [40], longTransactions: [900, 700] },
    });
    const checks = evaluate(snapOf(data), DEFAULT_THRESHOLDS).checks;
    const it = checks.find((x) => x.id === 'sessions.idle_in_transaction')!;
    expect(it).toMatchObject({ status: 'OK', value: 40, subject: 'pid 21' });
    expect(it.summary).toBe('pid 21 (app@10.0.0.5 in shop) idle in transaction 40s, transaction open 11m40s: select 2');
    const lt = checks.find((x) => x.id === 'sessions.long_transaction')!;
    expect(lt).toMatchObject({ status: 'WARNING', value: 900, subject: 'pid 22', thresholds: { warning: 600, critical: 1500, direction: 'above' } });
    expect(lt.summary).toBe('2 transactions open 10m00s or more: pid 22 (app@10.0.0.5 in shop) transaction open 15m00s (active): update t set n = n + 1, pid 21 (app@10.0.0.5 in shop) 11m40s (idle in transaction)');
  });

  it('every blocked session is named, with what blocks it and its database', () => {
    const b = (pid: number, by: number[], waitSec: number) => ({ ...session(pid, waitSec, { waitEventType: 'Lock', waitEvent: 'transactionid' }), blockedBy: by, waitSec });
    const c = evaluate(snapOf(pgData({ blocked: [b(31, [30], 45), b(32, [30, 31], 3)] })), DEFAULT_THRESHOLDS).checks.find((x) => x.id === 'sessions.blocked')!;
    expect(c).toMatchObject({ status: 'WARNING', subject: 'pid 31', value: 45 });
    expect(c.summary).toBe('2 sessions blocked: pid 31 (app@10.0.0.5 in shop) blocked by pid 30 for 45s, pid 32 (app@10.0.0.5 in shop) by pid 30 and pid 31 for 3s');
    expect(c.rows?.map((r) => r.status)).toEqual(['WARNING', 'OK']);
  });
});
