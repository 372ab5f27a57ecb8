// One maintenance run per target at a time, with the holder shown: who, where from, since when,
// which task.
//
// Two locks, taken in this order:
//  1. A lock file `<lockDir>/<target>.lock`, created exclusively and holding the holder JSON. It
//     guards the target against other runs on this host (and host-only tasks, which have no
//     database). A lock file whose process is gone is stale and is taken over.
//  2. When the task has a PostgreSQL connection, a session-level advisory lock on it, in the
//     two-int form (class LOCK_CLASS_ID, key RUN_LOCK_KEY) so it cannot collide with an
//     application's single-bigint advisory locks. It guards against operators on other hosts,
//     belongs to the task's own session and vanishes when that session dies. Advisory locks are
//     scoped to the database, so the key is fixed: every operator reaching the same database,
//     whatever host name, address or user is in their URL, contends for the same lock. Before
//     taking it the holder names itself in application_name (`ops-console: <task> <runId>`),
//     which PostgreSQL shows to every role, so a refusal can name the task.
// UI-free; refusals are one-line UserErrors.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { UserError } from '../config/load';
import { withTimeout } from '../util/timeout';

export interface LockHolder {
  user: string;
  /** the SSH client address, when the operator came in over SSH */
  sshClient: string | null;
  host: string;
  pid: number;
  task: string;
  runId: string;
  /** ISO timestamp */
  since: string;
}

export interface RunLock {
  /** the lock file */
  readonly file: string;
  /** drops the advisory lock (when the connection is still open) and the lock file (when it is still ours); idempotent */
  release(): Promise<void>;
  /**
   * Takes the advisory lock again on a new connection, after the one that held it was lost (the
   * lock went with its session). Refused, as at the start, when someone else took it meanwhile.
   */
  relock(client: pg.Client): Promise<void>;
}

export interface AcquireRunLockOptions {
  /** the task's own connection, or null for host-only tasks */
  client: pg.Client | null;
  /** e.g. <state dir>/locks */
  lockDir: string;
  /** e.g. the target display URL without password, or 'host' */
  targetKey: string;
  holder: LockHolder;
}

/** Advisory lock class for ops-console: 'opsc' as a 32-bit integer. */
export const LOCK_CLASS_ID = 0x6f707363;
/** Advisory lock key of "the maintenance run" within LOCK_CLASS_ID. */
export const RUN_LOCK_KEY = 1;

/** A lock file that cannot be parsed is only stale once it is this old (a writer may be mid-way). */
const UNPARSEABLE_GRACE_MS = 2_000;
/** A takeover guard older than this was left by a crashed run. */
const GUARD_STALE_MS = 10_000;
const RELEASE_TIMEOUT_MS = 5_000;
const PG_NAME_MAX = 63;

/** The lock file for a target: the key (any URL password removed) made file-safe, plus a short hash of it. */
export function lockFilePath(lockDir: string, targetKey: string): string {
  const key = targetKey.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*):[^@/\s]*@/gi, '$1@');
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '').slice(0, 80) || 'target';
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return join(lockDir, `${safe}.${hash}.lock`);
}

/** What the lock holder's session puts in application_name: `ops-console: <task> <runId>`, ASCII, at most 63 bytes. */
export function lockApplicationName(holder: Pick<LockHolder, 'task' | 'runId'>): string {
  return `ops-console: ${holder.task} ${holder.runId}`.replace(/[^\x20-\x7e]/g, '?').slice(0, PG_NAME_MAX);
}

export async function acquireRunLock(opts: AcquireRunLockOptions): Promise<RunLock> {
  const { client, lockDir, targetKey, holder } = opts;
  try {
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UserError(`cannot create the lock directory ${lockDir}: ${errMessage(err)}`);
  }
  const file = lockFilePath(lockDir, targetKey);
  await takeLockFile(file, holder);

  let previousAppName: string | null = null;
  let current = client;
  if (client) {
    try {
      previousAppName = await takeAdvisoryLock(client, holder);
    } catch (err) {
      removeIfOurs(file, holder.runId);
      throw err;
    }
  }

  let releasing: Promise<void> | null = null;
  const release = async () => {
    const client = current;
    if (client) {
      // Best effort: a dead session has already dropped its advisory lock.
      await withTimeout(
        client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS_ID, RUN_LOCK_KEY]),
        RELEASE_TIMEOUT_MS,
        'advisory unlock',
      ).catch(() => {});
      await withTimeout(
        client.query(`SELECT set_config('application_name', $1, false)`, [previousAppName ?? '']),
        RELEASE_TIMEOUT_MS,
        'restore application_name',
      ).catch(() => {});
    }
    removeIfOurs(file, holder.runId);
  };
  return {
    file,
    release: () => (releasing ??= release()),
    relock: async (next) => {
      previousAppName = await takeAdvisoryLock(next, holder);
      current = next;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The lock file

interface ExistingLock {
  raw: string;
  holder: LockHolder | null;
  mtimeMs: number;
}

async function takeLockFile(file: string, holder: LockHolder): Promise<void> {
  const content = `${JSON.stringify(holder)}\n`;
  let waited = false;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createExclusive(file, content)) return;
    const existing = readLock(file);
    if (!existing) continue; // released meanwhile: try again
    if (existing.holder) {
      if (holderAlive(existing.holder, existing.mtimeMs)) throw new UserError(busyMessage(existing.holder));
    } else if (Date.now() - existing.mtimeMs < UNPARSEABLE_GRACE_MS) {
      throw new UserError(`target is busy: the lock file ${file} is being written by another run; try again`);
    }
    const taken = takeOver(file, existing.raw, content, holder.runId);
    if (taken === 'ours') return;
    waited = taken === 'wait';
    if (waited) await new Promise((r) => setTimeout(r, 25));
  }
  if (waited) throw new UserError(`target is busy: another run is taking over the stale lock file ${file}; try again`);
  throw new UserError(`cannot take the lock file ${file}: it keeps changing; try again`);
}

/** Creates the lock file with its full content, failing when it exists. */
function createExclusive(file: string, content: string): boolean {
  const tmp = tempPath(file);
  try {
    writeFileFsync(tmp, content);
  } catch (err) {
    throw new UserError(`cannot create the lock file ${file}: ${errMessage(err)}`);
  }
  try {
    // link() is O_EXCL for a complete file: the lock file never exists half-written.
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = errCode(err);
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // A filesystem without hard links: plain O_CREAT|O_EXCL.
      try {
        writeFileFsync(file, content);
        return true;
      } catch (err2) {
        if (errCode(err2) === 'EEXIST') return false;
        throw new UserError(`cannot create the lock file ${file}: ${errMessage(err2)}`);
      }
    }
    throw new UserError(`cannot create the lock file ${file}: ${errMessage(err)}`);
  } finally {
    unlinkQuiet(tmp);
  }
}

/**
 * Replaces a stale lock file, under a short-lived guard file so two runs cannot both take it
 * over: only the guard holder swaps it, and only if it still holds the stale content.
 */
function takeOver(file: string, staleRaw: string, content: string, runId: string): 'ours' | 'retry' | 'wait' {
  const guard = `${file}.takeover`;
  try {
    writeFileFsync(guard, `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw new UserError(`cannot take over the lock file ${file}: ${errMessage(err)}`);
    if (guardAbandoned(guard)) {
      unlinkQuiet(guard);
      return 'retry';
    }
    return 'wait';
  }
  try {
    const now = readLock(file);
    if (!now || now.raw !== staleRaw) return 'retry'; // released or taken meanwhile
    const tmp = tempPath(file);
    try {
      writeFileFsync(tmp, content);
      renameSync(tmp, file);
    } catch (err) {
      unlinkQuiet(tmp);
      throw new UserError(`cannot take over the lock file ${file}: ${errMessage(err)}`);
    }
    return readLock(file)?.holder?.runId === runId ? 'ours' : 'retry';
  } finally {
    unlinkQuiet(guard);
  }
}

function guardAbandoned(guard: string): boolean {
  try {
    const st = statSync(guard);
    if (Date.now() - st.mtimeMs > GUARD_STALE_MS) return true;
    const g = JSON.parse(readFileSync(guard, 'utf8')) as { pid?: unknown; host?: unknown };
    return g.host === hostname() && typeof g.pid === 'number' && !pidAlive(g.pid);
  } catch {
    return false; // gone, or being written: try again shortly
  }
}

function readLock(file: string): ExistingLock | null {
  let raw: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw new UserError(`cannot read the lock file ${file}: ${errMessage(err)}`);
  }
  return { raw, holder: parseHolder(raw), mtimeMs };
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder> | null;
    if (
      v &&
      typeof v === 'object' &&
      typeof v.user === 'string' &&
      typeof v.host === 'string' &&
      typeof v.pid === 'number' &&
      typeof v.task === 'string' &&
      typeof v.runId === 'string' &&
      typeof v.since === 'string' &&
      (v.sshClient === null || typeof v.sshClient === 'string' || v.sshClient === undefined)
    ) {
      return { ...v, sshClient: v.sshClient ?? null } as LockHolder;
    }
  } catch {
    // unparseable
  }
  return null;
}

/** Removes the lock file when it still names this run. */
function removeIfOurs(file: string, runId: string): void {
  try {
    if (parseHolder(readFileSync(file, 'utf8'))?.runId === runId) unlinkSync(file);
  } catch {
    // gone already
  }
}

/**
 * Whether the holder's process still runs. A holder on another host cannot be checked and
 * counts as alive. On Linux a live pid whose process started after the lock file was written
 * (its holder wrote it, so it ran by then) is a reused pid, so the holder is gone.
 */
function holderAlive(holder: LockHolder, writtenMs: number): boolean {
  if (holder.host !== hostname()) return true;
  if (!pidAlive(holder.pid)) return false;
  const started = processStartMs(holder.pid);
  if (started != null && started > writtenMs + 2_000) return false;
  return true;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) !== 'ESRCH'; // EPERM: alive, another user's
  }
}

/** When a process started (ms since the epoch), from /proc; null where /proc is not available. */
function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]); // field 22 of stat(5); fields[] starts at field 3
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(startTicks)) return null;
    return Number(btime[1]) * 1000 + (startTicks / 100) * 1000; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The advisory lock

interface PgHolderRow {
  pid: number;
  usename: string | null;
  client_addr: string | null;
  backend_start: Date | null;
  application_name: string | null;
  mine: boolean;
}

const HOLDER_SQL = `
SELECT l.pid, a.usename, host(a.client_addr) AS client_addr, a.backend_start, a.application_name,
       l.pid = pg_backend_pid() AS mine
  FROM pg_locks l
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
 ORDER BY l.pid
 LIMIT 1`;

/** Takes the advisory lock on the task's session; returns the session's previous application_name. */
async function takeAdvisoryLock(client: pg.Client, holder: LockHolder): Promise<string> {
  let previous: string | null = null;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Who holds it, first: session advisory locks stack, so this session must not take it twice.
      const held = await client.query<PgHolderRow>(HOLDER_SQL, [LOCK_CLASS_ID, RUN_LOCK_KEY]);
      if (held.rows[0]) throw new UserError(pgBusyMessage(held.rows[0]));
      if (previous === null) {
        // Name the run before taking the lock, so whoever is refused can see which task holds it.
        const prev = await client.query<{ v: string }>(`SELECT current_setting('application_name') AS v`);
        previous = prev.rows[0]?.v ?? '';
        await client.query(`SELECT set_config('application_name', $1, false)`, [lockApplicationName(holder)]);
      }
      const got = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [LOCK_CLASS_ID, RUN_LOCK_KEY]);
      if (got.rows[0]?.got) return previous;
      // taken between the two queries: look again
    }
    throw new UserError('target is busy: another PostgreSQL session holds the ops-console run lock; try again when it ends');
  } catch (err) {
    if (previous !== null) {
      await client.query(`SELECT set_config('application_name', $1, false)`, [previous]).catch(() => {});
    }
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot take the run lock on the database: ${oneLine(errMessage(err))}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

/** `target is busy: set-setting (run R) by alice from 10.0.0.7 (pid 4242 on db-maint-01) since 18:45:02; try again when it ends` */
function busyMessage(h: LockHolder): string {
  const from = h.sshClient ? ` from ${oneLine(h.sshClient)}` : '';
  return (
    `target is busy: ${oneLine(h.task)} (run ${oneLine(h.runId)}) by ${oneLine(h.user)}${from} ` +
    `(pid ${h.pid} on ${oneLine(h.host)}) since ${formatSince(h.since)}; try again when it ends`
  );
}

/** `target is busy: ops-console: backup R held by PostgreSQL session pid 999 (user postgres from 10.0.0.7) since 18:45:02; try again when it ends` */
function pgBusyMessage(h: PgHolderRow): string {
  const app = h.application_name ? oneLine(h.application_name) : '';
  if (h.mine) {
    return `target is busy: this connection already holds the run lock${app ? ` (${app})` : ''}`;
  }
  const what = app.startsWith('ops-console') ? app : app ? `the ops-console run lock (application "${app}")` : 'the ops-console run lock';
  const who: string[] = [];
  if (h.usename) who.push(`user ${oneLine(h.usename)}`);
  // backend_start is hidden, like client_addr, from roles that may not see the session's details.
  if (h.client_addr) who.push(`from ${h.client_addr}`);
  else if (h.backend_start) who.push('over the local socket');
  const since = h.backend_start ? ` since ${formatSince(h.backend_start)}` : '';
  return `target is busy: ${what} held by PostgreSQL session pid ${h.pid}${who.length ? ` (${who.join(' ')})` : ''}${since}; try again when it ends`;
}

/** 18:45:02 today, 2026-11-22 18:45:02 on another day (local time). */
function formatSince(since: string | Date): string {
  const d = since instanceof Date ? since : new Date(since);
  if (Number.isNaN(d.getTime())) return oneLine(String(since));
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const now = new Date();
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${time}`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

function tempPath(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Writes a new file (O_CREAT|O_EXCL, mode 0600) and fsyncs it. */
function writeFileFsync(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
