// Reading the sessions: SESSIONS_SQL's rows made into SessionRow, and the headless read on a
// connection of its own. The console reads the same statement in the probe's round instead
// (src/probes/postgres.ts), on its one probe connection.
//
// The connection is bounded the way the probe's is: a connect timeout, and the probe timeout
// (probeTimeoutMs) both as the server's statement_timeout and lock_timeout and as a deadline on
// our side (src/util/db.ts openClient: past it the socket is destroyed and the caller gets a
// one-line reason), since statement_timeout means nothing to a server that is stopped.
import type pg from 'pg';
import type { Settings } from '../config/load';
import { UserError } from '../errors';
import { iso, num, numOrNull, str, strOrNull } from '../probes/rows';
import { closeClient, openClient } from '../util/db';
import { redact } from '../util/redact';
import type { SessionLock, SessionRow } from './model';
import { OWN_APP_PREFIX, SESSIONS_MARK, SESSIONS_SQL } from './sql';

type Row = Record<string, unknown>;

/** application_name of the headless reader: one of the console's own sessions */
export const READER_APPLICATION = `${OWN_APP_PREFIX}: sessions`;

/** One row of SESSIONS_SQL as a SessionRow. */
export function toSessionRow(r: Row): SessionRow {
  const clientAddr = strOrNull(r.client_addr);
  const clientHostname = strOrNull(r.client_hostname) || null;
  const port = numOrNull(r.client_port);
  return {
    pid: num(r.pid),
    backendStart: str(r.backend_start),
    database: strOrNull(r.database),
    user: strOrNull(r.user),
    application: str(r.application),
    client: clientHostname ?? clientAddr ?? 'local',
    clientAddr,
    clientHostname,
    clientPort: port === null || port < 0 ? null : port,
    state: strOrNull(r.state),
    waitEventType: strOrNull(r.wait_event_type),
    waitEvent: strOrNull(r.wait_event),
    xminAge: numOrNull(r.xmin_age),
    xactStart: iso(r.xact_start),
    queryStart: iso(r.query_start),
    stateChange: iso(r.state_change),
    querySec: nonNegative(r.query_sec),
    xactSec: nonNegative(r.xact_sec),
    backendSec: nonNegative(r.backend_sec) ?? 0,
    query: str(r.query),
    blockedBy: Array.isArray(r.blocked_by) ? [...new Set(r.blocked_by.map(num))] : [],
    lockWaitSec: nonNegative(r.lock_wait_sec),
    locks: toLocks(r.locks),
    own: r.own === true,
    self: r.self === true,
  };
}

function nonNegative(v: unknown): number | null {
  return v == null ? null : Math.max(0, num(v));
}

function toLocks(v: unknown): SessionLock[] {
  let list: unknown = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  return list.map((l: Row) => ({
    locktype: str(l.locktype),
    mode: str(l.mode),
    granted: l.granted === true,
    database: strOrNull(l.database),
    relation: strOrNull(l.relation),
    object: strOrNull(l.object),
  }));
}

export function toSessionRows(rows: readonly Row[]): SessionRow[] {
  return rows.map(toSessionRow);
}

/** Anything that runs a statement: a pg.Client, a GuardedClient. */
export interface Queryable {
  query(text: string): Promise<{ rows: Row[] }>;
}

/** Every client session of the cluster, by one statement on `client`. */
export async function readSessions(client: Queryable): Promise<SessionRow[]> {
  const res = await client.query(`${SESSIONS_MARK} ${SESSIONS_SQL}`);
  return toSessionRows(res.rows);
}

/**
 * Every client session of the target's cluster, read on a connection of its own (headless `ops
 * sessions`, `ops locks`): opened with the probe timeout to connect, and the same timeout on the
 * statement, on the server and on our side. Closed after. A failure is a UserError with one
 * line, secrets redacted.
 */
export async function readTargetSessions(settings: Pick<Settings, 'config' | 'target'>): Promise<SessionRow[]> {
  const { target } = settings;
  const ms = settings.config.probeTimeoutMs;
  const config: pg.ClientConfig = { ...target.connection, statement_timeout: ms, lock_timeout: ms };
  const fail = (what: string, err: unknown) =>
    new UserError(`${what} ${target.display}: ${redact(String((err as Error)?.message ?? err).replace(/\s+/g, ' ').trim(), target.secrets)}`);
  let client;
  try {
    client = await openClient(config, { connectTimeoutMs: ms, queryTimeoutMs: ms }, { applicationName: READER_APPLICATION, display: target.display });
  } catch (err) {
    throw fail('cannot connect to', err);
  }
  try {
    return await readSessions(client);
  } catch (err) {
    throw fail('cannot read the sessions of', err);
  } finally {
    await closeClient(client, Math.min(ms, 1000));
  }
}
