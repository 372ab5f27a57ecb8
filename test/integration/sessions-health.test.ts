// The session checks judge the whole cluster, so they are tested on a throwaway cluster of their
// own: the probe and the rules together, each condition built for real, each figure held against
// what pg_stat_activity says before and after the round.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import { PostgresProbe } from '../../src/probes/postgres';
import type { Check, PgData } from '../../src/types';
import { startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

let cluster: Cluster;
let db: TestDatabase;
let probe: PostgresProbe;
let observer: pg.Client;
const held: pg.Client[] = [];

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-sessions-' });
  db = await createTestDatabase('sessions', { host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
  probe = new PostgresProbe({ connection: db.connection, timeoutMs: 5000 });
  observer = await db.client({ application_name: 'observer' });
}, 120_000);

afterEach(async () => {
  for (const c of held.splice(0)) await c.end().catch(() => undefined);
});

afterAll(async () => {
  await probe?.close();
  await db?.drop().catch(() => undefined);
  cluster?.stop();
});

const th = (over: Partial<Thresholds>): Thresholds => ({ ...DEFAULT_THRESHOLDS, ...over });

async function client(application: string): Promise<{ c: pg.Client; pid: number }> {
  const c = await db.client({ application_name: application });
  held.push(c);
  const pid = Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  return { c, pid };
}

/** What psql reads for a session, in seconds: idle (state_change), in its transaction (xact_start), in its query (query_start). */
async function ages(pid: number): Promise<{ idle: number; xact: number; query: number; state: string }> {
  const { rows } = await observer.query(
    `SELECT extract(epoch FROM now() - state_change)::float8 AS idle, extract(epoch FROM now() - xact_start)::float8 AS xact,
            extract(epoch FROM now() - query_start)::float8 AS query, state
     FROM pg_stat_activity WHERE pid = $1`,
    [pid],
  );
  if (!rows[0]) throw new Error(`no session ${pid}`);
  return { idle: Number(rows[0].idle), xact: Number(rows[0].xact), query: Number(rows[0].query), state: String(rows[0].state) };
}

async function round(t: Thresholds): Promise<{ data: PgData; check: (id: string) => Check }> {
  const r = await probe.probe();
  if (!r.ok) throw new Error(r.error);
  const report = evaluate({ at: r.at, host: { ok: false, error: 'not asked', at: 1, ms: 1 }, postgres: r, http: [], tls: [] }, t, { only: new Set(['sessions', 'postgres']) });
  return {
    data: r.data,
    check: (id) => {
      const c = report.checks.find((x) => x.id === id);
      if (!c) throw new Error(`no check ${id}`);
      return c;
    },
  };
}

const who = (pid: number) => `pid ${pid} \\(${cluster.user}@(127\\.0\\.0\\.1|::1|local) in ${db.name}\\)`;

describe('session checks on a cluster of their own', () => {
  it('idle in transaction is the time since state_change; the transaction age is sessions.long_transaction', async () => {
    const { c, pid } = await client('waits-between');
    await c.query('BEGIN');
    await c.query('SELECT 1 AS first_step');
    await waitFor(async () => (await ages(pid)).xact >= 2.5, { message: 'transaction open 2.5 s' });
    await c.query('SELECT 2 AS second_step');
    await waitFor(async () => (await ages(pid)).idle >= 1, { message: 'idle 1 s since its second statement' });
    const before = await ages(pid);
    const { check } = await round(th({ idleInTransactionSec: { warning: 1, critical: 100 }, longTransactionSec: { warning: 2, critical: 100 } }));
    const after = await ages(pid);

    const idle = check('sessions.idle_in_transaction');
    expect(idle).toMatchObject({ status: 'WARNING', subject: `pid ${pid}` });
    expect(idle.value).toBeGreaterThanOrEqual(before.idle);
    expect(idle.value).toBeLessThanOrEqual(after.idle);
    expect(idle.summary).toMatch(new RegExp(`^${who(pid)} idle in transaction \\d+s, transaction open \\d+s: SELECT 2 AS second_step$`));

    const tx = check('sessions.long_transaction');
    expect(tx).toMatchObject({ status: 'WARNING', subject: `pid ${pid}`, unit: 's' });
    expect(tx.value).toBeGreaterThanOrEqual(before.xact);
    expect(tx.value).toBeLessThanOrEqual(after.xact);
    expect(tx.value! - idle.value!).toBeGreaterThan(1);
    await c.query('ROLLBACK');
  });

  it('a transaction that keeps running statements is a long transaction, never idle in transaction', async () => {
    const { c, pid } = await client('keeps-working');
    await c.query('BEGIN');
    let stop = false;
    const working = (async () => {
      while (!stop) await c.query('SELECT pg_sleep(0.01)');
    })();
    try {
      await waitFor(async () => (await ages(pid)).xact >= 2, { message: 'transaction open 2 s' });
      const before = await ages(pid);
      // several rounds: whichever instant a round sees it at, between two statements or in one
      for (let i = 0; i < 5; i++) {
        const { check } = await round(th({ idleInTransactionSec: { warning: 1, critical: 100 }, longTransactionSec: { warning: 1, critical: 100 } }));
        const tx = check('sessions.long_transaction');
        expect(tx).toMatchObject({ status: 'WARNING', subject: `pid ${pid}` });
        expect(tx.value).toBeGreaterThanOrEqual(before.xact);
        const idle = check('sessions.idle_in_transaction');
        expect(idle.status).toBe('OK');
        expect(idle.rows?.filter((r) => r.status !== 'OK')).toEqual([]);
      }
    } finally {
      stop = true;
      await working;
      await c.query('ROLLBACK');
    }
  });

  it('a session waiting on a lock is blocked, not a long query; long_query names every pg_sleep with a count', async () => {
    await observer.query('CREATE TABLE IF NOT EXISTS counter (id int PRIMARY KEY, n int)');
    await observer.query('INSERT INTO counter VALUES (1, 0) ON CONFLICT DO NOTHING');
    const holder = await client('holder');
    const waiter = await client('waiter');
    const s1 = await client('report-a');
    const s2 = await client('report-b');
    await holder.c.query('BEGIN');
    await holder.c.query('UPDATE counter SET n = n + 1 WHERE id = 1');
    const pending = waiter.c.query('UPDATE counter SET n = n + 1 WHERE id = 1');
    const sleeps = [s1, s2].map((s) => s.c.query('SELECT pg_sleep(60)').catch((e: Error) => e));
    try {
      await waitFor(async () => (await Promise.all([waiter, s1, s2].map((s) => ages(s.pid)))).every((a) => a.state === 'active' && a.query >= 1.5), {
        message: 'waiter and both sleepers active for 1.5 s',
      });
      const before = await ages(s1.pid);
      const { check } = await round(th({ longQuerySec: { warning: 1, critical: 100 }, blockedSec: { warning: 1, critical: 100 } }));
      const after = await ages(s1.pid);

      const lq = check('sessions.long_query');
      expect(lq.rows?.map((r) => r.subject).sort()).toEqual([`pid ${s1.pid}`, `pid ${s2.pid}`].sort());
      expect(lq.status).toBe('WARNING');
      expect(lq.summary).toMatch(new RegExp(`^2 queries running 1s or more: (${who(s1.pid)}|${who(s2.pid)}) running \\d+s: SELECT pg_sleep\\(60\\), (${who(s1.pid)}|${who(s2.pid)}) \\d+s$`));
      expect(lq.summary).toContain(`pid ${s1.pid} `);
      expect(lq.summary).toContain(`pid ${s2.pid} `);
      expect(lq.summary).not.toContain(`pid ${waiter.pid} `);
      const r1 = lq.rows!.find((r) => r.subject === `pid ${s1.pid}`)!;
      expect(r1.value).toBeGreaterThanOrEqual(before.query);
      expect(r1.value).toBeLessThanOrEqual(after.query);

      const b = check('sessions.blocked');
      expect(b).toMatchObject({ status: 'WARNING', subject: `pid ${waiter.pid}` });
      expect(b.summary).toMatch(new RegExp(`^${who(waiter.pid)} blocked by pid ${holder.pid} for \\d+s$`));
    } finally {
      await observer.query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = ANY ($1::int[])', [[s1.pid, s2.pid]]);
      await Promise.all(sleeps);
      await holder.c.query('ROLLBACK');
      await pending;
    }
  });

  it("the console's own sessions are counted apart and judged by no session check", async () => {
    const task = await client('ops-console: vacuum-analyze 20261201-0300-abcd');
    const user = await client('psql');
    await task.c.query('BEGIN');
    await task.c.query('SELECT 1 AS task_step');
    await user.c.query('SELECT 1');
    await waitFor(async () => (await ages(task.pid)).idle >= 1.5, { message: 'task session idle in transaction 1.5 s' });
    const { data, check } = await round(th({ idleInTransactionSec: { warning: 1, critical: 100 }, longTransactionSec: { warning: 1, critical: 100 } }));
    // the probe and the task's session, as pg_stat_activity has them; byState holds the others only
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'
         AND (application_name = 'ops-console' OR application_name LIKE 'ops-console: %')`,
    );
    expect(rows[0].n).toBe(2);
    expect(data.connections.own).toBe(2);
    expect(Object.values(data.connections.byState).reduce((a, b) => a + b, 0) + 2).toBe(data.connections.total);
    expect(data.connections.byState.idle).toBeGreaterThanOrEqual(2); // the observer and psql at least
    expect(data.connections.byState['idle in transaction']).toBeUndefined();
    for (const id of ['sessions.long_query', 'sessions.idle_in_transaction', 'sessions.long_transaction', 'sessions.blocked']) {
      expect(check(id).rows?.map((r) => r.subject)).not.toContain(`pid ${task.pid}`);
      expect(check(id).status).toBe('OK');
    }
    await task.c.query('ROLLBACK');
  });
});
