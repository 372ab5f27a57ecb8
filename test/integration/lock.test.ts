// The run lock with real files, real processes and real PostgreSQL: one run per target, the
// holder named in the refusal (from the lock file on this host, from PostgreSQL for another
// host), stale lock files taken over, a dead session's advisory lock gone, host-only locks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/config/load';
import { acquireRunLock, LOCK_CLASS_ID, lockApplicationName, lockFilePath, RUN_LOCK_KEY, type LockHolder, type RunLock } from '../../src/tasks/lock';
import { adminClient, createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

const ROOT = resolve(import.meta.dirname, '../..');

let db: TestDatabase;
let dirs: string[] = [];
let locks: RunLock[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await Promise.all(locks.map((l) => l.release()));
  locks = [];
  await db?.drop(); // idempotent; undefined before the first database test
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function lockDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ops-lock-'));
  dirs.push(d);
  return join(d, 'locks'); // created by acquireRunLock
}

function holder(over: Partial<LockHolder> = {}): LockHolder {
  return {
    user: 'alice',
    sshClient: '10.0.0.7',
    host: hostname(),
    pid: process.pid,
    task: 'set-setting',
    runId: `20261123-184502-${randomBytes(3).toString('hex')}`,
    since: new Date().toISOString(),
    ...over,
  };
}

async function acquire(opts: Parameters<typeof acquireRunLock>[0]): Promise<RunLock> {
  const lock = await acquireRunLock(opts);
  locks.push(lock);
  return lock;
}

/** The error acquireRunLock rejects with (fails the test when it succeeds). */
async function refusal(opts: Parameters<typeof acquireRunLock>[0]): Promise<UserError> {
  let lock: RunLock | undefined;
  try {
    lock = await acquireRunLock(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  locks.push(lock);
  throw new Error(`acquireRunLock succeeded for ${opts.holder.runId}; expected a refusal`);
}

/** The refusal's time format: HH:MM:SS today, YYYY-MM-DD HH:MM:SS on another day (local). */
function clock(at: string | Date): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return d.toDateString() === new Date().toDateString() ? time : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${time}`;
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

async function applicationName(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ v: string }>(`SELECT current_setting('application_name') AS v`);
  return rows[0].v;
}

/** Sessions holding the ops-console run lock on the test database. */
async function runLockHolders(): Promise<number[]> {
  const admin = await adminClient();
  try {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1
          AND l.classid = $2::bigint::oid AND l.objid = $3::bigint::oid AND l.objsubid = 2
        ORDER BY l.pid`,
      [db.name, LOCK_CLASS_ID, RUN_LOCK_KEY],
    );
    return rows.map((r) => r.pid);
  } finally {
    await admin.end();
  }
}

const TARGET = 'postgres://app@db1:5432/prod';

describe('acquireRunLock', () => {
  beforeEach(async () => {
    db = await createTestDatabase('lock');
  });
  it('refuses a second run on the same target, naming the first holder, until it is released', async () => {
    const dir = lockDir();
    const c1 = await db.client();
    const c2 = await db.client();
    const first = holder({ since: '2026-01-02T03:04:05.000Z' });
    const lock = await acquire({ client: c1, lockDir: dir, targetKey: TARGET, holder: first });
    expect(lock.file).toBe(lockFilePath(dir, TARGET));

    const second = holder({ user: 'bob', sshClient: null, task: 'vacuum-table' });
    const err = await refusal({ client: c2, lockDir: dir, targetKey: TARGET, holder: second });
    expect(err.message).toBe(
      `target is busy: set-setting (run ${first.runId}) by alice from 10.0.0.7 (pid ${process.pid} on ${hostname()}) ` +
        `since ${clock(first.since)}; try again when it ends`,
    );
    expect(err.message).not.toContain('\n');
    // The refused run left the lock file, the advisory lock and its own session alone.
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual(first);
    expect(await runLockHolders()).toEqual([await backendPid(c1)]);
    expect(await applicationName(c2)).toBe('ops-console-test');

    await lock.release();
    expect(existsSync(lock.file)).toBe(false);
    expect(await runLockHolders()).toEqual([]);

    const again = await acquire({ client: c2, lockDir: dir, targetKey: TARGET, holder: second });
    expect(JSON.parse(readFileSync(again.file, 'utf8'))).toEqual(second);
    expect(await runLockHolders()).toEqual([await backendPid(c2)]);
  });

  it('refuses a run from another host through the advisory lock, naming the PostgreSQL session and task', async () => {
    const c1 = await db.client();
    const c2 = await db.client();
    const first = holder({ task: 'backup' });
    const lock = await acquire({ client: c1, lockDir: lockDir(), targetKey: TARGET, holder: first });
    const pid1 = await backendPid(c1);
    expect(await applicationName(c1)).toBe(`ops-console: backup ${first.runId}`);

    // The other host has its own lock directory and reaches the database under another name.
    const otherDir = lockDir();
    const other = holder({ user: 'bob', host: 'db-maint-02', task: 'reindex' });
    const err = await refusal({ client: c2, lockDir: otherDir, targetKey: 'postgres://postgres@10.0.0.5/prod', holder: other });

    const admin = await adminClient();
    const { rows } = await admin.query<{ usename: string; addr: string | null; backend_start: Date }>(
      'SELECT usename, host(client_addr) AS addr, backend_start FROM pg_stat_activity WHERE pid = $1',
      [pid1],
    );
    await admin.end();
    const from = rows[0].addr ? `from ${rows[0].addr}` : 'over the local socket';
    expect(err.message).toBe(
      `target is busy: ops-console: backup ${first.runId} held by PostgreSQL session pid ${pid1} ` +
        `(user ${rows[0].usename} ${from}) since ${clock(rows[0].backend_start)}; try again when it ends`,
    );
    // The refused run removed the lock file it had taken and restored its application_name.
    expect(readdirSync(otherDir)).toEqual([]);
    expect(await applicationName(c2)).toBe('ops-console-test');

    await lock.release();
    expect(await applicationName(c1)).toBe('ops-console-test');
    const taken = await acquire({ client: c2, lockDir: otherDir, targetKey: 'postgres://postgres@10.0.0.5/prod', holder: other });
    expect(existsSync(taken.file)).toBe(true);
    expect(await runLockHolders()).toEqual([await backendPid(c2)]);
  });

  it('refuses a second lock on the same session (advisory locks would stack)', async () => {
    const c1 = await db.client();
    const first = holder({ task: 'analyze' });
    await acquire({ client: c1, lockDir: lockDir(), targetKey: TARGET, holder: first });
    const err = await refusal({ client: c1, lockDir: lockDir(), targetKey: TARGET, holder: holder() });
    expect(err.message).toBe(`target is busy: this connection already holds the run lock (ops-console: analyze ${first.runId})`);
    expect(await applicationName(c1)).toBe(`ops-console: analyze ${first.runId}`);
  });

  it('is held by a run in another process, and a run killed with SIGKILL leaves nothing that blocks', async () => {
    const dir = lockDir();
    const script = join(dirs[dirs.length - 1], 'hold.mts');
    writeFileSync(
      script,
      `import { createRequire } from 'node:module';
import { acquireRunLock } from ${JSON.stringify(join(ROOT, 'src/tasks/lock.ts'))};
const pg = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('pg');
const cfg = JSON.parse(process.env.LOCK_TEST ?? '{}');
const client = new pg.Client(cfg.connection);
client.on('error', () => {});
await client.connect();
await acquireRunLock({ client, lockDir: cfg.lockDir, targetKey: cfg.targetKey, holder: { ...cfg.holder, pid: process.pid } });
const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
process.stdout.write(JSON.stringify({ pid: process.pid, backendPid: rows[0].pid }) + '\\n');
setInterval(() => {}, 1 << 30);
`,
    );
    const theirs = holder({ user: 'carol', sshClient: '10.0.0.9', task: 'pg-upgrade-check' });
    // node itself (tsx as a loader, not its wrapper process), so SIGKILL reaches the holder.
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, LOCK_TEST: JSON.stringify({ connection: db.connection, lockDir: dir, targetKey: TARGET, holder: theirs }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const line = await Promise.race([
      new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)),
      exited.then(() => {
        throw new Error(`holder process exited: ${stderr}`);
      }),
    ]);
    const { pid: childPid, backendPid: childBackend } = JSON.parse(line) as { pid: number; backendPid: number };
    expect(childPid).toBe(child.pid);

    // Same host: the lock file names the other process.
    const c1 = await db.client();
    const mine = holder();
    const err = await refusal({ client: c1, lockDir: dir, targetKey: TARGET, holder: mine });
    expect(err.message).toBe(
      `target is busy: pg-upgrade-check (run ${theirs.runId}) by carol from 10.0.0.9 (pid ${child.pid} on ${hostname()}) ` +
        `since ${clock(theirs.since)}; try again when it ends`,
    );
    // Another host: the advisory lock names its session.
    const err2 = await refusal({ client: c1, lockDir: lockDir(), targetKey: TARGET, holder: mine });
    expect(err2.message).toContain(`target is busy: ops-console: pg-upgrade-check ${theirs.runId} held by PostgreSQL session pid ${childBackend} (`);
    expect(await runLockHolders()).toEqual([childBackend]);

    child.kill('SIGKILL');
    await exited;
    // Its lock file is stale now (pid gone) and its session's advisory lock goes with the session.
    const lock = await waitFor(() => acquireRunLock({ client: c1, lockDir: dir, targetKey: TARGET, holder: mine }), {
      message: 'run lock after the holder was killed',
    });
    locks.push(lock);
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual(mine);
    expect(await runLockHolders()).toEqual([await backendPid(c1)]);
  });

  it('takes over a stale lock file whose process has exited', async () => {
    const dir = lockDir();
    const gone = spawnSync('true');
    expect(gone.status).toBe(0);
    expect(gone.pid).toBeGreaterThan(0);
    const file = lockFilePath(dir, 'host');
    const dead = holder({ pid: gone.pid!, task: 'rotate-logs', since: new Date(Date.now() - 3_600_000).toISOString() });
    await acquire({ client: null, lockDir: dir, targetKey: 'host', holder: holder() }).then((l) => l.release()); // creates the directory
    writeFileSync(file, JSON.stringify(dead), { mode: 0o600 });

    const mine = holder({ task: 'clean-tmp' });
    const lock = await acquire({ client: null, lockDir: dir, targetKey: 'host', holder: mine });
    expect(lock.file).toBe(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(mine);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // no temp or guard files left behind
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
  });

  it('lets exactly one of several processes take over the same stale lock file', async () => {
    const dir = lockDir();
    const script = join(dirs[dirs.length - 1], 'race.mts');
    writeFileSync(
      script,
      `import { acquireRunLock } from ${JSON.stringify(join(ROOT, 'src/tasks/lock.ts'))};
import { createInterface } from 'node:readline';
const cfg = JSON.parse(process.env.LOCK_TEST ?? '{}');
// wait for "go" so that the racers start together
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\\n');
await new Promise((r) => lines.once('line', r));
let out;
try {
  await acquireRunLock({ client: null, lockDir: cfg.lockDir, targetKey: 'host', holder: { ...cfg.holder, pid: process.pid, runId: cfg.holder.runId + '-' + process.pid } });
  out = { got: true };
} catch (err) {
  out = { got: false, message: err.message, name: err.name };
}
process.stdout.write(JSON.stringify(out) + '\\n');
lines.once('close', () => process.exit(0));
`,
    );
    const gone = spawnSync('true');
    const dead = holder({ pid: gone.pid!, task: 'rotate-logs' });
    await acquire({ client: null, lockDir: dir, targetKey: 'host', holder: holder() }).then((l) => l.release());
    writeFileSync(lockFilePath(dir, 'host'), JSON.stringify(dead));

    const racers = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: { ...process.env, LOCK_TEST: JSON.stringify({ lockDir: dir, holder: holder({ task: 'clean-tmp' }) }) },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      const exited = new Promise<never>((_, rej) => child.once('exit', (code) => rej(new Error(`racer exited with ${code}`))));
      exited.catch(() => {});
      const ready = Promise.race([new Promise<void>((res) => lines.once('line', () => res())), exited]);
      return { child, lines, exited, ready };
    });
    await Promise.all(racers.map((r) => r.ready));
    const results = await Promise.all(
      racers.map(({ child, lines, exited }) => {
        const result = new Promise<{ pid: number; got: boolean; message?: string; name?: string }>((res) =>
          lines.once('line', (l) => res({ pid: child.pid!, ...JSON.parse(l) })),
        );
        child.stdin!.write('go\n');
        return Promise.race([result, exited]);
      }),
    );
    const winners = results.filter((r) => r.got);
    expect(winners).toHaveLength(1);
    const held = JSON.parse(readFileSync(lockFilePath(dir, 'host'), 'utf8')) as LockHolder;
    expect(held.pid).toBe(winners[0].pid);
    for (const r of results.filter((x) => !x.got)) {
      expect(r.name).toBe('UserError');
      expect(r.message).toMatch(/^target is busy: /);
    }
    // no temp or guard files left behind
    expect(readdirSync(dir)).toEqual([lockFilePath(dir, 'host').slice(dir.length + 1)]);
  });

  it('takes over a stale lock file only under the takeover guard, and clears an abandoned guard', async () => {
    const dir = lockDir();
    const file = lockFilePath(dir, TARGET);
    const guard = `${file}.takeover`;
    await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() }).then((l) => l.release());
    const gone = spawnSync('true');
    const dead = holder({ pid: gone.pid!, task: 'rotate-logs' });
    writeFileSync(file, JSON.stringify(dead));

    // Another live run is taking it over right now: wait, then refuse, touching nothing.
    writeFileSync(guard, JSON.stringify({ pid: process.pid, host: hostname() }));
    const err = await refusal({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() });
    expect(err.message).toBe(`target is busy: another run is taking over the stale lock file ${file}; try again`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(dead);
    expect(existsSync(guard)).toBe(true);

    // A guard whose process is gone is abandoned.
    writeFileSync(guard, JSON.stringify({ pid: gone.pid, host: hostname() }));
    const mine = holder();
    const lock = await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: mine });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(mine);
    expect(existsSync(guard)).toBe(false);
    await lock.release();

    // So is an old one, whoever wrote it.
    writeFileSync(file, JSON.stringify(dead));
    writeFileSync(guard, JSON.stringify({ pid: process.pid, host: hostname() }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(guard, old, old);
    const mine2 = holder();
    await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: mine2 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(mine2);
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
  });

  it('takes over an old unparseable lock file, but not one being written or one held on another host', async () => {
    const dir = lockDir();
    const file = lockFilePath(dir, TARGET);
    await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() }).then((l) => l.release());

    writeFileSync(file, '{"user": "ali');
    const fresh = await refusal({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() });
    expect(fresh.message).toBe(`target is busy: the lock file ${file} is being written by another run; try again`);

    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const mine = holder();
    const lock = await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: mine });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(mine);
    await lock.release();

    // A pid on another host cannot be checked here: it counts as alive.
    const remote = holder({ host: 'db-maint-01', pid: 4242, sshClient: null, user: 'dave', task: 'backup' });
    writeFileSync(file, JSON.stringify(remote));
    const err = await refusal({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() });
    expect(err.message).toBe(`target is busy: backup (run ${remote.runId}) by dave (pid 4242 on db-maint-01) since ${clock(remote.since)}; try again when it ends`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(remote);
  });

  it('lets another client take the lock once the holding connection dies', async () => {
    const c1 = await db.client();
    const c2 = await db.client();
    const first = holder({ task: 'vacuum-full' });
    const lock1 = await acquire({ client: c1, lockDir: lockDir(), targetKey: TARGET, holder: first });
    const pid1 = await backendPid(c1);
    const otherDir = lockDir();
    await refusal({ client: c2, lockDir: otherDir, targetKey: TARGET, holder: holder() });

    const admin = await adminClient();
    const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid1]);
    await admin.end();
    expect(rows[0].ok).toBe(true);

    const second = holder({ user: 'bob' });
    const lock2 = await waitFor(() => acquireRunLock({ client: c2, lockDir: otherDir, targetKey: TARGET, holder: second }), {
      message: 'advisory lock after pg_terminate_backend',
    });
    locks.push(lock2);
    expect(await runLockHolders()).toEqual([await backendPid(c2)]);

    // Releasing the dead run does not throw, removes its lock file and leaves the new holder alone.
    await lock1.release();
    expect(existsSync(lock1.file)).toBe(false);
    expect(await runLockHolders()).toEqual([await backendPid(c2)]);
  });

  it('locks host-only tasks with the lock file alone', async () => {
    const dir = lockDir();
    const first = holder({ task: 'rotate-logs', sshClient: null, user: 'root' });
    const lock = await acquire({ client: null, lockDir: dir, targetKey: 'host', holder: first });
    expect(lock.file).toBe(join(dir, readdirSync(dir)[0]));
    expect(readdirSync(dir)).toHaveLength(1);
    expect(readdirSync(dir)[0]).toMatch(/^host\.[0-9a-f]{8}\.lock$/);

    const err = await refusal({ client: null, lockDir: dir, targetKey: 'host', holder: holder() });
    expect(err.message).toBe(
      `target is busy: rotate-logs (run ${first.runId}) by root (pid ${process.pid} on ${hostname()}) since ${clock(first.since)}; try again when it ends`,
    );
    // Nothing in PostgreSQL: a lock directory of its own is not blocked by anything else.
    expect(await runLockHolders()).toEqual([]);
    const elsewhere = await acquire({ client: null, lockDir: lockDir(), targetKey: 'host', holder: holder() });
    expect(existsSync(elsewhere.file)).toBe(true);
    // A database target on the same lock directory is a different lock file.
    const db1 = await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() });
    expect(db1.file).not.toBe(lock.file);

    await lock.release();
    expect(existsSync(lock.file)).toBe(false);
    await acquire({ client: null, lockDir: dir, targetKey: 'host', holder: holder() });
  });

  it('writes the holder JSON with mode 0600 and releases only its own lock file, once', async () => {
    const dir = lockDir();
    const c1 = await db.client();
    const first = holder();
    const lock = await acquire({ client: c1, lockDir: dir, targetKey: 'postgres://app:s3cret@db1:5432/prod', holder: first });
    expect(statSync(lock.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(lock.file, 'utf8')).toBe(`${JSON.stringify(first)}\n`);
    expect(lock.file).not.toContain('s3cret');
    expect(lock.file).toBe(lockFilePath(dir, TARGET)); // the password does not change the lock

    await lock.release();
    await lock.release(); // idempotent
    expect(existsSync(lock.file)).toBe(false);
    expect(await runLockHolders()).toEqual([]);

    // A lock file that no longer names this run is left alone by release().
    const lock2 = await acquire({ client: null, lockDir: dir, targetKey: TARGET, holder: holder() });
    const someoneElse = holder({ runId: 'another-run' });
    writeFileSync(lock2.file, JSON.stringify(someoneElse));
    await lock2.release();
    expect(JSON.parse(readFileSync(lock2.file, 'utf8'))).toEqual(someoneElse);
  });

});

describe('lockApplicationName', () => {
  it('names the run within 63 ASCII bytes', () => {
    const name = lockApplicationName({ task: 'réindex-everything-in-the-database-with-a-long-name', runId: '20261123-184502-abcdef' });
    expect(name).toBe('ops-console: r?index-everything-in-the-database-with-a-long-nam');
    expect(Buffer.byteLength(name)).toBe(63);
  });
});
