// backup and verify-backup against real PostgreSQL with the real pg_dump / pg_restore: the dump
// and its checksum, a verified restore with row counts compared, a corrupted dump and a changed
// source detected, the scratch database never left behind, rollback removing the files, and the
// password kept out of every command line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG, type Config } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import { describeAction, type RunContext, type TaskDef } from '../../src/tasks/model';
import { backup } from '../../tasks/backup';
import { findTask, BUILTIN_TASKS } from '../../tasks/index';
import { verifyBackup } from '../../tasks/verify-backup';
import { adminClient, createTestDatabase, testServer, type TestDatabase } from '../support/pg';

type Ev = Parameters<JournalSink['append']>[0];

interface Fixture {
  db: TestDatabase;
  dir: string;
  target: ResolvedTarget;
  config: Config;
  connect: () => Promise<pg.Client>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A database with a few tables and rows (one with an awkward name), and an empty backup directory. */
async function fixture(): Promise<Fixture> {
  const db = await createTestDatabase('backup');
  const dir = mkdtempSync(join(tmpdir(), 'ops-backup-'));
  const clients: pg.Client[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await db.client();
  await c.query(`
    CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
    CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers, amount numeric);
    INSERT INTO orders (customer, amount) SELECT 1 + g % 50, g * 1.5 FROM generate_series(1, 1200) g;
    CREATE SCHEMA "Sales";
    CREATE TABLE "Sales"."Odd Table" (x int);
    INSERT INTO "Sales"."Odd Table" SELECT generate_series(1, 7);
    CREATE TABLE empty_one (x int);
  `);
  const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  const config: Config = { ...DEFAULT_CONFIG, backup: { dir, glob: '*' } };
  const connect = async () => {
    const client = new pg.Client({ ...db.connection, application_name: 'ops-console/task' });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  };
  return { db, dir, target, config, connect };
}

function runner(f: Fixture, task: TaskDef, params: unknown = {}, target: ResolvedTarget = f.target) {
  const events: Ev[] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  const r = new TaskRunner({ task, params, runId: `t-${task.id}`, target, config: f.config, journal, log, connect: f.connect, graceMs: 400 });
  const values = (step: string) => (events.find((e) => e.type === 'step.finish' && e.step === step)?.values ?? {}) as Record<string, unknown>;
  return { r, events, lines, values };
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = await adminClient();
  try {
    return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

async function scratchDatabases(): Promise<string[]> {
  const admin = await adminClient();
  try {
    return (await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'ops\\_verify\\_%'")).rows.map((r) => r.datname);
  } finally {
    await admin.end();
  }
}

/** Drops a scratch database a failed assertion may have left behind. */
function dropLater(name: () => string | undefined) {
  cleanups.push(async () => {
    const n = name();
    if (!n) return;
    const admin = await adminClient();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${n.replace(/"/g, '""')}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });
}

async function runBackup(f: Fixture) {
  const b = runner(f, backup);
  const state = await b.r.run();
  expect(state.outcome, b.lines.map((l) => l.line).join('\n')).toBe('succeeded');
  const file = String(b.values('check').file);
  return { ...b, file };
}

describe('backup, then verify-backup', () => {
  it('writes the dump and a sha256sum-compatible checksum; the restore matches row for row; no scratch database is left', async () => {
    const f = await fixture();
    const { file, values, r, events } = await runBackup(f);
    expect(basename(file)).toMatch(new RegExp(`^${f.db.name}-\\d{8}-\\d{6}\\.dump$`));
    expect(existsSync(file) && existsSync(`${file}.sha256`)).toBe(true);
    expect(values('checksum').sha256).toMatch(/^[0-9a-f]{64}$/);
    r.end();
    expect(events.at(-1)).toMatchObject({ type: 'run.end', outcome: 'succeeded' });

    // the checksum file's line is exactly what sha256sum writes, then the sealed record (the
    // dump's size and mtime) as a comment; sha256sum -c --strict accepts it, with no warning
    const ours = readFileSync(`${file}.sha256`, 'utf8');
    const theirs = execFileSync('sha256sum', [basename(file)], { cwd: f.dir, encoding: 'utf8' });
    const st = statSync(file, { bigint: true });
    expect(ours).toBe(`${theirs}# ops-console sealed: size=${st.size} mtime_ns=${st.mtimeNs}\n`);
    const checked = spawnSync('sha256sum', ['-c', '--strict', `${basename(file)}.sha256`], { cwd: f.dir, encoding: 'utf8' });
    expect(checked.status).toBe(0);
    expect(checked.stdout).toBe(`${basename(file)}: OK\n`);
    expect(checked.stderr).toBe('');
    // nothing else is left: no unfinished file, no temp file
    expect(readdirSync(f.dir).sort()).toEqual([basename(file), `${basename(file)}.sha256`]);
    expect(values('checksum').sha256).toBe(theirs.split(' ')[0]);

    // verify-backup picks the newest dump in backup.dir by itself
    const v = runner(f, verifyBackup);
    dropLater(() => v.values('pick').scratch as string | undefined);
    const state = await v.r.run();
    const out = v.lines.map((l) => l.line);
    expect(state.outcome, out.join('\n')).toBe('succeeded');
    expect(v.values('pick')).toMatchObject({ file, checksum: 'ok' });
    const scratch = String(v.values('pick').scratch);
    expect(scratch).toMatch(/^ops_verify_\d{8}_\d{6}_[0-9a-f]{4}$/);
    expect(out).toContain('public.orders 1200 = 1200');
    expect(out).toContain('public.customers 50 = 50');
    expect(out).toContain('Sales.Odd Table 7 = 7');
    expect(out).toContain('public.empty_one 0 = 0');
    expect(v.values('compare')).toMatchObject({ tablesCompared: 4, rowsCompared: 1257 });
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(state.steps[2].detail).toContain('--no-owner --no-privileges');
    expect(await databaseExists(scratch)).toBe(false);
    v.r.end();
  });

  it('rolling back a finished backup removes the dump and its checksum', async () => {
    const f = await fixture();
    const { file, r } = await runBackup(f);
    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['rename', 'checksum', 'dump', 'check']);
    const partial = join(f.dir, `.${basename(file)}.partial`);
    expect(plan[0].detail).toBe(`rm -f -- ${file}`);
    expect(plan[1].detail).toBe(`rm -f -- ${file}.sha256`);
    expect(plan[2].detail).toBe(`rm -f -- ${partial}`);
    expect(plan[3].detail).toBe(`rm -f -- ${partial} ${join(f.dir, `.${basename(file)}.sha256.tmp`)}`);
    // plain file actions: no rollback of a backup needs the database
    for (const step of backup.steps) {
      if (!step.rollback) continue;
      const ctx: RunContext = { params: {}, values: { file, partial }, target: f.target, config: f.config };
      expect(step.rollback(ctx).kind, step.id).toBe('command');
    }
    const results = await r.rollback(plan.map((p) => p.step));
    expect(results.every((x) => x.ok)).toBe(true);
    expect(existsSync(file) || existsSync(`${file}.sha256`)).toBe(false);
    expect(readdirSync(f.dir)).toEqual([]);
    expect(r.state.steps.map((s) => s.rollback)).toEqual(['done', 'done', 'done', 'none', 'done']);
  });

  it('fails clearly when the backup directory is missing or not configured, before pg_dump runs', async () => {
    const f = await fixture();
    const missing = runner(f, backup, { dir: join(f.dir, 'nope') });
    const s1 = await missing.r.run();
    expect(s1.outcome).toBe('failed');
    expect(s1.steps[0].error).toBe(`backup directory ${join(f.dir, 'nope')} does not exist`);
    expect(s1.steps[1].status).toBe('pending');
    missing.r.end();

    const none = new TaskRunner({
      task: backup,
      params: {},
      runId: 'none',
      target: f.target,
      config: DEFAULT_CONFIG,
      journal: { append: () => undefined },
      log: { write: () => undefined, flush: () => undefined, close: () => undefined },
      connect: f.connect,
    });
    const s2 = await none.run();
    expect(s2.steps[0].error).toMatch(/^no backup directory: give --param dir/);
    none.end();
  });
});

describe('verify-backup detects a bad backup and never leaves its scratch database', () => {
  it('a corrupted dump: the sha256 mismatch fails step 1, before any database is created', async () => {
    const f = await fixture();
    const { file } = await runBackup(f);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    for (let i = at; i < at + 8; i++) bytes[i] ^= 0xff;
    writeFileSync(file, bytes);

    const before = await scratchDatabases();
    const v = runner(f, verifyBackup, { file });
    const state = await v.r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['failed', 'pending', 'pending', 'pending', 'pending']);
    expect(state.steps[0].error).toMatch(new RegExp(`^sha256 mismatch: ${basename(file)} is [0-9a-f]{64}, ${basename(file)}\\.sha256 says [0-9a-f]{64}$`));
    const plan = v.r.rollbackPlan();
    expect(plan).toEqual([]);
    await v.r.rollback(plan.map((p) => p.step));
    v.r.end();
    expect(await scratchDatabases()).toEqual(before);
  });

  it('a truncated dump without a checksum: the restore fails, and rolling back step 2 drops the scratch database', async () => {
    const f = await fixture();
    const { file } = await runBackup(f);
    rmSync(`${file}.sha256`);
    truncateSync(file, Math.floor(statSync(file).size / 2));

    const v = runner(f, verifyBackup, { file });
    dropLater(() => v.values('pick').scratch as string | undefined);
    const state = await v.r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'failed', 'pending', 'pending']);
    expect(v.lines.some((l) => l.stream === 'err' && /no \S+\.sha256 beside it/.test(l.line))).toBe(true);
    const scratch = String(v.values('pick').scratch);
    expect(await databaseExists(scratch)).toBe(true);

    const plan = v.r.rollbackPlan();
    expect(plan).toEqual([{ step: 'create', index: 1, title: 'Create the scratch database', detail: `DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)` }]);
    expect(await v.r.rollback(['create'])).toEqual([{ step: 'create', ok: true }]);
    expect(await databaseExists(scratch)).toBe(false);
    v.r.end();
    expect(v.r.state.outcome).toBe('rolled back');
  });

  it('rows added to the source after the dump: the comparison names the table, and the scratch database is dropped by the rollback', async () => {
    const f = await fixture();
    const { file } = await runBackup(f);
    const c = await f.db.client();
    await c.query(`INSERT INTO orders (customer, amount) SELECT 1, 1 FROM generate_series(1, 5)`);

    const v = runner(f, verifyBackup, { file });
    dropLater(() => v.values('pick').scratch as string | undefined);
    const state = await v.r.run();
    const out = v.lines.map((l) => l.line);
    expect(state.outcome, out.join('\n')).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'failed', 'pending']);
    expect(state.steps[3].error).toBe('row counts differ in 1 of 4 tables: public.orders (source 1205, backup 1200)');
    expect(v.lines).toContainEqual({ line: 'public.orders 1205 ≠ 1200', stream: 'err' });
    expect(out).toContain('public.customers 50 = 50');

    const scratch = String(v.values('pick').scratch);
    expect(await databaseExists(scratch)).toBe(true);
    const plan = v.r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['create']);
    await v.r.rollback(['create']);
    expect(await databaseExists(scratch)).toBe(false);
    v.r.end();
  });
});

describe('secrets', () => {
  const password = 'N0t-Used-Pw-4242';

  it('the password reaches pg_dump and pg_restore through PGPASSWORD only, never their command lines', () => {
    const target: ResolvedTarget = {
      name: 'prod',
      source: 'flag',
      connection: { connectionString: `postgres://app:${password}@db1.example:6432/prod` },
      display: 'postgres://app:***@db1.example:6432/prod',
      database: 'prod',
      secrets: [], // nothing to redact: what is not there cannot leak
    };
    const ctx: RunContext = {
      params: { dir: '/backups' },
      values: { file: '/backups/prod-20260101-000000.dump', serverVersionNum: 150000, scratch: 'ops_verify_x' },
      target,
      config: DEFAULT_CONFIG,
    };
    for (const [task, step] of [[backup, 'dump'], [verifyBackup, 'restore']] as const) {
      const a = task.steps.find((s) => s.id === step)!.action({ ...ctx, params: task === backup ? ctx.params : { file: ctx.values.file } });
      expect(a.kind).toBe('command');
      if (a.kind !== 'command') return;
      expect(describeAction(a)).not.toContain(password);
      expect(a.argv.join('\0')).not.toContain(password);
      expect(a.argv).toEqual(expect.arrayContaining(['-h', 'db1.example', '-p', '6432', '-U', 'app']));
      expect(a.env).toMatchObject({ PGPASSWORD: password, PGAPPNAME: 'ops-console/task' });
    }
    const r = new TaskRunner({
      task: backup,
      params: { dir: '/backups' },
      runId: 'plan',
      target,
      config: DEFAULT_CONFIG,
      journal: { append: () => undefined },
      log: { write: () => undefined, flush: () => undefined, close: () => undefined },
    });
    const plan = JSON.stringify(r.plan());
    expect(plan).toContain('pg_dump');
    expect(plan).toContain('-U app -d prod');
    expect(plan).not.toContain(password);
  });

  it('a real backup through a connection string with a password: none of the journal or log holds it', async () => {
    const f = await fixture();
    const s = testServer();
    const target: ResolvedTarget = {
      ...f.target,
      connection: { connectionString: `postgres://${encodeURIComponent(s.user)}:${password}@${s.host}:${s.port}/${f.db.name}` },
      secrets: [],
    };
    const b = runner(f, backup, {}, target);
    const state = await b.r.run();
    expect(state.outcome, b.lines.map((l) => l.line).join('\n')).toBe('succeeded');
    b.r.end();
    expect(state.steps[1].detail).toMatch(/pg_dump -Fc --no-password -f \S+\/\.\S+\.dump\.partial -h \S+ -p \d+ -U \S+ -d /);
    expect(JSON.stringify(b.events)).not.toContain(password);
    expect(JSON.stringify(b.lines)).not.toContain(password);
    expect(JSON.stringify(state.steps)).not.toContain(password);
  });
});

describe('the registry', () => {
  it('lists the built-in tasks by id', () => {
    expect(BUILTIN_TASKS.map((t) => t.id)).toEqual(['backup', 'verify-backup', 'analyze', 'vacuum-analyze', 'set-setting', 'reindex-concurrently', 'drop-index', 'restore', 'cancel-query', 'terminate-sessions', 'drop-replication-slot', 'rollback-prepared', 'rotate-logs', 'clean-temp']);
    expect(findTask('verify-backup')).toBe(verifyBackup);
    expect(findTask('nope')).toBeUndefined();
    expect(new Set(BUILTIN_TASKS.map((t) => t.id)).size).toBe(BUILTIN_TASKS.length);
  });
});
