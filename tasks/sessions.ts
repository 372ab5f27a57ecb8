// cancel-query and terminate-sessions: stop what a session runs, or end the session.
//
//   1. list    the sessions chosen, shown first: pid, user, client, database, application, state,
//              how long, the query (truncated). Chosen by pid (pids=4242, pids=4243, from anywhere
//              on the server); by pid and backend start (sessions=4242@2026-11-23T18:45:00.123456Z,
//              several comma-separated or repeated: what the console's sessions view binds a plan
//              to, so a pid now held by another session is refused, not signalled); or by kind,
//              in the target database:
//                idle-in-transaction  idle in a transaction for at least olderThanSec: the time
//                                     idle (since state_change), as the console's
//                                     sessions.idle_in_transaction measures it, not the
//                                     transaction's age (that is sessions.long_transaction)
//                long-running         running one query for at least olderThanSec
//                blocked-by           holding a lock some session has waited on for at least olderThanSec
//              (olderThanSec defaults to the console's warning threshold for that kind.)
//              Never chosen: the task's own backend, any session whose application_name starts
//              with "ops-console" (the console's and other runs' sessions), and non-client backends
//              (autovacuum, replication, background workers). Read-only: nothing to undo.
//              cancel-query leaves out a session idle, or idle in a transaction: a cancel does
//              nothing to it (no query runs; its transaction stays open). The listing says so
//              for each and offers terminate-sessions (src/sessions/model.ts cancelDoesNothing);
//              chosen by pid and nothing else left, the step fails with that reason.
//   2. cancel / terminate   pg_cancel_backend($1) / pg_terminate_backend($1) for each session step 1
//              listed, and only those: no new selection. Each pid is re-checked in the same
//              statement to still be the session listed (same backend_start), so a pid reused by
//              a new session is not hit; those are skipped and logged. A cancel is sent only to
//              a session not idle then either (one that went idle in between is skipped, and not
//              counted as cancelled). Irreversible: a terminated session, or a cancelled query,
//              cannot be brought back.
import * as z from 'zod';
import { listParam, type RunContext, type StepDef, type StepIO, type TaskDef } from '../src/tasks/model';
import { cancelDoesNothing } from '../src/sessions/model';
import { isOwnApplication, ownSessionSql } from '../src/pg/own';
import { formatDuration, truncate } from '../src/util/format';

export const SESSION_KINDS = ['idle-in-transaction', 'long-running', 'blocked-by'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];


interface Chosen {
  pid: number;
  /** backend_start as the server prints it (microseconds kept): the session's identity with pid */
  backendStart: string;
}

/**
 * A session named by pid and backend start, `4242@2026-11-23T18:45:00.123456Z` (the form the
 * sessions view gives, src/sessions/model.ts sessionKey) or with the server's own text for
 * backend_start (`4242@2026-11-23 18:45:00.123456+00`). The time must carry its zone: it is
 * compared as a timestamptz, on a connection whose TimeZone may differ.
 */
const SESSION_REF = /^(\d{1,10})@((\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2}){0,2}))$/;

/** `PID@BACKENDSTART` as a pid and backend start; null when it is not one. */
export function parseSessionRef(ref: string): Chosen | null {
  const m = SESSION_REF.exec(ref.trim());
  if (!m) return null;
  const pid = Number(m[1]);
  const [month, day, hour, minute, second] = m.slice(4, 9).map(Number);
  if (pid <= 0 || pid > 2 ** 31 - 1) return null;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  return { pid, backendStart: m[2] };
}

/** sessions=: one or more PID@BACKENDSTART, comma-separated or repeated; kept as text (the journal re-reads it on resume). */
const sessionsParam = z
  .preprocess(
    (v) => (typeof v === 'string' ? [v] : v),
    z.array(z.string()).transform((list) => list.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')),
  )
  .pipe(
    z
      .array(
        z.string().refine((x) => parseSessionRef(x) !== null, {
          error: (iss) => `"${truncate(String(iss.input), 60)}" is not PID@BACKENDSTART (e.g. 4242@2026-11-23T18:45:00.123456Z, the time with its zone)`,
        }),
      )
      .min(1, 'give at least one PID@BACKENDSTART'),
  );

const EITHER = 'give either pids=<pid> (one or more), sessions=<pid>@<backend start> (one or more) or kind=idle-in-transaction|long-running|blocked-by';

function paramsOf(verb: 'cancel' | 'terminate'): TaskDef['params'] {
  return z
    .object({
      pids: listParam(z.coerce.number().int().positive()).pipe(z.array(z.number()).min(1, 'give at least one pid')).optional(),
      sessions: sessionsParam.optional(),
      kind: z.enum(SESSION_KINDS).optional(),
      olderThanSec: z.coerce.number().nonnegative().optional(),
    })
    .strict()
    .refine((p) => [p.pids, p.sessions, p.kind].filter((x) => x !== undefined).length === 1, EITHER)
    .refine((p) => p.olderThanSec === undefined || p.kind !== undefined, 'olderThanSec goes with kind, not with pids or sessions')
    .refine(
      (p) => verb !== 'cancel' || p.kind !== 'idle-in-transaction',
      'a session idle in a transaction runs no query: cancelling does nothing to it. Terminate it instead (terminate-sessions kind=idle-in-transaction)',
    ) as unknown as TaskDef['params'];
}

function olderThan(ctx: RunContext, kind: SessionKind): number {
  const given = ctx.params.olderThanSec as number | undefined;
  if (given !== undefined) return given;
  const t = ctx.config.thresholds;
  return kind === 'idle-in-transaction' ? t.idleInTransactionSec.warning : kind === 'long-running' ? t.longQuerySec.warning : t.blockedSec.warning;
}

/** The sessions= parameter as pid and backend start pairs; undefined when not given. */
function refsOf(ctx: RunContext): Chosen[] | undefined {
  const list = ctx.params.sessions as string[] | undefined;
  return list?.map((x) => parseSessionRef(x)!).filter(Boolean);
}

function selection(ctx: RunContext): string {
  const pids = ctx.params.pids as number[] | undefined;
  if (pids) return `pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')}`;
  const refs = refsOf(ctx);
  if (refs) return `${refs.length === 1 ? 'the session' : 'the sessions'} ${refs.map((r) => `pid ${r.pid} (backend start ${r.backendStart})`).join(', ')}`;
  const kind = ctx.params.kind as SessionKind;
  const sec = olderThan(ctx, kind);
  switch (kind) {
    case 'idle-in-transaction':
      return `sessions of this database idle in a transaction for ${sec} s or more`;
    case 'long-running':
      return `sessions of this database running one query for ${sec} s or more`;
    case 'blocked-by':
      return `sessions of this database holding a lock another session has waited on for ${sec} s or more`;
  }
}

// pg_stat_activity's columns used here (backend_type, state_change, xact_start, query_start)
// are the same on PostgreSQL 12 to 17; pg_locks.waitstart (blocked-by) is 14 on, asked for below.
const COLS = `a.pid, a.backend_start::text AS backend_start, a.usename AS user, a.datname AS database,
  coalesce(host(a.client_addr), 'local') AS client, coalesce(a.application_name, '') AS application,
  coalesce(a.state, '') AS state, a.backend_type, a.pid = pg_backend_pid() AS own,
  extract(epoch FROM now() - CASE WHEN a.state = 'active' THEN a.query_start
                                  ELSE coalesce(a.state_change, a.backend_start) END)::float8 AS duration,
  left(coalesce(a.query, ''), 2000) AS query`;

/** the states in which a session runs no query: a cancel does nothing to it */
const IDLE_STATES = `'idle', 'idle in transaction', 'idle in transaction (aborted)'`;

const ELIGIBLE = `a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  AND NOT ${ownSessionSql('a.application_name')}`;

async function findByKind(io: StepIO, kind: SessionKind, sec: number): Promise<Record<string, unknown>[]> {
  const mine = `${ELIGIBLE} AND a.datname = current_database()`;
  switch (kind) {
    case 'idle-in-transaction':
      return (
        await io.sql(
          `SELECT ${COLS} FROM pg_stat_activity a
            WHERE ${mine} AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
              AND now() - a.state_change >= make_interval(secs => $1::float8)
            ORDER BY a.state_change`,
          [sec],
        )
      ).rows;
    case 'long-running':
      return (
        await io.sql(
          `SELECT ${COLS} FROM pg_stat_activity a
            WHERE ${mine} AND a.state = 'active' AND now() - a.query_start >= make_interval(secs => $1::float8)
            ORDER BY a.query_start`,
          [sec],
        )
      ).rows;
    case 'blocked-by': {
      const v = Number((await io.sql(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v);
      const waitStart =
        v >= 140000
          ? `coalesce((SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted), w.query_start, w.state_change)`
          : `coalesce(w.query_start, w.state_change)`;
      return (
        await io.sql(
          `SELECT ${COLS} FROM pg_stat_activity a
            WHERE ${mine} AND a.pid IN (
              SELECT unnest(pg_blocking_pids(w.pid)) FROM pg_stat_activity w
               WHERE w.wait_event_type = 'Lock' AND now() - ${waitStart} >= make_interval(secs => $1::float8))
            ORDER BY a.xact_start NULLS LAST`,
          [sec],
        )
      ).rows;
    }
  }
}

function describeRow(row: Record<string, unknown>): string {
  const app = String(row.application ?? '');
  const state = String(row.state || row.backend_type || '?');
  const q = String(row.query ?? '').replace(/\s+/g, ' ').trim();
  return (
    `pid ${String(row.pid)} ${String(row.user ?? '?')}@${String(row.client)} db ${String(row.database ?? '-')}` +
    `${app ? ` [${app}]` : ''} ${state} ${formatDuration(Number(row.duration ?? 0))}${q ? `: ${truncate(q, 100)}` : ''}`
  );
}

function listStep(verb: 'cancel' | 'terminate'): StepDef {
  return {
    id: 'list',
    title: `List the sessions to ${verb}`,
    action: (ctx) => ({
      kind: 'fn',
      describe:
        `list ${selection(ctx)} from pg_stat_activity (never this task's own session, an ops-console session or a non-client backend); read-only: nothing to undo` +
        (verb === 'cancel' ? '; a session idle, or idle in a transaction, runs no query: it is listed as such, not cancelled (terminate-sessions ends it)' : ''),
      run: async (io) => {
        const refs = refsOf(ctx);
        const pids = (ctx.params.pids as number[] | undefined) ?? refs?.map((r) => r.pid);
        let rows: Record<string, unknown>[];
        const idle: Record<string, unknown>[] = [];
        if (pids) {
          const all = (
            await io.sql(
              `SELECT ${COLS}, s.bs IS NULL OR a.backend_start = s.bs AS same
                 FROM pg_stat_activity a
                 JOIN unnest($1::int[], $2::timestamptz[]) AS s(pid, bs) ON s.pid = a.pid
                ORDER BY a.pid`,
              [pids, refs ? refs.map((r) => r.backendStart) : pids.map(() => null)],
            )
          ).rows;
          rows = [];
          for (const [i, pid] of pids.entries()) {
            const row = all.find((r) => Number(r.pid) === pid && (!refs || r.same === true)) ?? all.find((r) => Number(r.pid) === pid);
            const why = !row
              ? 'no such session'
              : row.same !== true
                ? `it is no longer the session chosen: backend start ${String(row.backend_start)}, not ${refs![i].backendStart} (the session ended, and the pid now belongs to another)`
                : row.own === true
                  ? "it is this task's own session"
                  : isOwnApplication(row.application as string | null)
                    ? `it is an ops-console session (application_name ${String(row.application)})`
                    : row.backend_type !== 'client backend'
                      ? `it is not a client session (${String(row.backend_type)})`
                      : null;
            if (why) io.log(`pid ${pid}: refused, ${why}`, 'err');
            else if (!rows.includes(row!)) rows.push(row!);
          }
          if (verb === 'cancel') rows = rows.filter((r) => (cancelDoesNothing(String(r.state)) ? (idle.push(r), false) : true));
          if (!rows.length) {
            const none = `nothing to ${verb}: none of pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')} can be chosen`;
            if (!idle.length) throw new Error(none);
            for (const row of idle) logIdle(io, row);
            throw new Error(`${none}: ${idle.length === 1 ? 'it runs' : 'they run'} no query (${idleStates(idle)}); terminate-sessions ends ${idle.length === 1 ? 'it' : 'them'}`);
          }
        } else {
          const kind = ctx.params.kind as SessionKind;
          rows = await findByKind(io, kind, olderThan(ctx, kind));
          if (verb === 'cancel') rows = rows.filter((r) => (cancelDoesNothing(String(r.state)) ? (idle.push(r), false) : true));
          if (!rows.length && !idle.length) io.log(`no session matches (${selection(ctx)}): nothing to ${verb}`, 'info');
        }
        for (const row of idle) logIdle(io, row);
        for (const row of rows) io.log(describeRow(row));
        const sessions: Chosen[] = rows.map((r) => ({ pid: Number(r.pid), backendStart: String(r.backend_start) }));
        if (rows.length) io.log(`${rows.length} session${rows.length === 1 ? '' : 's'} to ${verb}: pid ${sessions.map((s) => s.pid).join(', ')}`, 'info');
        else if (idle.length) io.log(`nothing to ${verb}: no session listed runs a query`, 'info');
        return idle.length ? { sessions, notCancelled: idle.map((r) => ({ pid: Number(r.pid), backendStart: String(r.backend_start), state: String(r.state) })) } : { sessions };
      },
    }),
  };
}

/** A session cancel does nothing to: its listing, the reason, and the terminate that would end it. */
function logIdle(io: StepIO, row: Record<string, unknown>): void {
  io.log(describeRow(row));
  const ref = `${String(row.pid)}@${String(row.backend_start).replace(' ', 'T')}`;
  io.log(`pid ${String(row.pid)}: not cancelled, ${cancelDoesNothing(String(row.state))} (ops run terminate-sessions --param sessions=${ref})`, 'err');
}

function idleStates(rows: Record<string, unknown>[]): string {
  return [...new Set(rows.map((r) => String(r.state)))].join(', ');
}

function signalStep(fn: 'pg_cancel_backend' | 'pg_terminate_backend', verb: string, title: string): StepDef {
  return {
    id: verb,
    title,
    irreversible: true,
    action: (ctx) => {
      const chosen = ctx.values.sessions as Chosen[] | undefined;
      const what = chosen
        ? chosen.length
          ? `pid ${chosen.map((s) => s.pid).join(', ')}`
          : 'no session (step 1 listed none): nothing to do'
        : `each session step 1 lists (${selection(ctx)})`;
      return {
        kind: 'fn',
        describe: `SELECT ${fn}(pid) for ${what}, each re-checked to be the session listed (same pid and backend_start)`,
        run: async (io) => {
          const signalled: number[] = [];
          const skipped: number[] = [];
          const failed: string[] = [];
          for (const s of chosen ?? []) {
            if (io.signal.aborted) throw new Error('cancelled');
            let r;
            try {
              // a cancel goes only to a session running something now: one gone idle in between
              // is left as it is, and not counted (the signal would do nothing)
              const act = fn === 'pg_cancel_backend' ? `CASE WHEN a.state IN (${IDLE_STATES}) THEN NULL ELSE ${fn}(a.pid) END` : `${fn}(a.pid)`;
              r = await io.sql(
                `SELECT ${act} AS ok, a.state FROM pg_stat_activity a
                  WHERE a.pid = $1::int AND a.backend_start = $2::timestamptz AND ${ELIGIBLE}`,
                [s.pid, s.backendStart],
              );
            } catch (err) {
              io.log(`pid ${s.pid}: ${(err as Error).message}`, 'err');
              failed.push(`pid ${s.pid} (${(err as Error).message})`);
              continue;
            }
            if (!r.rows.length) {
              io.log(`pid ${s.pid}: skipped, it is no longer the session listed (it ended, or the pid now belongs to another session)`, 'err');
              skipped.push(s.pid);
              continue;
            }
            if (r.rows[0].ok === null) {
              io.log(`pid ${s.pid}: skipped, ${cancelDoesNothing(String(r.rows[0].state)) ?? 'it runs no query now'}`, 'err');
              skipped.push(s.pid);
              continue;
            }
            if (r.rows[0].ok !== true) {
              io.log(`pid ${s.pid}: ${fn} returned false (the session ended meanwhile?)`, 'err');
              skipped.push(s.pid);
              continue;
            }
            signalled.push(s.pid);
            if (fn === 'pg_terminate_backend') {
              const gone = await waitGone(io, s, 5000);
              io.log(gone ? `pid ${s.pid}: terminated` : `pid ${s.pid}: signalled, still listed after 5 s (it ends when it next checks for interrupts)`);
            } else {
              io.log(`pid ${s.pid}: cancel sent`);
            }
          }
          io.log(`${signalled.length} ${verb === 'cancel' ? 'cancelled' : 'terminated'}, ${skipped.length} skipped${failed.length ? `, ${failed.length} failed` : ''}`, 'info');
          if (failed.length) throw new Error(`could not ${verb}: ${failed.join('; ')}`);
          return { signalled, skipped };
        },
      };
    },
  };
}

/** `terminated 3 sessions (pid 1, 2, 3)`, from the signal step's journaled values. */
function signalledLine(values: Record<string, unknown>, verb: string): string | null {
  if (!Array.isArray(values.signalled)) return Array.isArray(values.sessions) ? `${verb} none yet: ${values.sessions.length} session${values.sessions.length === 1 ? '' : 's'} listed` : null;
  const pids = values.signalled.map(String);
  return `${verb} ${pids.length} session${pids.length === 1 ? '' : 's'}${pids.length ? ` (pid ${pids.join(', ')})` : ''}`;
}

async function waitGone(io: StepIO, s: Chosen, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await io.sql('SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND backend_start = $2::timestamptz', [s.pid, s.backendStart]);
    if (!r.rows.length) return true;
    if (Date.now() >= deadline || io.signal.aborted) return false;
    await new Promise((res) => setTimeout(res, 100));
  }
}

export const cancelQuery: TaskDef = {
  id: 'cancel-query',
  title: 'Cancel running queries (pg_cancel_backend)',
  description:
    'Cancels the query of chosen sessions: by pid (pids=4242), by pid and backend start ' +
    '(sessions=4242@2026-11-23T18:45:00.123456Z) or by kind (long-running, blocked-by, with olderThanSec). ' +
    'The sessions are listed first; only those listed are signalled, each re-checked by pid and backend_start. ' +
    'A session idle, or idle in a transaction, runs no query: it is listed as such and not cancelled ' +
    '(terminate-sessions ends it). Never this task\'s own session or an ops-console session. ' +
    'Irreversible: a cancelled query cannot be resumed.',
  risk: 'medium',
  params: paramsOf('cancel'),
  changed: (values) => signalledLine(values, 'cancelled the queries of'),
  steps: [listStep('cancel'), signalStep('pg_cancel_backend', 'cancel', 'Cancel the queries')],
};

export const terminateSessions: TaskDef = {
  id: 'terminate-sessions',
  title: 'Terminate sessions (pg_terminate_backend)',
  description:
    'Ends chosen sessions: by pid (pids=4242), by pid and backend start ' +
    '(sessions=4242@2026-11-23T18:45:00.123456Z) or by kind (idle-in-transaction, long-running, ' +
    'blocked-by, with olderThanSec); their open transactions roll back. The sessions are listed first; ' +
    'only those listed are terminated, each re-checked by pid and backend_start. Never this task\'s own ' +
    'session or an ops-console session. Irreversible: a terminated session cannot be brought back.',
  risk: 'high',
  params: paramsOf('terminate'),
  changed: (values) => signalledLine(values, 'terminated'),
  steps: [listStep('terminate'), signalStep('pg_terminate_backend', 'terminate', 'Terminate the sessions')],
};
