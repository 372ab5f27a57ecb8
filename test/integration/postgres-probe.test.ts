// The PostgreSQL probe against a real server: every unhealthy condition is built for real.
import net from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresProbe, type PgProbeOptions } from '../../src/probes/postgres';
import type { PgData, PgSession, ProbeResult } from '../../src/types';
import { findPgBin, freePort, startCluster, type Cluster } from '../support/cluster';
import { adminClient, createTestDatabase, testServer, waitFor, type TestDatabase } from '../support/pg';

const TIMEOUT_MS = 5000;

async function okData(probe: PostgresProbe): Promise<PgData> {
  const r = await probe.probe();
  if (!r.ok) throw new Error(`probe failed: ${r.error}`);
  return r.data;
}

/** The probe's own backends on a database, seen from another session. */
async function probePids(client: pg.Client, database: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'ops-console' AND datname = $1 ORDER BY pid`,
    [database],
  );
  return rows.map((r) => r.pid);
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

async function serverVersionNum(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  return rows[0].v;
}

/** Makes this session's pending table/index statistics visible to other sessions. */
async function flushStats(client: pg.Client): Promise<void> {
  if ((await serverVersionNum(client)) >= 150000) await client.query('SELECT pg_stat_force_next_flush()');
}

/** What psql reads for a session: seconds idle (since state_change) and in its transaction (since xact_start). */
async function activityAges(client: pg.Client, pid: number): Promise<{ idle: number; xact: number }> {
  const { rows } = await client.query<{ idle: number; xact: number }>(
    `SELECT extract(epoch FROM now() - state_change)::float8 AS idle, extract(epoch FROM now() - xact_start)::float8 AS xact
     FROM pg_stat_activity WHERE pid = $1`,
    [pid],
  );
  if (!rows[0]) throw new Error(`no session ${pid}`);
  return { idle: Number(rows[0].idle), xact: Number(rows[0].xact ?? Number.NaN) };
}

function expectLongestFirst(list: PgSession[]): void {
  for (let i = 1; i < list.length; i++) expect(list[i - 1].durationSec).toBeGreaterThanOrEqual(list[i].durationSec);
}

// ====================================================================== the shared test server
describe('PostgresProbe on the test server', () => {
  let db: TestDatabase;
  let probe: PostgresProbe;
  let admin: pg.Client;

  beforeEach(async () => {
    db = await createTestDatabase('probe');
    probe = new PostgresProbe({ connection: db.connection, timeoutMs: TIMEOUT_MS });
    admin = await db.client({ application_name: 'ops-console-test-observer' });
  });

  afterEach(async () => {
    await probe.close();
    await db.drop();
  });

  it('reports the server basics, without pg_stat_statements, over exactly one connection', async () => {
    const first = await probe.probe();
    expect(first.ok, first.ok ? '' : first.error).toBe(true);
    const data = await okData(probe);
    const settings = await admin.query<{ num: string; max: string; reserved: string }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('max_connections') AS max,
              current_setting('superuser_reserved_connections') AS reserved`,
    );
    expect(data.database).toBe(db.name);
    expect(data.versionNum).toBe(Number(settings.rows[0].num));
    expect(data.version).toMatch(/^\d+(\.\d+)?/);
    expect(data.uptimeSec).toBeGreaterThan(0);
    expect(data.inRecovery).toBe(false);
    expect(data.replication).toEqual({ role: 'primary', replicas: [], standbyLagSec: null });
    expect(data.connections.max).toBe(Number(settings.rows[0].max));
    expect(data.connections.reservedForSuperuser).toBe(Number(settings.rows[0].reserved));
    // the probe itself and the observer are client backends; the probe's (and any other
    // ops-console session's) is counted apart, not by state
    expect(data.connections.total).toBeGreaterThanOrEqual(2);
    expect(data.connections.own).toBeGreaterThanOrEqual(1);
    expect(Object.values(data.connections.byState).reduce((a, b) => a + b, 0) + data.connections.own).toBe(data.connections.total);
    expect(data.statements).toEqual({ available: false, reason: `pg_stat_statements is not installed in ${db.name}` });
    expect(data.xidAge.map((x) => x.database)).toContain(db.name);
    expect(data.xidAge.every((x) => Number.isInteger(x.age) && x.age >= 0)).toBe(true);
    for (let i = 1; i < data.xidAge.length; i++) expect(data.xidAge[i - 1].age).toBeGreaterThanOrEqual(data.xidAge[i].age);
    const mine = data.databases.find((d) => d.name === db.name);
    expect(mine?.sizeBytes).toBeGreaterThan(1_000_000);
    expect(typeof mine?.sizeBytes).toBe('number');
    expect(data.tables).toEqual([]);
    expect(data.unusedIndexes).toEqual([]);
    expect(data.cache.indexHitPct).toBeNull(); // a fresh database has no user index reads
    expect(data.cache.bufferHitPct).not.toBeNull();
    // the probe's own backend is never listed among sessions
    const [ownPid] = await probePids(admin, db.name);
    expect(data.longQueries.map((s) => s.pid)).not.toContain(ownPid);

    await okData(probe);
    await okData(probe);
    const pids = await probePids(admin, db.name);
    expect(pids).toHaveLength(1);
    expect(pids[0]).toBe(ownPid); // same connection reused every round
  });

  it('measures idle in transaction from state_change and the transaction age from xact_start, as pg_stat_activity gives them', async () => {
    const idle = await db.client();
    const pid = await backendPid(idle);
    await idle.query('BEGIN');
    await idle.query(`SELECT 'idle-marker-one'   AS   first_step`);
    const seen = await waitFor(
      async () => {
        const d = await okData(probe);
        const s = d.idleInTransaction.find((x) => x.pid === pid);
        return s && s.durationSec >= 1 ? d : null;
      },
      { message: 'idle-in-transaction session at least 1 s old' },
    );
    expect(seen.idleInTransaction.find((x) => x.pid === pid)?.query).toBe(`SELECT 'idle-marker-one' AS first_step`);
    // the transaction grows older; a new statement starts the idle time again
    await waitFor(async () => (await activityAges(admin, pid)).xact >= 2, { message: 'transaction open for 2 s' });
    await idle.query(`SELECT 'idle-marker-two'`);
    const before = await activityAges(admin, pid);
    const data = await okData(probe);
    const after = await activityAges(admin, pid);
    const s = data.idleInTransaction.find((x) => x.pid === pid);
    expect(s).toMatchObject({
      pid,
      user: testServer().user,
      database: db.name,
      application: 'ops-console-test',
      state: 'idle in transaction',
      query: `SELECT 'idle-marker-two'`,
    });
    expect(s?.client).toMatch(/^(127\.0\.0\.1|::1|local)$/);
    // what psql reads from pg_stat_activity just before and just after the round brackets it
    expect(s!.durationSec).toBeGreaterThanOrEqual(before.idle);
    expect(s!.durationSec).toBeLessThanOrEqual(after.idle);
    expect(s!.xactSec).toBeGreaterThanOrEqual(before.xact);
    expect(s!.xactSec).toBeLessThanOrEqual(after.xact);
    expect(s!.durationSec).toBeLessThan(s!.xactSec! - 1);
    // the transaction's age is its own list, oldest first
    const t = data.longTransactions.find((x) => x.pid === pid);
    expect(t?.durationSec).toBeGreaterThanOrEqual(before.xact);
    expect(t?.durationSec).toBeLessThanOrEqual(after.xact);
    expect(data.oldestIdleInTransaction).toEqual(data.idleInTransaction[0]);
    expectLongestFirst(data.idleInTransaction);
    expectLongestFirst(data.longTransactions);
    await idle.query('ROLLBACK');
    const gone = await okData(probe);
    expect(gone.idleInTransaction.map((x) => x.pid)).not.toContain(pid);
    expect(gone.longTransactions.map((x) => x.pid)).not.toContain(pid);
  });

  it('a transaction that keeps working is a long transaction and never idle for long', async () => {
    const worker = await db.client({ application_name: 'busy-worker' });
    const pid = await backendPid(worker);
    await worker.query('BEGIN');
    let stop = false;
    let statements = 0;
    const working = (async () => {
      while (!stop) {
        await worker.query('SELECT pg_sleep(0.02)');
        statements += 1;
      }
    })();
    try {
      await waitFor(async () => (await activityAges(admin, pid)).xact >= 2, { message: 'transaction open for 2 s' });
      const before = await activityAges(admin, pid);
      const data = await okData(probe);
      const t = data.longTransactions.find((x) => x.pid === pid);
      expect(t?.durationSec).toBeGreaterThanOrEqual(before.xact);
      expect(t?.state).toMatch(/^(active|idle in transaction)$/);
      // between two statements it may be seen idle, and then its idle time is the moment since
      // the last statement ended, not the transaction's age
      const i = data.idleInTransaction.find((x) => x.pid === pid);
      if (i) expect(i.durationSec).toBeLessThan(t!.durationSec - 1);
      expect(statements).toBeGreaterThan(10);
    } finally {
      stop = true;
      await working;
      await worker.query('ROLLBACK');
    }
  });
  it('names a session blocked on a lock together with the pid blocking it', async () => {
    await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int)');
    await admin.query('INSERT INTO accounts VALUES (1, 100)');
    const blocker = await db.client();
    const waiter = await db.client();
    const blockerPid = await backendPid(blocker);
    const waiterPid = await backendPid(waiter);
    await blocker.query('BEGIN');
    await blocker.query('UPDATE accounts SET balance = balance - 1 WHERE id = 1');
    const pending = waiter.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
    try {
      const data = await waitFor(
        async () => {
          const d = await okData(probe);
          return d.blocked.some((b) => b.pid === waiterPid) ? d : null;
        },
        { message: 'blocked session reported' },
      );
      const b = data.blocked.find((x) => x.pid === waiterPid)!;
      expect(b.blockedBy).toEqual([blockerPid]);
      expect(b).toMatchObject({
        database: db.name,
        state: 'active',
        waitEventType: 'Lock',
        query: 'UPDATE accounts SET balance = balance + 1 WHERE id = 1',
      });
      expect(b.waitSec).toBeGreaterThanOrEqual(0);
      expect(b.waitSec).toBeLessThan(60);
      // the blocker is idle in transaction, holding the row lock
      expect(data.idleInTransaction.map((s) => s.pid)).toContain(blockerPid);
      expect(data.blocked.map((x) => x.pid)).not.toContain(blockerPid);
      // the wait keeps being measured
      await waitFor(async () => ((await okData(probe)).blocked.find((x) => x.pid === waiterPid)?.waitSec ?? 0) >= 1, {
        message: 'wait of at least 1 s',
      });
    } finally {
      await blocker.query('ROLLBACK');
      await pending;
    }
    const after = await okData(probe);
    expect(after.blocked.map((x) => x.pid)).not.toContain(waiterPid);
  });

  it('reports a long-running query as the longest query', async () => {
    const sleeper = await db.client();
    const pid = await backendPid(sleeper);
    const pending = sleeper.query('SELECT pg_sleep(60) AS   long_marker').catch((err: Error) => err);
    try {
      const data = await waitFor(
        async () => {
          const d = await okData(probe);
          const s = d.longQueries.find((x) => x.pid === pid);
          return s && s.durationSec >= 1 ? d : null;
        },
        { message: 'pg_sleep query running for 1 s' },
      );
      const s = data.longQueries.find((x) => x.pid === pid)!;
      expect(s).toMatchObject({
        pid,
        database: db.name,
        state: 'active',
        query: 'SELECT pg_sleep(60) AS long_marker',
        waitEventType: 'Timeout',
        waitEvent: 'PgSleep',
      });
      expect(data.longestQuery).toEqual(data.longQueries[0]);
      expectLongestFirst(data.longQueries);
      // ours is the longest unless another client of the server has run longer still
      if (data.longestQuery!.pid !== pid) expect(data.longestQuery!.durationSec).toBeGreaterThanOrEqual(s.durationSec);
      else expect(data.longestQuery!.query).toContain('pg_sleep');
    } finally {
      await admin.query('SELECT pg_cancel_backend($1)', [pid]);
      const res = await pending;
      expect(res).toBeInstanceOf(Error);
    }
  });

  it('a session waiting on a lock is blocked, not a long query; the pg_sleep beside it is the long query', async () => {
    await admin.query('CREATE TABLE stock (id int PRIMARY KEY, n int)');
    await admin.query('INSERT INTO stock VALUES (1, 10)');
    const blocker = await db.client({ application_name: 'lock-holder' });
    const waiter = await db.client({ application_name: 'lock-waiter' });
    const sleeper = await db.client({ application_name: 'slow-report' });
    const waiterPid = await backendPid(waiter);
    const sleeperPid = await backendPid(sleeper);
    await blocker.query('BEGIN');
    await blocker.query('UPDATE stock SET n = n - 1 WHERE id = 1');
    const pending = waiter.query('UPDATE stock SET n = n + 1 WHERE id = 1');
    const sleeping = sleeper.query('SELECT pg_sleep(60) AS report_marker').catch((err: Error) => err);
    try {
      // both have run their statement for over a second
      await waitFor(
        async () => {
          const { rows } = await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY ($1::int[]) AND state = 'active' AND now() - query_start > interval '1 second'`,
            [[waiterPid, sleeperPid]],
          );
          return rows[0].n === 2;
        },
        { message: 'waiter and sleeper active for 1 s' },
      );
      const before = await admin.query<{ q: number }>(`SELECT extract(epoch FROM now() - query_start)::float8 AS q FROM pg_stat_activity WHERE pid = $1`, [sleeperPid]);
      const data = await okData(probe);
      const after = await admin.query<{ q: number }>(`SELECT extract(epoch FROM now() - query_start)::float8 AS q FROM pg_stat_activity WHERE pid = $1`, [sleeperPid]);
      expect(data.blocked.map((b) => b.pid)).toContain(waiterPid);
      expect(data.longQueries.map((q) => q.pid)).not.toContain(waiterPid);
      expect(data.sessionAges.longQueries.length).toBeGreaterThanOrEqual(1);
      const q = data.longQueries.find((x) => x.pid === sleeperPid);
      expect(q).toMatchObject({ application: 'slow-report', query: 'SELECT pg_sleep(60) AS report_marker', waitEventType: 'Timeout' });
      expect(q!.durationSec).toBeGreaterThanOrEqual(Number(before.rows[0].q));
      expect(q!.durationSec).toBeLessThanOrEqual(Number(after.rows[0].q));
    } finally {
      await admin.query('SELECT pg_cancel_backend($1)', [sleeperPid]);
      await sleeping;
      await blocker.query('ROLLBACK');
      await pending;
    }
  });

  it('sizes an unused index with pg_relation_size, also one whose relpages is stale among many larger by relpages', async () => {
    // 24 never-used indexes, each 40 pages by relpages and by size
    await admin.query(`DO $$ BEGIN FOR i IN 1..24 LOOP
      EXECUTE format('CREATE TABLE filler%s (v int)', i);
      EXECUTE format('INSERT INTO filler%s SELECT g FROM generate_series(1, 10000) g', i);
      EXECUTE format('CREATE INDEX filler%s_v_idx ON filler%s (v)', i, i);
    END LOOP; END $$`);
    // built on an empty table, filled since, never vacuumed nor analyzed: relpages says 1 page
    await admin.query('CREATE TABLE late (id int, v int) WITH (autovacuum_enabled = false)');
    await admin.query('CREATE INDEX late_v_idx ON late (v)');
    await admin.query('INSERT INTO late SELECT g, g % 1000 FROM generate_series(1, 200000) g');
    await flushStats(admin);
    const { rows } = await admin.query<{ size: string; relpages: number }>(
      `SELECT pg_relation_size('late_v_idx') AS size, relpages FROM pg_class WHERE relname = 'late_v_idx'`,
    );
    const real = Number(rows[0].size);
    expect(rows[0].relpages).toBeLessThanOrEqual(1);
    expect(real).toBeGreaterThan(1024 * 1024);
    const data = await waitFor(
      async () => {
        const d = await okData(probe);
        return d.unusedIndexes.some((i) => i.name === 'late_v_idx') ? d : null;
      },
      { message: 'late_v_idx listed' },
    );
    expect(data.unusedIndexes[0]).toEqual({ schema: 'public', table: 'late', name: 'late_v_idx', sizeBytes: real });
    expect(data.unusedIndexes).toHaveLength(10);
    for (const i of data.unusedIndexes.slice(1)) {
      const r = await admin.query<{ size: string }>(`SELECT pg_relation_size($1::regclass) AS size`, [`public.${i.name}`]);
      expect(i.sizeBytes).toBe(Number(r.rows[0].size));
    }
  });

  it('puts a table with autovacuum off and most rows dead at the top of the tables list', async () => {
    await admin.query('CREATE TABLE tidy (id int)');
    await admin.query('INSERT INTO tidy SELECT generate_series(1, 1000)');
    await admin.query('CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = false)');
    await admin.query(`INSERT INTO bloated SELECT g, repeat('x', 20) FROM generate_series(1, 20000) g`);
    await admin.query('DELETE FROM bloated WHERE id % 10 <> 0'); // 18,000 dead, 2,000 live
    await flushStats(admin);
    const data = await waitFor(
      async () => {
        const d = await okData(probe);
        return d.tables[0]?.name === 'bloated' && d.tables[0].deadTuples === 18000 && d.tables[0].liveTuples === 2000 ? d : null;
      },
      { message: 'dead tuples of "bloated" visible' },
    );
    expect(data.tables[0]).toEqual({
      schema: 'public',
      name: 'bloated',
      liveTuples: 2000,
      deadTuples: 18000,
      deadPct: 90,
      lastVacuum: null,
      lastAutovacuum: null,
      lastAnalyze: null,
      lastAutoanalyze: null,
    });
    expect(data.tables.map((t) => t.name)).not.toContain('tidy');

    // After a manual VACUUM and ANALYZE (and some new dead rows) the timestamps come back as ISO strings.
    const before = Date.now();
    await admin.query('VACUUM ANALYZE bloated');
    await admin.query('DELETE FROM bloated WHERE id <= 5000'); // 500 of the 2,000 left
    await flushStats(admin);
    const t = await waitFor(
      async () => {
        const row = (await okData(probe)).tables.find((x) => x.name === 'bloated');
        return row && row.deadTuples === 500 && row.lastVacuum ? row : null;
      },
      { message: 'vacuum time visible' },
    );
    expect(t.liveTuples).toBe(1500);
    expect(t.deadPct).toBeCloseTo(25, 5);
    expect(t.lastVacuum).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(t.lastVacuum!)).toBeGreaterThanOrEqual(before - 2000);
    expect(t.lastAnalyze).toMatch(/Z$/);
    expect(t.lastAutovacuum).toBeNull();
  });

  it('lists a large never-used non-unique index with its size, and no unique, primary or constraint index', async () => {
    await admin.query(`CREATE TABLE big (id int PRIMARY KEY, v int, u int, w int, x int)`);
    await admin.query(`INSERT INTO big SELECT g, (g * 7919) % 100003, g, g % 77, g FROM generate_series(1, 100000) g`);
    await admin.query(`CREATE INDEX big_v_idx ON big (v)`);
    await admin.query(`CREATE UNIQUE INDEX big_u_key ON big (u)`);
    await admin.query(`CREATE INDEX big_w_idx ON big (w)`);
    await admin.query(`ALTER TABLE big ADD CONSTRAINT big_x_excl EXCLUDE USING btree (x WITH =)`);
    // use big_w_idx once, so it is not "unused"
    await admin.query('SET enable_seqscan = off');
    const plan = await admin.query(`EXPLAIN SELECT count(*) FROM big WHERE w = 5`);
    expect(JSON.stringify(plan.rows)).toContain('big_w_idx');
    await admin.query(`SELECT count(*) FROM big WHERE w = 5`);
    await admin.query('RESET enable_seqscan');
    await flushStats(admin);
    const { rows } = await admin.query<{ size: string }>(`SELECT pg_relation_size('big_v_idx') AS size`);
    const expected = Number(rows[0].size);
    expect(expected).toBeGreaterThan(1024 * 1024);

    const data = await waitFor(
      async () => {
        const d = await okData(probe);
        return d.unusedIndexes.every((i) => i.name !== 'big_w_idx') ? d : null;
      },
      { message: 'index scan on big_w_idx visible' },
    );
    expect(data.unusedIndexes).toContainEqual({ schema: 'public', table: 'big', name: 'big_v_idx', sizeBytes: expected });
    const names = data.unusedIndexes.map((i) => i.name);
    expect(names).not.toContain('big_pkey');
    expect(names).not.toContain('big_u_key');
    expect(names).not.toContain('big_x_excl');
    expect(names).not.toContain('big_w_idx');
    expect(names).toEqual(['big_v_idx']);
    // the index hit ratio is now measurable
    expect(data.cache.indexHitPct).not.toBeNull();
    expect(data.cache.indexHitPct!).toBeGreaterThan(0);
    expect(data.cache.indexHitPct!).toBeLessThanOrEqual(100);
  });

  it('degrades to "not available" when pg_stat_statements is installed but cannot be queried', async ({ skip }) => {
    const avail = await admin.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'`);
    const preload = await admin.query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`);
    // Nothing to degrade on such a server; the available path is covered on the dedicated cluster below.
    if (avail.rowCount === 0) skip('pg_stat_statements is not shipped with this server');
    if (preload.rows[0].v.includes('pg_stat_statements')) skip('pg_stat_statements is preloaded on this server');
    await admin.query('CREATE EXTENSION pg_stat_statements');
    const r = await probe.probe();
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    const data = (r as Extract<ProbeResult<PgData>, { ok: true }>).data;
    expect(data.statements.available).toBe(false);
    expect(data.statements.available === false && data.statements.reason).toMatch(
      /^pg_stat_statements query failed: .*shared_preload_libraries/,
    );
    // the rest of the round is intact
    expect(data.database).toBe(db.name);
    expect((await okData(probe)).statements.available).toBe(false);
  });

  it('reconnects after the server terminates its backend, idle or just before a round', async () => {
    await okData(probe);
    const [pid1] = await probePids(admin, db.name);
    expect(pid1).toBeGreaterThan(0);
    await admin.query('SELECT pg_terminate_backend($1)', [pid1]);
    await waitFor(async () => !(await probePids(admin, db.name)).includes(pid1), { message: 'backend gone' });
    const d1 = await probe.probe();
    expect(d1.ok, d1.ok ? '' : d1.error).toBe(true);
    expect(probe.retryAt).toBeNull();
    const pids2 = await probePids(admin, db.name);
    expect(pids2).toHaveLength(1);
    expect(pids2[0]).not.toBe(pid1);

    // terminated and probed at once: the round notices the dead connection and reconnects itself
    await admin.query('SELECT pg_terminate_backend($1)', [pids2[0]]);
    const d2 = await probe.probe();
    expect(d2.ok, d2.ok ? '' : d2.error).toBe(true);
    const pids3 = await waitFor(async () => {
      const p = await probePids(admin, db.name);
      return p.length === 1 && !p.includes(pids2[0]) ? p : null;
    });
    expect(pids3).toHaveLength(1);
  });

  it('sees the test server through the OPS_TEST_PG_* environment too (for child processes)', () => {
    const s = testServer();
    expect(process.env.OPS_TEST_PG_HOST).toBe(s.host);
    expect(process.env.OPS_TEST_PG_PORT).toBe(String(s.port));
    expect(process.env.OPS_TEST_PG_USER).toBe(s.user);
    expect(process.env.OPS_TEST_PG_URL).toMatch(/^postgres:\/\//);
  });

  it('scrubs secrets from error text', async () => {
    const secret = 's3cr3t-Pa55';
    const s = testServer();
    const p = new PostgresProbe({
      connection: { host: s.host, port: s.port, user: s.user, password: s.password, database: `nope_${secret}` },
      timeoutMs: TIMEOUT_MS,
      secrets: [secret],
    });
    try {
      const r = await p.probe();
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toBe(`database "nope_***" does not exist`);
      expect(r.error).not.toContain(secret);
    } finally {
      await p.close();
    }
  });

  it('closes its connection on close() and answers "probe closed" afterwards', async () => {
    await okData(probe);
    expect(await probePids(admin, db.name)).toHaveLength(1);
    await probe.close();
    await waitFor(async () => (await probePids(admin, db.name)).length === 0, { message: 'probe backend gone' });
    const r = await probe.probe();
    expect(r).toMatchObject({ ok: false, error: 'probe closed' });
  });
});

// ====================================================================== a dedicated tiny cluster
const pgBin = findPgBin();

describe.skipIf(!pgBin)('PostgresProbe on a dedicated cluster (max_connections = 10)', () => {
  const superPassword = 'tiny-super-pw';
  let cluster: Cluster;
  let server: { host: string; port: number; user: string; password: string; database: string };
  const extra: pg.Client[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      settings: {
        max_connections: 10,
        superuser_reserved_connections: 3,
        max_wal_senders: 0,
        wal_level: 'minimal',
        shared_preload_libraries: "'pg_stat_statements'",
      },
      hostAuth: 'scram-sha-256',
      superuserPassword: superPassword,
    });
    server = { host: cluster.host, port: cluster.port, user: 'postgres', password: superPassword, database: 'postgres' };
  });

  afterAll(() => {
    cluster?.stop();
  });

  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.end().catch(() => {})));
  });

  it('counts connections against the lowered max_connections', async () => {
    const db = await createTestDatabase('conns', server);
    const probe = new PostgresProbe({ connection: db.connection, timeoutMs: TIMEOUT_MS });
    try {
      const alone = await okData(probe);
      // the probe's own connection takes a slot, and is counted apart from the sessions by state
      expect(alone.connections).toEqual({ total: 1, max: 10, reservedForSuperuser: 3, byState: {}, own: 1 });
      for (let i = 0; i < 8; i++) extra.push(await db.client());
      const busy = await okData(probe);
      expect(busy.connections).toEqual({ total: 9, max: 10, reservedForSuperuser: 3, byState: { idle: 8 }, own: 1 });
      // exactly one of them is the probe's
      const observer = extra[0];
      expect(await probePids(observer, db.name)).toHaveLength(1);
    } finally {
      await probe.close();
      await Promise.all(extra.splice(0).map((c) => c.end().catch(() => {})));
      await db.drop();
    }
  });

  it('reports the slowest statements when pg_stat_statements is installed', async () => {
    const db = await createTestDatabase('pgss', server);
    const probe = new PostgresProbe({ connection: db.connection, timeoutMs: TIMEOUT_MS });
    try {
      const c = await db.client();
      await c.query('CREATE EXTENSION pg_stat_statements');
      await c.query('SELECT pg_stat_statements_reset()');
      await c.query('SELECT pg_sleep(0.25) AS slow_marker');
      await c.query('SELECT pg_sleep(0.25) AS slow_marker');
      const first = await okData(probe);
      await okData(probe); // the probe's own statements are now in pg_stat_statements too
      const data = await okData(probe);
      expect(first.statements.available).toBe(true);
      if (!data.statements.available) throw new Error(data.statements.reason);
      const top = data.statements.top;
      expect(top.length).toBeGreaterThan(0);
      expect(top.length).toBeLessThanOrEqual(5);
      expect(top[0].query).toBe('SELECT pg_sleep($1) AS slow_marker');
      expect(top[0].calls).toBe(2);
      expect(top[0].meanMs).toBeGreaterThanOrEqual(250);
      expect(top[0].totalMs).toBeGreaterThanOrEqual(500);
      for (let i = 1; i < top.length; i++) expect(top[i - 1].meanMs).toBeGreaterThanOrEqual(top[i].meanMs);
      expect(top.some((s) => s.query.includes('ops-console'))).toBe(false);
    } finally {
      await probe.close();
      await db.drop();
    }
  });

  it('reports a wrong password plainly, without the password', async () => {
    const admin = await adminClient(server);
    try {
      await admin.query(`CREATE ROLE probe_user LOGIN PASSWORD 'right-pass-123'`);
    } finally {
      await admin.end();
    }
    const wrong = 'wrong-pass-456';
    const probe = new PostgresProbe({
      connection: { host: server.host, port: server.port, user: 'probe_user', password: wrong, database: 'postgres' },
      timeoutMs: TIMEOUT_MS,
    });
    try {
      const r = await probe.probe();
      expect(r).toMatchObject({ ok: false, error: 'password authentication failed for user "probe_user"' });
      expect(JSON.stringify(r)).not.toContain(wrong);
      expect(probe.retryAt).not.toBeNull();
    } finally {
      await probe.close();
    }
    const right = new PostgresProbe({
      connection: { host: server.host, port: server.port, user: 'probe_user', password: 'right-pass-123', database: 'postgres' },
      timeoutMs: TIMEOUT_MS,
    });
    try {
      const r = await right.probe();
      expect(r.ok, r.ok ? '' : r.error).toBe(true);
    } finally {
      await right.close();
    }
  });
});

// ====================================================================== no database
describe('PostgresProbe when the database is unreachable', () => {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const probes: PostgresProbe[] = [];

  function track(s: net.Socket) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  }

  async function listen(onConn: (s: net.Socket) => void): Promise<number> {
    const srv = net.createServer((s) => {
      track(s);
      onConn(s);
    });
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return (srv.address() as net.AddressInfo).port;
  }

  function make(opts: Partial<PgProbeOptions> & { port: number }): PostgresProbe {
    const p = new PostgresProbe({
      connection: { host: '127.0.0.1', port: opts.port, user: 'postgres', database: 'postgres', ...opts.connection },
      timeoutMs: opts.timeoutMs ?? TIMEOUT_MS,
      secrets: opts.secrets,
    });
    probes.push(p);
    return p;
  }

  afterEach(async () => {
    await Promise.all(probes.splice(0).map((p) => p.close()));
    for (const s of sockets) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('reports a refused connection, backs off and answers the next call at once', async () => {
    const port = await freePort();
    const password = 'hunter2-secret';
    const probe = make({ port, connection: { password }, secrets: [password] });
    const t0 = Date.now();
    const r1 = await probe.probe();
    expect(r1).toMatchObject({ ok: false, error: `connection refused at 127.0.0.1:${port}` });
    expect(JSON.stringify(r1)).not.toContain(password);
    const retryAt = probe.retryAt!;
    expect(retryAt).toBeGreaterThanOrEqual(t0 + 1000 - 5);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 1000);
    const r2 = await probe.probe();
    expect(r2).toMatchObject({ ok: false, error: `connection refused at 127.0.0.1:${port} (retrying in 1s)` });
    expect(r2.ms).toBeLessThan(50);
    expect(probe.retryAt).toBe(retryAt);
  });

  it('does not connect again before retryAt, and doubles the delay after each failure', async () => {
    let accepted = 0;
    const port = await listen((s) => {
      accepted += 1;
      s.destroy(); // accept, then hang up: not a PostgreSQL server
    });
    const probe = make({ port });
    const r1 = await probe.probe();
    expect(r1).toMatchObject({ ok: false, error: `connection to 127.0.0.1:${port} closed unexpectedly` });
    expect(accepted).toBe(1);
    const first = probe.retryAt!;
    expect(first - r1.at).toBeGreaterThanOrEqual(1000);
    expect(first - r1.at).toBeLessThan(1000 + 100);

    const r2 = await probe.probe();
    expect(r2.ok).toBe(false);
    expect(r2.ms).toBeLessThan(50);
    expect(accepted).toBe(1); // no connection attempt

    await waitFor(() => Date.now() >= first, { timeoutMs: 3000, intervalMs: 20 });
    const r3 = await probe.probe();
    expect(r3.ok).toBe(false);
    expect(accepted).toBe(2);
    const second = probe.retryAt!;
    expect(second - r3.at).toBeGreaterThanOrEqual(2000);
    expect(second - r3.at).toBeLessThan(2000 + 100);
    const r4 = await probe.probe();
    expect(r4.ok ? '' : r4.error).toMatch(/\(retrying in 2s\)$/);
  });

  it('gives up on a server that accepts but never answers, within the timeout', async () => {
    const port = await listen((sock) => sock.resume()); // accept, read, say nothing
    const probe = make({ port, timeoutMs: 300 });
    const r = await probe.probe();
    expect(r).toMatchObject({ ok: false, error: `timed out after 300 ms connecting to 127.0.0.1:${port}` });
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms).toBeLessThan(1000);
    await waitFor(() => sockets.size === 0, { timeoutMs: 2000, message: 'socket destroyed' });
    expect(probe.retryAt).not.toBeNull();
  });

  it('times out a round on a connection that hangs mid-way, then reconnects', async () => {
    const s = testServer();
    const db = await createTestDatabase('hang');
    let frozen = false;
    let accepted = 0;
    const port = await listen((down) => {
      accepted += 1;
      const up = net.connect(s.port, s.host);
      track(up);
      down.on('data', (b) => {
        if (!frozen) up.write(b);
      });
      up.on('data', (b) => {
        if (!frozen) down.write(b);
      });
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    const probe = make({ port, timeoutMs: 1000, connection: { database: db.name, user: s.user, password: s.password } });
    try {
      expect((await probe.probe()).ok).toBe(true);
      expect(accepted).toBe(1);
      frozen = true;
      const r = await probe.probe();
      expect(r).toMatchObject({ ok: false, error: 'timed out after 1000 ms' });
      expect(r.ms).toBeGreaterThanOrEqual(990);
      expect(r.ms).toBeLessThan(2000);
      expect(probe.retryAt).toBeNull(); // the connection worked; reconnect on the next round
      frozen = false;
      const again = await probe.probe();
      expect(again.ok, again.ok ? '' : again.error).toBe(true);
      expect(accepted).toBe(2);
    } finally {
      await probe.close();
      await db.drop();
    }
  });
});
