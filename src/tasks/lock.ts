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
//
// The lock file, its stale holders and its takeover are lock-file.ts; this module takes both
// locks and the advisory one.
import { mkdirSync } from 'node:fs';
import type pg from 'pg';
import { UserError } from '../config/load';
import { withTimeout } from '../util/timeout';
import { errMessage, formatSince, lockFilePath, oneLine, removeIfOurs, takeLockFile, type LockHolder } from './lock-file';

export { lockFilePath, type LockHolder } from './lock-file';

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

const RELEASE_TIMEOUT_MS = 5_000;
const PG_NAME_MAX = 63;

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
