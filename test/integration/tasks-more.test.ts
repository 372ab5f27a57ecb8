// reindex-concurrently, restore, cancel-query, terminate-sessions, rotate-logs and clean-temp
// against real PostgreSQL (with the real pg_dump / pg_restore) and real files in temp
// directories: what each changes, what its rollback puts back, and what it refuses.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  lutimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG, type Config } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';
import { backup } from '../../tasks/backup';
import { cleanTemp, rotateLogs } from '../../tasks/files';
import { BUILTIN_TASKS, findTask } from '../../tasks/index';
import { reindexConcurrently } from '../../tasks/reindex';
import { restore } from '../../tasks/restore';
import { cancelQuery, terminateSessions } from '../../tasks/sessions';
import { adminClient, createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

type Ev = Parameters<JournalSink['append']>[0];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

interface Fixture {
  db: TestDatabase;
  admin: pg.Client;
  dir: string;
  target: ResolvedTarget;
  config: Config;
  connect: (extra?: Partial<pg.ClientConfig>) => Promise<pg.Client>;
}

/** A database of its own, a client to it, and an empty temp directory (backup.dir). */
async function fixture(prefix: string): Promise<Fixture> {
  const db = await createTestDatabase(prefix);
  const dir = mkdtempSync(join(tmpdir(), `ops-${prefix}-`));
  const clients: pg.Client[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  const config: Config = { ...DEFAULT_CONFIG, backup: { dir, glob: '*' } };
  const connect = async (extra: Partial<pg.ClientConfig> = {}) => {
    const c = new pg.Client({ ...db.connection, application_name: 'ops-console/task', ...extra });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const admin = await db.client();
  return { db, admin, dir, target, config, connect };
}

interface RunnerExtra {
  config?: Config;
  target?: ResolvedTarget;
  connect?: () => Promise<pg.Client>;
  /** called as each event is journaled, before the step it announces runs */
  onEvent?: (e: Ev) => void;
}

function runner(task: TaskDef, params: unknown, f: Partial<Fixture>, extra: RunnerExtra = {}) {
  const events: Ev[] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = {
    append: (e) => {
      events.push(structuredClone(e));
      extra.onEvent?.(e);
    },
  };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  const target = extra.target ?? f.target ?? { name: 'none', source: 'default', connection: {}, display: 'none', database: 'none', secrets: [] };
  const r = new TaskRunner({
    task,
    params,
    runId: `t-${task.id}`,
    target,
    config: extra.config ?? f.config ?? DEFAULT_CONFIG,
    journal,
    log,
    connect: extra.connect ?? (f.connect ? () => f.connect!() : undefined),
    graceMs: 400,
  });
  const values = (step: string) => (events.find((e) => e.type === 'step.finish' && e.step === step)?.values ?? {}) as Record<string, unknown>;
  const out = () => lines.map((l) => l.line).join('\n');
  return { r, events, lines, values, out };
}

// ====================================================================== reindex-concurrently

async function indexInfo(c: pg.Client, name: string): Promise<{ relfilenode: number; size: number; valid: boolean } | null> {
  const r = await c.query(
    `SELECT c.relfilenode::int8 AS relfilenode, pg_relation_size(c.oid)::int8 AS size, i.indisvalid AS valid
       FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname = $1`,
    [name],
  );
  const row = r.rows[0];
  return row ? { relfilenode: Number(row.relfilenode), size: Number(row.size), valid: row.valid === true } : null;
}

describe('reindex-concurrently', () => {
  it('rebuilds a bloated index: a new relfilenode, smaller, and valid', async () => {
    const f = await fixture('reindex');
    await f.admin.query(`
      CREATE TABLE items (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off);
      INSERT INTO items SELECT g, g FROM generate_series(1, 60000) g;
      CREATE INDEX items_v_idx ON items (v);
      DELETE FROM items WHERE id % 20 <> 0;
    `);
    await f.admin.query('VACUUM items');
    const before = (await indexInfo(f.admin, 'items_v_idx'))!;

    const { r, out, values } = runner(reindexConcurrently, { index: 'public.items_v_idx' }, f);
    const plan = r.plan();
    expect(plan[1].detail).toBe('REINDEX (VERBOSE) INDEX CONCURRENTLY "public"."items_v_idx"');
    expect(plan[1].irreversible).toBe(false);
    expect(plan[1].rollback).toMatch(/DROP INDEX CONCURRENTLY IF EXISTS each INVALID <name>_ccnew/);
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    r.end();

    const after = (await indexInfo(f.admin, 'items_v_idx'))!;
    expect(after.relfilenode).not.toBe(before.relfilenode);
    expect(after.valid).toBe(true);
    expect(after.size).toBeLessThan(before.size / 2);
    expect(values('check')).toMatchObject({ resolved: { kind: 'index', schema: 'public', name: 'items_v_idx' }, sizeBefore: before.size });
    expect(values('reindex')).toEqual({ sizeAfter: after.size });
    // the server is on this host: the free space was measured
    expect(out()).toMatch(/free in \/\S+ \(tablespace pg_default\); the rebuilt indexes need about/);
    // nothing was left behind
    const left = await f.admin.query(`SELECT relname FROM pg_class WHERE relname LIKE 'items%cc%'`);
    expect(left.rows).toEqual([]);
  });

  it('table=: rebuilds every index of the table', async () => {
    const f = await fixture('reindex');
    await f.admin.query(`
      CREATE TABLE "Odd Table" (id int PRIMARY KEY, v text);
      INSERT INTO "Odd Table" SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
      CREATE INDEX odd_v ON "Odd Table" (v);
    `);
    const pk = (await indexInfo(f.admin, 'Odd Table_pkey'))!;
    const v = (await indexInfo(f.admin, 'odd_v'))!;
    const { r, out } = runner(reindexConcurrently, { table: 'Odd Table' }, f);
    expect(r.plan()[1].detail).toBe('REINDEX (VERBOSE) TABLE CONCURRENTLY "Odd Table"');
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(state.steps[1].detail).toBe('REINDEX (VERBOSE) TABLE CONCURRENTLY "public"."Odd Table"');
    r.end();
    expect((await indexInfo(f.admin, 'Odd Table_pkey'))!.relfilenode).not.toBe(pk.relfilenode);
    expect((await indexInfo(f.admin, 'odd_v'))!.relfilenode).not.toBe(v.relfilenode);
    expect(out()).toContain('3 indexes to rebuild'); // and the TOAST table's
  });

  it('a rebuild that fails leaves an INVALID _ccnew index; the offered rollback drops it', async () => {
    const f = await fixture('reindex');
    // an index expression that fails only in sessions where ops.fail_reindex is on
    await f.admin.query(`
      CREATE FUNCTION picky(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('ops.fail_reindex', true) = 'on' AND x = 5 THEN RAISE EXCEPTION 'picky about %', x; END IF;
        RETURN x;
      END $$;
      CREATE TABLE t (x int);
      INSERT INTO t SELECT generate_series(1, 100);
      CREATE INDEX t_picky_idx ON t (picky(x));
    `);
    const connect = () => f.connect({ options: '-c ops.fail_reindex=on' });
    const { r, out } = runner(reindexConcurrently, { index: 't_picky_idx' }, f, { connect });
    const state = await r.run();
    expect(state.outcome, out()).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'failed']);
    expect(state.steps[1].error).toContain('picky about 5');
    expect(await indexInfo(f.admin, 't_picky_idx_ccnew')).toMatchObject({ valid: false });

    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['check']);
    expect(await r.rollback(['check'])).toEqual([{ step: 'check', ok: true }]);
    expect(out()).toContain('DROP INDEX CONCURRENTLY IF EXISTS "public"."t_picky_idx_ccnew"');
    expect(await indexInfo(f.admin, 't_picky_idx_ccnew')).toBeNull();
    expect(await indexInfo(f.admin, 't_picky_idx')).toMatchObject({ valid: true });
    r.end();
    expect(r.state.outcome).toBe('rolled back');
  });

  it('a user who may not read data_directory: the free-space check is skipped with a warning, the rebuild runs', async () => {
    const f = await fixture('reindex');
    const role = `ops_ri_${f.db.name.slice(-6)}`;
    const password = 'ri-test-pw';
    await f.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    cleanups.unshift(async () => {
      // after the database is dropped (cleanups run newest first): the role owns nothing then
      const a = await adminClient();
      try {
        await a.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await a.end();
      }
    });
    await f.admin.query(`
      CREATE TABLE owned (id int PRIMARY KEY);
      INSERT INTO owned SELECT generate_series(1, 100);
      ALTER TABLE owned OWNER TO ${role};
    `);
    const connect = () => f.connect({ user: role, password });
    const { r, out, lines } = runner(reindexConcurrently, { index: 'owned_pkey' }, f, { connect });
    const before = (await indexInfo(f.admin, 'owned_pkey'))!;
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(lines.some((l) => l.stream === 'err' && /^free space not checked: the data directory is not readable for this user/.test(l.line))).toBe(true);
    expect((await indexInfo(f.admin, 'owned_pkey'))!.relfilenode).not.toBe(before.relfilenode);
    r.end();
  });

  it('takes exactly one of index and table; a missing index fails step 1', async () => {
    expect(() => runner(reindexConcurrently, {}, {})).toThrow(/give exactly one of index=schema.name or table=schema.name/);
    expect(() => runner(reindexConcurrently, { index: 'a', table: 'b' }, {})).toThrow(/exactly one/);
    const f = await fixture('reindex');
    const { r } = runner(reindexConcurrently, { index: 'public.nope' }, f);
    const state = await r.run();
    expect(state.steps.map((s) => s.status)).toEqual(['failed', 'pending']);
    expect(state.steps[0].error).toBe('no such index: public.nope');
    r.end();
  });
});

// ====================================================================== restore

async function snapshot(c: pg.Client): Promise<string> {
  const r = await c.query(`SELECT coalesce(string_agg(id || '=' || name, ',' ORDER BY id), '') AS s FROM items`);
  return String(r.rows[0].s);
}

/** A database with data, a dump of it in backup.dir, then the data changed. */
async function restoreFixture() {
  const f = await fixture('restore');
  await f.admin.query(`
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;
  `);
  const old = await snapshot(f.admin);
  const b = runner(backup, {}, f);
  const s = await b.r.run();
  expect(s.outcome, b.out()).toBe('succeeded');
  b.r.end();
  const file = String(b.values('check').file);
  await f.admin.query(`
    UPDATE items SET name = 'changed' WHERE id = 1;
    DELETE FROM items WHERE id > 15;
    INSERT INTO items SELECT g, 'new ' || g FROM generate_series(100, 104) g;
  `);
  const changed = await snapshot(f.admin);
  expect(changed).not.toBe(old);
  return { f, file, old, changed };
}

describe('restore', () => {
  it('restore: its safety backup exists before anything is overwritten', async () => {
    const { f, file, old, changed } = await restoreFixture();

    // what was on disk at the moment the restore step was announced (before pg_restore started)
    let safetyFile: string | undefined;
    let atRestoreStart: { ts: number; exists: boolean; partial: boolean; size: number; mtimeMs: number; data: string } | null = null;
    const onEvent = (e: Ev) => {
      if (e.type === 'step.finish' && e.step === 'check') safetyFile = String((e.values as Record<string, unknown>).safetyFile);
      if (e.type === 'step.start' && e.step === 'restore' && safetyFile) {
        const st = existsSync(safetyFile) ? statSync(safetyFile) : null;
        atRestoreStart = { ts: Date.parse(e.ts), exists: !!st, partial: existsSync(`${safetyFile}.partial`), size: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? NaN, data: '' };
      }
    };
    const { r, events, out, values } = runner(restore, { file }, f, { onEvent });
    const plan = r.plan();
    expect(plan.map((p) => p.id)).toEqual(['check', 'list', 'safety-backup', 'safety-seal', 'restore']);
    expect(plan[4].detail).toContain('--clean --if-exists --no-owner --single-transaction');
    expect(plan[4].rollback).toContain(`${f.db.name}-before-restore-YYYYMMDD-HHMMSS.dump`);
    expect(plan.every((p) => !p.irreversible)).toBe(true);

    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);

    // the safety backup, finished and sealed, came before the restore started
    const idx = (type: string, step: string) => events.findIndex((e) => e.type === type && e.step === step);
    expect(idx('step.finish', 'safety-backup')).toBeGreaterThan(-1);
    expect(idx('step.finish', 'safety-seal')).toBeLessThan(idx('step.start', 'restore'));
    expect(events[idx('step.finish', 'safety-seal')]).toMatchObject({ outcome: 'ok' });
    expect(idx('step.start', 'restore')).toBeGreaterThan(-1);
    expect(safetyFile).toBe(String(values('safety-seal').safetyFile));
    expect(basename(safetyFile!)).toMatch(new RegExp(`^${f.db.name}-before-restore-\\d{8}-\\d{6}\\.dump$`));
    const seen = atRestoreStart as unknown as { ts: number; exists: boolean; partial: boolean; size: number; mtimeMs: number };
    expect(seen).not.toBeNull();
    expect(seen.exists).toBe(true);
    expect(seen.partial).toBe(false);
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.mtimeMs).toBeLessThan(seen.ts);
    // kept, with a checksum sha256sum accepts
    expect(existsSync(safetyFile!)).toBe(true);
    expect(execFileSync('sha256sum', ['-c', `${basename(safetyFile!)}.sha256`], { cwd: f.dir, encoding: 'utf8' })).toContain(': OK');

    // the data is the old dump's
    expect(await snapshot(f.admin)).toBe(old);

    // rolling back the restore brings the changed data back, from the safety backup
    const rb = r.rollbackPlan();
    expect(rb[0].step).toBe('restore');
    expect(rb[0].detail).toContain(safetyFile!);
    expect(rb[0].detail).toContain('--single-transaction');
    expect(await r.rollback(['restore'])).toEqual([{ step: 'restore', ok: true }]);
    expect(await snapshot(f.admin)).toBe(changed);
    expect(existsSync(safetyFile!)).toBe(true);
    r.end();
  });

  it('a dump that fails its checksum stops at step 1: no safety backup, nothing changed', async () => {
    const { f, file, changed } = await restoreFixture();
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(file, bytes);
    const { r } = runner(restore, { file }, f);
    const state = await r.run();
    expect(state.steps.map((s) => s.status)).toEqual(['failed', 'pending', 'pending', 'pending', 'pending']);
    expect(state.steps[0].error).toMatch(/^sha256 mismatch: /);
    r.end();
    expect(readdirSync(f.dir).filter((n) => n.includes('before-restore'))).toEqual([]);
    expect(await snapshot(f.admin)).toBe(changed);
  });

  it('a restore that fails part-way changes nothing (one transaction); the safety backup is kept', async () => {
    const { f, file, changed } = await restoreFixture();
    // a view the dump does not know: --clean cannot drop items under it, and pg_restore fails
    await f.admin.query(`CREATE VIEW items_view AS SELECT * FROM items`);
    const { r, out, values } = runner(restore, { file }, f);
    const state = await r.run();
    expect(state.outcome, out()).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'failed']);
    expect(await snapshot(f.admin)).toBe(changed);
    // not even the primary key, which --clean drops before the table, is gone
    const pk = await f.admin.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'p'`);
    expect(pk.rows).toEqual([{ conname: 'items_pkey' }]);
    const safety = String(values('safety-seal').safetyFile);
    expect(existsSync(safety)).toBe(true);
    // what the prompt offers removes only an unfinished safety file, never the finished one
    const plan = r.rollbackPlan();
    expect(plan).toEqual([{ step: 'check', index: 0, title: expect.any(String), detail: `rm -f -- ${safety}.partial` }]);
    await r.rollback(['check']);
    expect(existsSync(safety)).toBe(true);
    r.end();
  });
});

// ====================================================================== sessions

async function activity(c: pg.Client, pid: number): Promise<{ state: string; query: string } | null> {
  const r = await c.query(`SELECT state, query FROM pg_stat_activity WHERE pid = $1`, [pid]);
  return (r.rows[0] as { state: string; query: string } | undefined) ?? null;
}

async function pidOf(c: pg.Client): Promise<number> {
  return Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
}

describe('terminate-sessions and cancel-query', () => {
  it('terminates the session idle in a transaction (listed first), and leaves an ops-console session alone', async () => {
    const f = await fixture('sessions');
    const victim = await f.db.client({ application_name: 'victim-app' });
    const victimPid = await pidOf(victim);
    const ours = await f.db.client({ application_name: 'ops-console: other-run' });
    const oursPid = await pidOf(ours);
    for (const c of [victim, ours]) await c.query(`BEGIN; SELECT 1 AS touch_${c === victim ? 'v' : 'o'}`);
    await waitFor(async () => (await activity(f.admin, victimPid))?.state === 'idle in transaction' && (await activity(f.admin, oursPid))?.state === 'idle in transaction', {
      message: 'both sessions idle in transaction',
    });

    const { r, out, values, lines } = runner(terminateSessions, { kind: 'idle-in-transaction', olderThanSec: '0' }, f);
    const plan = r.plan();
    expect(plan[0].detail).toMatch(/^list sessions of this database idle in a transaction for 0 s or more/);
    expect(plan[1]).toMatchObject({ irreversible: true, rollback: null });
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('list').sessions).toEqual([{ pid: victimPid, backendStart: expect.any(String) }]);
    expect(values('terminate')).toEqual({ signalled: [victimPid], skipped: [] });
    // shown first: the listing line comes before the terminate step starts
    const listed = lines.findIndex((l) => new RegExp(`^pid ${victimPid} \\S+@\\S+ db \\S+ \\[victim-app\\] idle in transaction \\d+s: BEGIN; SELECT 1 AS touch_v`).test(l.line));
    const started = lines.findIndex((l) => l.line.startsWith('▶ Terminate the sessions'));
    expect(listed).toBeGreaterThan(-1);
    expect(listed).toBeLessThan(started);
    expect(out()).toContain(`pid ${victimPid}: terminated`);
    r.end();

    await expect(victim.query('SELECT 1')).rejects.toThrow();
    await waitFor(async () => (await activity(f.admin, victimPid)) === null, { message: 'the terminated session is gone' });
    expect((await ours.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await ours.query('ROLLBACK');
  });

  it('kind=idle-in-transaction means idle that long (since state_change), not a transaction that old', async () => {
    const f = await fixture('sessions');
    const forgotten = await f.db.client({ application_name: 'forgotten' });
    const working = await f.db.client({ application_name: 'still-working' });
    const forgottenPid = await pidOf(forgotten);
    const workingPid = await pidOf(working);
    await forgotten.query('BEGIN; SELECT 1 AS forgotten');
    await working.query('BEGIN; SELECT 1 AS first_step');
    const ages = async (pid: number) =>
      (await f.admin.query(`SELECT extract(epoch FROM now() - state_change)::float8 AS idle, extract(epoch FROM now() - xact_start)::float8 AS xact FROM pg_stat_activity WHERE pid = $1`, [pid])).rows[0] as { idle: number; xact: number };
    await waitFor(async () => (await ages(forgottenPid)).idle >= 5 && (await ages(workingPid)).xact >= 5, { message: 'both transactions 5 s old' });
    // its transaction is as old, but it has just run a statement: idle again from now
    await working.query('SELECT 2 AS second_step');

    const { r, out, values } = runner(terminateSessions, { kind: 'idle-in-transaction', olderThanSec: '4' }, f);
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('list').sessions).toEqual([{ pid: forgottenPid, backendStart: expect.any(String) }]);
    expect(values('terminate')).toEqual({ signalled: [forgottenPid], skipped: [] });
    r.end();
    expect(Number((await ages(workingPid)).xact)).toBeGreaterThanOrEqual(5);
    expect((await working.query('SELECT 3 AS ok')).rows[0].ok).toBe(3);
    await working.query('ROLLBACK');
  });

  it('cancels a running pg_sleep by pid; the session itself lives on', async () => {
    const f = await fixture('sessions');
    const victim = await f.db.client({ application_name: 'sleeper' });
    const victimPid = await pidOf(victim);
    const sleeping = victim.query('SELECT pg_sleep(60)');
    const outcome = sleeping.then(
      () => 'finished',
      (err: Error) => err.message,
    );
    await waitFor(async () => {
      const a = await activity(f.admin, victimPid);
      return a?.state === 'active' && a.query.includes('pg_sleep');
    }, { message: 'pg_sleep running' });

    const { r, out, values } = runner(cancelQuery, { pids: String(victimPid) }, f);
    expect(r.plan()[1].detail).toBe(`SELECT pg_cancel_backend(pid) for each session step 1 lists (pid ${victimPid}), each re-checked to be the session listed (same pid and backend_start)`);
    expect(r.plan()[1].irreversible).toBe(true);
    const started = Date.now();
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('cancel')).toEqual({ signalled: [victimPid], skipped: [] });
    r.end();
    expect(await outcome).toBe('canceling statement due to user request');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await victim.query('SELECT 2 AS ok')).rows[0].ok).toBe(2);
  });

  it('a pid whose backend_start changed since it was listed is skipped, not signalled', async () => {
    const f = await fixture('sessions');
    const victim = await f.db.client({ application_name: 'victim-app' });
    const victimPid = await pidOf(victim);
    // the real list and terminate steps, with the listed identity aged in between: to step 2,
    // the pid now belongs to a session that started later than the one listed (a reused pid)
    const [list, terminate] = terminateSessions.steps;
    const task: TaskDef = {
      ...terminateSessions,
      steps: [
        list,
        {
          id: 'pid-reused',
          title: 'the listed session ends and a new one gets its pid',
          action: (ctx) => ({
            kind: 'fn',
            describe: 'age the listed backend_start',
            run: async () => ({
              sessions: (ctx.values.sessions as { pid: number; backendStart: string }[]).map((s) => ({ ...s, backendStart: '2001-02-03 04:05:06.789+00' })),
            }),
          }),
        },
        terminate,
      ],
    };
    const { r, out, values, lines } = runner(task, { pids: [String(victimPid)] }, f);
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('list').sessions).toEqual([{ pid: victimPid, backendStart: expect.any(String) }]);
    expect(values('terminate')).toEqual({ signalled: [], skipped: [victimPid] });
    expect(lines).toContainEqual({ line: `pid ${victimPid}: skipped, it is no longer the session listed (it ended, or the pid now belongs to another session)`, stream: 'err' });
    r.end();
    expect((await victim.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    expect(await activity(f.admin, victimPid)).not.toBeNull();
  });

  it("refuses the console's sessions and unknown pids; needs pids or kind", async () => {
    const f = await fixture('sessions');
    const ours = await f.db.client({ application_name: 'ops-console' });
    const oursPid = await pidOf(ours);
    const { r, lines } = runner(terminateSessions, { pids: [oursPid, 999_999_9] }, f);
    const state = await r.run();
    expect(state.steps.map((s) => s.status)).toEqual(['failed', 'pending']);
    expect(state.steps[0].error).toBe(`nothing to terminate: none of pids ${oursPid}, 9999999 can be chosen`);
    expect(lines).toContainEqual({ line: `pid ${oursPid}: refused, it is an ops-console session (application_name ops-console)`, stream: 'err' });
    expect(lines).toContainEqual({ line: 'pid 9999999: refused, no such session', stream: 'err' });
    r.end();
    expect((await ours.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);

    expect(() => runner(terminateSessions, {}, f)).toThrow(/give either pids=<pid>/);
    expect(() => runner(cancelQuery, { pids: '1', kind: 'long-running' }, f)).toThrow(/give either pids=<pid>/);
    expect(() => runner(cancelQuery, { pids: '1', olderThanSec: '5' }, f)).toThrow(/olderThanSec goes with kind/);
    expect(() => runner(cancelQuery, { kind: 'idle' }, f)).toThrow(/--param kind/);
    expect(() => runner(cancelQuery, { pids: 'abc' }, f)).toThrow(/--param pids/);
  });
});

// ====================================================================== rotate-logs

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ops-${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** A file with the given content, last modified `ageSec` ago (whole seconds, exactly restorable). */
function file(path: string, content: string | Buffer, ageSec: number): { mtimeMs: number } {
  writeFileSync(path, content);
  const t = nowSec() - ageSec;
  utimesSync(path, t - 5, t);
  return { mtimeMs: t * 1000 };
}

function snapshotDir(dir: string): Record<string, { sha: string; mtimeMs: number; mode: number }> {
  const out: Record<string, { sha: string; mtimeMs: number; mode: number }> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    out[name] = { sha: st.isFile() ? execFileSync('sha256sum', [p], { encoding: 'utf8' }).split(' ')[0] : 'link', mtimeMs: st.mtimeMs, mode: st.mode };
  }
  return out;
}

describe('rotate-logs', () => {
  it('gzips the old logs with their mtimes; rolling back restores identical bytes, mtimes and modes', async () => {
    const dir = tempDir('rotate');
    const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i} of the app log\n`).join(''));
    file(join(dir, 'app.log'), big, 3 * 86400);
    file(join(dir, 'worker.log'), 'worker says hi\n', 2 * 86400);
    chmodSync(join(dir, 'worker.log'), 0o640);
    file(join(dir, 'today.log'), 'still written\n', 600);
    file(join(dir, 'notes.txt'), 'not a log\n', 5 * 86400);
    file(join(dir, 'elsewhere'), 'target of a link\n', 5 * 86400);
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'link.log'));
    lutimesSync(join(dir, 'link.log'), nowSec() - 5 * 86400, nowSec() - 5 * 86400);
    const before = snapshotDir(dir);

    const { r, out, values } = runner(rotateLogs, { dir }, {});
    expect(r.plan()[2]).toMatchObject({ irreversible: true, detail: 'no deleteArchivesOlderThanDays given: nothing to delete' });
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    const manifest = String(values('pick').manifest);
    expect(basename(manifest)).toMatch(/^\.ops-rotate-\d{8}-\d{6}\.json$/);
    expect(readdirSync(dir).sort()).toEqual(['app.log.gz', 'elsewhere', 'link.log', 'notes.txt', 'today.log', 'worker.log.gz', basename(manifest)].sort());
    expect(gunzipSync(readFileSync(join(dir, 'app.log.gz')))).toEqual(big);
    expect(statSync(join(dir, 'app.log.gz')).mtimeMs).toBe(before['app.log'].mtimeMs);
    expect(statSync(join(dir, 'worker.log.gz')).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, 'app.log.gz')).size).toBeLessThan(big.length / 5);
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { entries: { original: string; gz: string }[] };
    expect(m.entries.map((e) => [e.original, e.gz])).toEqual([
      ['app.log', 'app.log.gz'],
      ['worker.log', 'worker.log.gz'],
    ]);
    expect(values('compress')).toEqual({ compressed: 2, archives: ['app.log.gz', 'worker.log.gz'] });

    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['compress', 'pick']);
    expect(await r.rollback(['compress'])).toEqual([{ step: 'compress', ok: true }]);
    expect(snapshotDir(dir)).toEqual(before);
    // the other offer finds nothing left to do
    expect(await r.rollback(['pick'])).toEqual([{ step: 'pick', ok: true }]);
    expect(snapshotDir(dir)).toEqual(before);
    r.end();
  });

  it('deleteArchivesOlderThanDays deletes old archives (irreversible), but not the ones just written', async () => {
    const dir = tempDir('rotate');
    file(join(dir, 'old.log.gz'), 'ancient archive', 40 * 86400);
    file(join(dir, 'recent.log.gz'), 'recent archive', 2 * 86400);
    file(join(dir, 'other.gz'), 'not an archive of *.log', 40 * 86400);
    file(join(dir, 'stale.log'), 'a log untouched for 40 days\n', 40 * 86400);

    const { r, out, values } = runner(rotateLogs, { dir, deleteArchivesOlderThanDays: '30' }, {});
    const plan = r.plan();
    expect(plan[2].irreversible).toBe(true);
    expect(plan[2].rollback).toBeNull();
    expect(plan[2].detail).toBe(`delete the files in ${dir} matching *.log.gz last modified more than 30 days ago, except those step 2 wrote`);
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('delete-archives')).toMatchObject({ deleted: 1 });
    expect(readdirSync(dir).filter((n) => !n.startsWith('.ops-rotate-')).sort()).toEqual(['other.gz', 'recent.log.gz', 'stale.log.gz']);
    // nothing offers to bring the deleted archive back
    expect(r.rollbackPlan().map((p) => p.step)).toEqual(['compress', 'pick']);
    r.end();
  });
});

// ====================================================================== clean-temp

describe('clean-temp', () => {
  it('the plan shows the count and bytes; only old matching files go, no symlink is followed', async () => {
    const dir = tempDir('clean');
    const outside = tempDir('clean-outside');
    mkdirSync(join(dir, 'sub'));
    file(join(dir, 'a.tmp'), Buffer.alloc(100, 1), 3 * 86400);
    file(join(dir, 'sub', 'b.tmp'), Buffer.alloc(250, 2), 2 * 86400);
    file(join(dir, 'fresh.tmp'), Buffer.alloc(999, 3), 60);
    file(join(dir, 'keep.log'), Buffer.alloc(50, 4), 3 * 86400);
    file(join(outside, 'precious.tmp'), 'not ours', 10 * 86400);
    symlinkSync(join(outside, 'precious.tmp'), join(dir, 'link.tmp'));
    lutimesSync(join(dir, 'link.tmp'), nowSec() - 10 * 86400, nowSec() - 10 * 86400);
    symlinkSync(outside, join(dir, 'linkdir'));

    const { r, out, values } = runner(cleanTemp, { dir, glob: '*.tmp', olderThanHours: '24' }, {});
    const plan = r.plan();
    expect(plan[0].detail).toMatch(new RegExp(`^2 files, 350 B \\(350 bytes\\) under ${dir} matching \\*\\.tmp, last modified more than 24 h ago`));
    expect(plan[0].rollback).toBeNull();
    expect(plan[0].irreversible).toBe(false);
    expect(plan[1]).toMatchObject({ irreversible: true, rollback: null });
    const state = await r.run();
    expect(state.outcome, out()).toBe('succeeded');
    expect(values('count')).toMatchObject({ count: 2, bytes: 350 });
    expect(values('delete')).toEqual({ deleted: 2, deletedBytes: 350 });
    expect(existsSync(join(dir, 'a.tmp')) || existsSync(join(dir, 'sub', 'b.tmp'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['fresh.tmp', 'keep.log', 'link.tmp', 'linkdir', 'sub']);
    expect(readFileSync(join(outside, 'precious.tmp'), 'utf8')).toBe('not ours');
    expect(r.rollbackPlan()).toEqual([]);
    r.end();
  });

  it('refuses /, system and home directories, symlinks and files', () => {
    const dir = tempDir('clean');
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync('/etc', join(dir, 'etc-link'));
    const refused = (d: string) => () => runner(cleanTemp, { dir: d }, {});
    expect(refused('/')).toThrow('clean-temp: --param dir: refusing to clean /: it is a system directory');
    expect(refused('/etc')).toThrow(/refusing to clean \/etc/);
    expect(refused('/usr/share')).toThrow(/refusing to clean \/usr\/share: it is inside \/usr/);
    expect(refused('/var')).toThrow(/refusing to clean \/var/);
    expect(refused(homedir())).toThrow(/refusing to clean/);
    expect(refused(join(dir, 'f'))).toThrow(/is not a directory/);
    expect(refused(join(dir, 'etc-link'))).toThrow(/is a symbolic link/);
    expect(refused(join(dir, 'missing'))).toThrow(/does not exist/);
    expect(refused(`${dir}/../../`)).toThrow(/refusing to clean \//);
    expect(() => runner(cleanTemp, { dir }, {})).not.toThrow();
  });
});

describe('the registry', () => {
  it('lists these tasks after the others, with their risks', () => {
    const ids = BUILTIN_TASKS.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(['reindex-concurrently', 'restore', 'cancel-query', 'terminate-sessions', 'rotate-logs', 'clean-temp']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      Object.fromEntries(['reindex-concurrently', 'restore', 'cancel-query', 'terminate-sessions', 'rotate-logs', 'clean-temp'].map((id) => [id, findTask(id)?.risk])),
    ).toEqual({ 'reindex-concurrently': 'medium', restore: 'critical', 'cancel-query': 'medium', 'terminate-sessions': 'high', 'rotate-logs': 'low', 'clean-temp': 'medium' });
  });
});
