// The first of the run locks (see lock.ts): the lock file `<lockDir>/<target>.lock`, created
// exclusively with the holder JSON in it, so it never exists half-written. A lock file whose
// process is gone (or whose pid was reused) is stale and is taken over, under a short-lived
// guard file so two runs cannot both take it. Refusals are one-line UserErrors naming the holder.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../config/load';

/** Who holds a target's run locks: the lock file's content (JSON), and what a refusal names. */
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

/** A lock file that cannot be parsed is only stale once it is this old (a writer may be mid-way). */
const UNPARSEABLE_GRACE_MS = 2_000;
/** A takeover guard older than this was left by a crashed run. */
const GUARD_STALE_MS = 10_000;

/** The lock file for a target: the key (any URL password removed) made file-safe, plus a short hash of it. */
export function lockFilePath(lockDir: string, targetKey: string): string {
  const key = targetKey.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*):[^@/\s]*@/gi, '$1@');
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '').slice(0, 80) || 'target';
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return join(lockDir, `${safe}.${hash}.lock`);
}

interface ExistingLock {
  raw: string;
  holder: LockHolder | null;
  mtimeMs: number;
}

/** Takes the lock file for `holder`, or refuses (a live holder, a takeover under way). */
export async function takeLockFile(file: string, holder: LockHolder): Promise<void> {
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
export function removeIfOurs(file: string, runId: string): void {
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

/** `target is busy: set-setting (run R) by alice from 10.0.0.7 (pid 4242 on db-maint-01) since 18:45:02; try again when it ends` */
function busyMessage(h: LockHolder): string {
  const from = h.sshClient ? ` from ${oneLine(h.sshClient)}` : '';
  return (
    `target is busy: ${oneLine(h.task)} (run ${oneLine(h.runId)}) by ${oneLine(h.user)}${from} ` +
    `(pid ${h.pid} on ${oneLine(h.host)}) since ${formatSince(h.since)}; try again when it ends`
  );
}

/** 18:45:02 today, 2026-11-22 18:45:02 on another day (local time). */
export function formatSince(since: string | Date): string {
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

export function oneLine(s: string): string {
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

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
