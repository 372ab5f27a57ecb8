// The checks behind real outages (issue 10 §2) against real PostgreSQL: each condition built for
// real on a throwaway cluster configured as it needs, judged by the probe and the rules as the
// console and `ops check` judge them. Slots, the archiver, prepared transactions, autovacuum and
// the xmin horizon are cluster-wide, so these clusters are this file's own, and each test undoes
// what it made.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, DEFAULT_THRESHOLDS, type Thresholds } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import { HostProbe } from '../../src/probes/host';
import { PostgresProbe } from '../../src/probes/postgres';
import type { Check, PgData } from '../../src/types';
import { startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

const MiB = 1024 * 1024;
const TIMEOUT_MS = 10_000;

type Overrides = { [K in keyof Thresholds]?: Partial<Thresholds[K]> | Thresholds[K] };
const thresholds = (over: Overrides = {}): Thresholds => ConfigSchema.parse({ thresholds: over }).thresholds;

const server = (c: Cluster) => ({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'postgres' });

/** Probes (one round on a fresh probe, as `ops check` does, unless one is given) and judges. */
async function judge(db: TestDatabase, th: Thresholds = DEFAULT_THRESHOLDS, probe?: PostgresProbe, connection?: pg.ClientConfig): Promise<{ checks: Map<string, Check>; data: PgData }> {
  const own = !probe;
  const p = probe ?? new PostgresProbe({ connection: connection ?? db.connection, timeoutMs: TIMEOUT_MS });
  try {
    const [host, postgres] = await Promise.all([new HostProbe({ timeoutMs: 3000 }).probe(), p.probe()]);
    if (!postgres.ok) throw new Error(`probe failed: ${postgres.error}`);
    const report = evaluate({ at: Date.now(), host, postgres, http: [], tls: [] }, th);
    return { checks: new Map(report.checks.map((c) => [c.id, c])), data: postgres.data };
  } finally {
    if (own) await p.close();
  }
}

function get(checks: Map<string, Check>, id: string): Check {
  const c = checks.get(id);
  if (!c) throw new Error(`no check ${id} (have ${[...checks.keys()].join(', ')})`);
  return c;
}

async function flushStats(c: pg.Client): Promise<void> {
  const v = (await c.query(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v as number;
  if (v >= 150000) await c.query('SELECT pg_stat_force_next_flush()');
}

// ====================================================================== a cluster with outages
describe('outage checks on a cluster with archiving failing, prepared transactions allowed and autovacuum off', () => {
  let cluster: Cluster;
  let db: TestDatabase;
  let admin: pg.Client;

  beforeAll(async () => {
    cluster = await startCluster({
      prefix: 'ops-outages-',
      settings: { archive_mode: 'on', archive_command: "'false'", max_prepared_transactions: 5, autovacuum: 'off' },
    });
    db = await createTestDatabase('outages', server(cluster));
    admin = await db.client({ application_name: 'ops-console-test-admin' });
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    cluster?.stop();
  });

  it('autovacuum = off: pg.autovacuum CRITICAL, subject autovacuum, with a hint; a table with autovacuum_enabled = false and dead rows is its own row', async () => {
    await admin.query(`CREATE TABLE av_off (id int, note text) WITH (autovacuum_enabled = off)`);
    await admin.query(`INSERT INTO av_off SELECT g, 'x' FROM generate_series(1, 3000) g`);
    await admin.query(`DELETE FROM av_off WHERE id > 100`);
    await flushStats(admin);
    try {
      const { checks } = await judge(db);
      const c = get(checks, 'pg.autovacuum');
      expect(c.status).toBe('CRITICAL');
      expect(c.subject).toBe('autovacuum');
      expect(c.summary).toMatch(/^autovacuum is off for the server/);
      expect(c.hint).toMatch(/autovacuum = on/);
      expect(c.rows?.find((r) => r.subject === 'autovacuum')).toMatchObject({ status: 'CRITICAL', object: { kind: 'setting', name: 'autovacuum' } });
      expect(c.rows?.find((r) => r.subject === 'public.av_off')).toMatchObject({
        status: 'WARNING',
        value: 2900,
        object: { kind: 'table', schema: 'public', table: 'av_off' },
        hint: expect.stringMatching(/RESET \(autovacuum_enabled\)/),
      });
    } finally {
      await admin.query('DROP TABLE av_off');
    }
  });

  it('a table with rows never analyzed: tables.never_analyzed WARNING naming it, OK once analyzed (the next round, same probe)', async () => {
    await admin.query(`CREATE TABLE never_seen (id int)`);
    await admin.query(`INSERT INTO never_seen SELECT generate_series(1, 5000)`);
    await flushStats(admin);
    const probe = new PostgresProbe({ connection: db.connection, timeoutMs: TIMEOUT_MS });
    try {
      const before = get((await judge(db, DEFAULT_THRESHOLDS, probe)).checks, 'tables.never_analyzed');
      expect(before.status).toBe('WARNING');
      expect(before.subject).toBe('public.never_seen');
      expect(before.value).toBe(5000);
      expect(before.summary).toMatch(/^public\.never_seen never analyzed/);
      expect(before.rows?.[0]).toMatchObject({ subject: 'public.never_seen', object: { kind: 'table', schema: 'public', table: 'never_seen' } });
      await admin.query('ANALYZE never_seen');
      await flushStats(admin);
      const after = get((await judge(db, DEFAULT_THRESHOLDS, probe)).checks, 'tables.never_analyzed');
      expect(after.status).toBe('OK');
      expect(after.subject).toBeNull();
    } finally {
      await probe.close();
      await admin.query('DROP TABLE never_seen');
    }
  });

  it('archive_command failing, then pg_switch_wal(): pg.archiver CRITICAL naming the WAL file, with a hint; OK once the command succeeds', async () => {
    await admin.query(`CREATE TABLE wal_filler (id int)`);
    try {
      await admin.query(`INSERT INTO wal_filler SELECT generate_series(1, 1000)`);
      await admin.query('SELECT pg_switch_wal()');
      // the archiver tries the file (and fails) on its own time
      const failed = await waitFor(async () => {
        const r = await admin.query(`SELECT last_failed_wal FROM pg_stat_archiver WHERE failed_count > 0`);
        return r.rows[0]?.last_failed_wal as string | undefined;
      }, { timeoutMs: 20_000, message: 'the archiver to fail once' });
      const { checks } = await judge(db);
      const c = get(checks, 'pg.archiver');
      expect(c.status).toBe('CRITICAL');
      expect(c.subject).toBe(`wal ${failed}`);
      expect(c.summary).toMatch(new RegExp(`^WAL archiver failing: ${failed} failed .* last success never, \\d+ WAL files? waiting`));
      expect(c.value).toBeGreaterThanOrEqual(1);
      expect(c.hint).toMatch(/server log/);
      expect(c.rows?.[0]).toMatchObject({ object: { kind: 'archiver', wal: failed } });

      // fixed: the command succeeds, the waiting files go
      await admin.query(`ALTER SYSTEM SET archive_command = 'true'`);
      await admin.query('SELECT pg_reload_conf()');
      await waitFor(async () => {
        const r = await admin.query(`SELECT last_archived_time > coalesce(last_failed_time, '-infinity') AS ok FROM pg_stat_archiver`);
        return r.rows[0]?.ok === true;
      }, { timeoutMs: 90_000, message: 'the archiver to succeed' });
      const ok = get((await judge(db)).checks, 'pg.archiver');
      expect(ok.status).toBe('OK');
      expect(ok.summary).toMatch(/^WAL archiver \d+ WAL files? waiting/);
    } finally {
      await admin.query('DROP TABLE wal_filler');
      await admin.query(`ALTER SYSTEM RESET archive_command`);
      await admin.query('SELECT pg_reload_conf()');
    }
  }, 120_000);

  it('a prepared transaction left open: pg.prepared_xacts WARNING naming its gid, and it holds the xmin horizon', async () => {
    const c = await db.client();
    await c.query(`CREATE TABLE prep_t (id int)`);
    await c.query('BEGIN');
    await c.query('INSERT INTO prep_t VALUES (1)');
    await c.query(`PREPARE TRANSACTION 'ops_test_gid'`);
    try {
      const { checks } = await judge(db, thresholds({ preparedXactSec: { warning: 0, critical: 3600 } }));
      const p = get(checks, 'pg.prepared_xacts');
      expect(p.status).toBe('WARNING');
      expect(p.subject).toBe('prepared ops_test_gid');
      expect(p.summary).toMatch(new RegExp(`^prepared transaction ops_test_gid in ${db.name} by postgres, `));
      expect(p.rows?.[0]).toMatchObject({ object: { kind: 'prepared', gid: 'ops_test_gid', database: db.name, owner: 'postgres' } });
      const x = get(checks, 'pg.xmin_horizon');
      expect(x.rows?.map((r) => r.subject)).toContain('prepared ops_test_gid');
    } finally {
      await admin.query(`ROLLBACK PREPARED 'ops_test_gid'`);
      await admin.query('DROP TABLE prep_t');
    }
    const after = get((await judge(db, thresholds({ preparedXactSec: { warning: 0, critical: 3600 } }))).checks, 'pg.prepared_xacts');
    expect(after).toMatchObject({ status: 'OK', subject: null, summary: 'no prepared transactions' });
  });

  it('a physical slot with reserved WAL, then pg_switch_wal() several times: pg.replication_slots WARNING (inactive, WAL retained); CRITICAL once lost', async () => {
    await admin.query(`SELECT pg_create_physical_replication_slot('ops_test_slot', true)`);
    await admin.query(`CREATE TABLE wal_more (id int)`);
    try {
      for (let i = 0; i < 4; i++) {
        await admin.query(`INSERT INTO wal_more SELECT generate_series(1, 2000)`);
        await admin.query('SELECT pg_switch_wal()');
      }
      const th = thresholds({ slotRetainedBytes: { warning: 16 * MiB, critical: 1024 * MiB } });
      const c = get((await judge(db, th)).checks, 'pg.replication_slots');
      expect(c.status).toBe('WARNING');
      expect(c.subject).toBe('slot ops_test_slot');
      expect(c.value).toBeGreaterThanOrEqual(3 * 16 * MiB);
      expect(c.summary).toMatch(/^slot ops_test_slot \(physical\): inactive, \d+(\.\d)? MB of WAL retained, [\d.]+% of the room WAL has on \//);
      expect(c.rows?.[0]).toMatchObject({ status: 'WARNING', object: { kind: 'slot', slot: 'ops_test_slot', slotType: 'physical', database: null } });

      // past max_slot_wal_keep_size, a checkpoint invalidates it (PostgreSQL 13+)
      await admin.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`);
      await admin.query('SELECT pg_reload_conf()');
      await admin.query(`INSERT INTO wal_more SELECT generate_series(1, 2000)`);
      await admin.query('SELECT pg_switch_wal()');
      await admin.query('CHECKPOINT');
      const lost = get((await judge(db, th)).checks, 'pg.replication_slots');
      expect(lost.status).toBe('CRITICAL');
      expect(lost.subject).toBe('slot ops_test_slot');
      expect(lost.summary).toMatch(/wal_status (lost|unreserved)/);
    } finally {
      await admin.query(`SELECT pg_drop_replication_slot('ops_test_slot')`);
      await admin.query('DROP TABLE wal_more');
      await admin.query(`ALTER SYSTEM RESET max_slot_wal_keep_size`);
      await admin.query('SELECT pg_reload_conf()');
    }
  });

  it('a CREATE UNIQUE INDEX CONCURRENTLY that fails on duplicates, and a REINDEX CONCURRENTLY cut short: indexes.invalid CRITICAL, the _ccnew leftover named', async () => {
    await admin.query(`CREATE TABLE dups (x int)`);
    await admin.query(`INSERT INTO dups VALUES (1), (1), (2)`);
    await expect(admin.query(`CREATE UNIQUE INDEX CONCURRENTLY dups_x ON dups (x)`)).rejects.toThrow(/could not create unique index/);
    try {
      const c = get((await judge(db)).checks, 'indexes.invalid');
      expect(c.status).toBe('CRITICAL');
      expect(c.subject).toBe('public.dups_x');
      expect(c.summary).toMatch(/^public\.dups_x on dups: invalid, from a failed CREATE INDEX CONCURRENTLY/);
      expect(c.rows?.[0]).toMatchObject({ object: { kind: 'index', schema: 'public', table: 'dups', index: 'dups_x' } });

      // REINDEX CONCURRENTLY waits for a writer's transaction after making its _ccnew copy;
      // cancelled there, it leaves the copy behind, invalid
      await admin.query(`CREATE TABLE rx (id int)`);
      await admin.query(`CREATE INDEX rx_id ON rx (id)`);
      const writer = await db.client();
      await writer.query('BEGIN');
      await writer.query('INSERT INTO rx VALUES (1)');
      const rebuild = await db.client();
      await rebuild.query(`SET statement_timeout = '500ms'`);
      await expect(rebuild.query('REINDEX INDEX CONCURRENTLY rx_id')).rejects.toThrow(/statement timeout/);
      await writer.query('COMMIT');
      const both = get((await judge(db)).checks, 'indexes.invalid');
      expect(both.status).toBe('CRITICAL');
      expect(both.summary).toMatch(/^2 invalid indexes: /);
      expect(both.rows?.find((r) => r.subject === 'public.rx_id_ccnew')).toMatchObject({
        status: 'CRITICAL',
        text: 'public.rx_id_ccnew on rx: a leftover of a failed REINDEX CONCURRENTLY (_ccnew): drop it',
        object: { kind: 'index', schema: 'public', table: 'rx', index: 'rx_id_ccnew' },
      });
    } finally {
      await admin.query('DROP TABLE dups');
      await admin.query('DROP TABLE IF EXISTS rx');
    }
  });

  it('setval near the maximum of an int4 sequence, a serial column and an int4 column fed by a bigint sequence: sequences.exhaustion by share of the range', async () => {
    await admin.query(`CREATE SEQUENCE near_end AS integer`);
    await admin.query(`SELECT setval('near_end', 2000000000)`); // 93.1 %
    await admin.query(`CREATE TABLE ser (id serial PRIMARY KEY)`);
    await admin.query(`SELECT setval('ser_id_seq', 1700000000)`); // 79.2 %
    await admin.query(`CREATE SEQUENCE wide AS bigint`);
    await admin.query(`CREATE TABLE narrow (id int DEFAULT nextval('wide'))`);
    await admin.query(`SELECT setval('wide', 1650000000)`); // 76.8 % of the int4 column, nothing of bigint
    try {
      const c = get((await judge(db)).checks, 'sequences.exhaustion');
      expect(c.status).toBe('CRITICAL');
      expect(c.subject).toBe('public.near_end');
      expect(c.value).toBeCloseTo(93.13, 1);
      expect(c.summary).toMatch(/^3 sequences near their limit: public\.near_end 93\.1%, public\.ser_id_seq 79\.2%, public\.wide 76\.8%/);
      const rows = new Map((c.rows ?? []).map((r) => [r.subject, r]));
      expect(rows.get('public.near_end')).toMatchObject({ status: 'CRITICAL', object: { kind: 'sequence', schema: 'public', sequence: 'near_end', column: null } });
      expect(rows.get('public.ser_id_seq')).toMatchObject({
        status: 'WARNING',
        object: { kind: 'sequence', sequence: 'ser_id_seq', column: { schema: 'public', table: 'ser', column: 'id', type: 'integer' } },
      });
      expect(rows.get('public.ser_id_seq')?.text).toMatch(/feeds integer column public\.ser\.id \(serial\)/);
      expect(rows.get('public.wide')).toMatchObject({ status: 'WARNING', object: { column: { table: 'narrow', column: 'id', type: 'integer' } } });
      expect(rows.get('public.wide')?.text).toMatch(/of the column's integer maximum 2147483647, feeds integer column public\.narrow\.id \(default\)/);
    } finally {
      await admin.query('DROP TABLE ser, narrow');
      await admin.query('DROP SEQUENCE near_end, wide');
    }
  });

  it('a sequence locked by another transaction: its chunk gives up after a short lock wait, the round does not; the check says what it could not read', async () => {
    await admin.query(`CREATE SEQUENCE locked_seq AS integer`);
    await admin.query(`SELECT setval('locked_seq', 2100000000)`);
    const locker = await db.client();
    try {
      // a rename held open: ACCESS EXCLUSIVE on the sequence until it ends
      await locker.query('BEGIN');
      await locker.query('ALTER SEQUENCE locked_seq RENAME TO locked_seq_renamed');
      const { checks } = await judge(db);
      const c = get(checks, 'sequences.exhaustion');
      expect(c.status).toBe('UNKNOWN');
      expect(c.summary).toMatch(/^1 of 1 sequences not read yet \(locked, or left to the background read\)/);
      expect(get(checks, 'pg.up').status).toBe('OK');
    } finally {
      await locker.query('ROLLBACK');
      await admin.query('DROP SEQUENCE IF EXISTS locked_seq');
    }
  });

  it("a repeatable-read transaction holding a snapshot: pg.xmin_horizon WARNING naming its pid, and the dead-tuple row says vacuum cannot remove them, held back by it", async () => {
    await admin.query(`CREATE TABLE churn (id int) WITH (autovacuum_enabled = off)`);
    const holder = await db.client({ application_name: 'ops-test-holder' });
    const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT count(*) FROM churn');
    try {
      await admin.query(`INSERT INTO churn SELECT generate_series(1, 20000)`);
      await admin.query(`DELETE FROM churn WHERE id > 1000`);
      await admin.query('VACUUM churn'); // it cannot remove them: the snapshot is older
      await flushStats(admin);
      const { checks } = await judge(db);
      const x = get(checks, 'pg.xmin_horizon');
      expect(x.status).toBe('WARNING');
      expect(x.subject).toBe(`pid ${pid}`);
      expect(x.summary).toMatch(new RegExp(`^xmin horizon \\d+ transactions old, held by pid ${pid} \\(postgres@127\\.0\\.0\\.1 in ${db.name}, idle in transaction, transaction open \\d+s\\)`));
      expect(x.summary).toMatch(/public\.churn: \d+k? dead rows, vacuum cannot remove them: held back by pid/);
      expect(x.rows?.find((r) => r.subject === `pid ${pid}`)).toMatchObject({ status: 'WARNING', object: { kind: 'session', pid, database: db.name, user: 'postgres' } });
      const dead = get(checks, 'tables.dead_tuples');
      const row = dead.rows?.find((r) => r.subject === 'public.churn');
      expect(row?.vacuum).toMatchObject({ removable: 'held', heldBy: expect.stringMatching(new RegExp(`^pid ${pid} `)) });
    } finally {
      await holder.query('ROLLBACK');
      await admin.query('DROP TABLE churn');
    }
    // nothing holds it any more
    const x = get((await judge(db)).checks, 'pg.xmin_horizon');
    expect(x.status).toBe('OK');
  });

  it('a role without pg_monitor: the xmin horizon and an unreadable sequence are UNKNOWN, naming the privilege', async () => {
    await admin.query(`CREATE ROLE ops_plain LOGIN`);
    await admin.query(`CREATE SEQUENCE secret_seq`);
    try {
      const { checks } = await judge(db, DEFAULT_THRESHOLDS, undefined, { ...db.connection, user: 'ops_plain', password: undefined });
      const x = get(checks, 'pg.xmin_horizon');
      expect(x.status).toBe('UNKNOWN');
      expect(x.summary).toMatch(/^other roles' sessions and standbys are not visible: needs pg_read_all_stats \(part of pg_monitor\)/);
      const s = get(checks, 'sequences.exhaustion');
      expect(s.status).toBe('UNKNOWN');
      expect(s.summary).toMatch(/^1 sequence not readable by this role \(needs SELECT or USAGE on them/);
      // what it can see is still judged: autovacuum is off
      expect(get(checks, 'pg.autovacuum').status).toBe('CRITICAL');
    } finally {
      await admin.query('DROP SEQUENCE secret_seq');
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'ops_plain'`);
      await admin.query(`DROP ROLE ops_plain`);
    }
  });

  it('ops check --json carries each finding with its object, and the hint where no task fixes it', async () => {
    await admin.query(`CREATE SEQUENCE json_seq AS integer`);
    await admin.query(`SELECT setval('json_seq', 2100000000)`);
    const conf = tempConfigDir({});
    try {
      const r = await runOps(['check', '--only', 'postgres,tables', '--json', '--database', db.url], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(r.code).toBe(2);
      const out = JSON.parse(r.stdout) as { checks: (Check & { findings?: unknown[] })[] };
      const av = out.checks.find((c) => c.id === 'pg.autovacuum');
      expect(av).toMatchObject({ status: 'CRITICAL', subject: 'autovacuum', hint: expect.stringMatching(/autovacuum = on/) });
      expect(av?.findings).toContainEqual(expect.objectContaining({ subject: 'autovacuum', status: 'CRITICAL', object: { kind: 'setting', name: 'autovacuum' } }));
      const seq = out.checks.find((c) => c.id === 'sequences.exhaustion');
      expect(seq).toMatchObject({ status: 'CRITICAL', subject: 'public.json_seq', unit: '%', thresholds: { warning: 75, critical: 90, direction: 'above' } });
      expect(seq?.findings).toEqual([
        expect.objectContaining({ subject: 'public.json_seq', status: 'CRITICAL', object: { kind: 'sequence', schema: 'public', sequence: 'json_seq', column: null } }),
      ]);
      const text = await runOps(['check', '--only', 'postgres,tables', '--database', db.url], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(text.stdout).toMatch(/^\[CRITICAL\] sequences\.exhaustion: public\.json_seq 97\.8% used/m);
      expect(text.stdout.split('\n')[0]).toMatch(/'sequences\.exhaustion'=97\.8%;75;90/);
    } finally {
      conf.cleanup();
      await admin.query('DROP SEQUENCE json_seq');
    }
  });
});

// ====================================================================== a healthy cluster
describe('outage checks on a healthy cluster', () => {
  let cluster: Cluster;
  let db: TestDatabase;

  beforeAll(async () => {
    cluster = await startCluster({ prefix: 'ops-outages-ok-' });
    db = await createTestDatabase('outages_ok', server(cluster));
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    cluster?.stop();
  });

  it('every outage check is OK, none names an object, and pg.xid_age gives its share of autovacuum_freeze_max_age', async () => {
    const c = await db.client();
    await c.query('CREATE TABLE fine (id serial PRIMARY KEY, v int)');
    await c.query('INSERT INTO fine (v) SELECT generate_series(1, 100)');
    await c.query('ANALYZE fine');
    await flushStats(c);
    const { checks } = await judge(db);
    for (const id of ['pg.replication_slots', 'pg.archiver', 'pg.xmin_horizon', 'pg.prepared_xacts', 'pg.autovacuum', 'pg.mxid_age', 'tables.never_analyzed', 'indexes.invalid', 'sequences.exhaustion']) {
      const x = get(checks, id);
      expect(x.status, `${id}: ${x.summary}`).toBe('OK');
    }
    expect(get(checks, 'pg.archiver').summary).toBe('WAL archiving is off (archive_mode = off)');
    expect(get(checks, 'pg.replication_slots')).toMatchObject({ summary: 'no replication slots', subject: null });
    expect(get(checks, 'pg.autovacuum').summary).toMatch(/^autovacuum on, \d of 3 workers busy$/);
    expect(get(checks, 'pg.xid_age').summary).toMatch(/^transaction ID age \d+ in \S+ \(\d+\.\d% of autovacuum_freeze_max_age 200\.0M\)/);
    expect(get(checks, 'pg.mxid_age').summary).toMatch(/^multixact ID age \d+ in \S+ \(\d+\.\d% of autovacuum_multixact_freeze_max_age 400\.0M\)/);
    expect(get(checks, 'sequences.exhaustion').summary).toMatch(/^1 sequence, the most used public\.fine_id_seq 0\.0% used/);
  });
});
