// cancel-query and terminate-sessions: stop what a session runs, or end the session.
//
//   1. list    the sessions chosen, shown first: pid, user, client, database, application, state,
//              how long, the query (truncated). Chosen by pid (pids=4242, pids=4243, from anywhere
//              on the server), or by kind, in the target database:
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
//   2. cancel / terminate   pg_cancel_backend($1) / pg_terminate_backend($1) for each session step 1
//              listed, and only those: no new selection. Each pid is re-checked in the same
//              statement to still be the session listed (same backend_start), so a pid reused by
//              a new session is not hit; those are skipped and logged. Irreversible: a terminated
//              session, or a cancelled query, cannot be brought back.
import * as z from 'zod';
import { listParam, type RunContext, type StepDef, type StepIO, type TaskDef } from '../src/tasks/model';
import { formatDuration, truncate } from '../src/util/format';

export const SESSION_KINDS = ['idle-in-transaction', 'long-running', 'blocked-by'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** application_name prefix of the console's own sessions: never signalled */
const OWN_APP_PREFIX = 'ops-console';

interface Chosen {
  pid: number;
  /** backend_start as the server prints it (microseconds kept): the session's identity with pid */
  backendStart: string;
}

const params = z
  .object({
    pids: listParam(z.coerce.number().int().positive()).pipe(z.array(z.number()).min(1, 'give at least one pid')).optional(),
    kind: z.enum(SESSION_KINDS).optional(),
    olderThanSec: z.coerce.number().nonnegative().optional(),
  })
  .strict()
  .refine((p) => (p.pids === undefined) !== (p.kind === undefined), 'give either pids=<pid> (one or more) or kind=idle-in-transaction|long-running|blocked-by')
  .refine((p) => p.olderThanSec === undefined || p.kind !== undefined, 'olderThanSec goes with kind, not with pids') as unknown as TaskDef['params'];

function olderThan(ctx: RunContext, kind: SessionKind): number {
  const given = ctx.params.olderThanSec as number | undefined;
  if (given !== undefined) return given;
  const t = ctx.config.thresholds;
  return kind === 'idle-in-transaction' ? t.idleInTransactionSec.warning : kind === 'long-running' ? t.longQuerySec.warning : t.blockedSec.warning;
}

function selection(ctx: RunContext): string {
  const pids = ctx.params.pids as number[] | undefined;
  if (pids) return `pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')}`;
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

const ELIGIBLE = `a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  AND coalesce(a.application_name, '') NOT LIKE '${OWN_APP_PREFIX}%'`;

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

function listStep(verb: string): StepDef {
  return {
    id: 'list',
    title: `List the sessions to ${verb}`,
    action: (ctx) => ({
      kind: 'fn',
      describe: `list ${selection(ctx)} from pg_stat_activity (never this task's own session, an ops-console session or a non-client backend); read-only: nothing to undo`,
      run: async (io) => {
        const pids = ctx.params.pids as number[] | undefined;
        let rows: Record<string, unknown>[];
        if (pids) {
          const all = (await io.sql(`SELECT ${COLS} FROM pg_stat_activity a WHERE a.pid = ANY ($1::int[]) ORDER BY a.pid`, [pids])).rows;
          rows = [];
          for (const pid of pids) {
            const row = all.find((r) => Number(r.pid) === pid);
            const why = !row
              ? 'no such session'
              : row.own === true
                ? "it is this task's own session"
                : String(row.application ?? '').startsWith(OWN_APP_PREFIX)
                  ? `it is an ops-console session (application_name ${String(row.application)})`
                  : row.backend_type !== 'client backend'
                    ? `it is not a client session (${String(row.backend_type)})`
                    : null;
            if (why) io.log(`pid ${pid}: refused, ${why}`, 'err');
            else if (!rows.includes(row!)) rows.push(row!);
          }
          if (!rows.length) throw new Error(`nothing to ${verb}: none of pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')} can be chosen`);
        } else {
          const kind = ctx.params.kind as SessionKind;
          rows = await findByKind(io, kind, olderThan(ctx, kind));
          if (!rows.length) io.log(`no session matches (${selection(ctx)}): nothing to ${verb}`, 'info');
        }
        for (const row of rows) io.log(describeRow(row));
        const sessions: Chosen[] = rows.map((r) => ({ pid: Number(r.pid), backendStart: String(r.backend_start) }));
        if (rows.length) io.log(`${rows.length} session${rows.length === 1 ? '' : 's'} to ${verb}: pid ${sessions.map((s) => s.pid).join(', ')}`, 'info');
        return { sessions };
      },
    }),
  };
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
              r = await io.sql(
                `SELECT ${fn}(a.pid) AS ok FROM pg_stat_activity a
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
    'Cancels the query of chosen sessions: by pid (pids=4242) or by kind (idle-in-transaction, ' +
    'long-running, blocked-by, with olderThanSec). The sessions are listed first; only those listed are ' +
    'signalled, each re-checked by pid and backend_start. Never this task\'s own session or an ' +
    'ops-console session. Irreversible: a cancelled query cannot be resumed.',
  risk: 'medium',
  params,
  steps: [listStep('cancel'), signalStep('pg_cancel_backend', 'cancel', 'Cancel the queries')],
};

export const terminateSessions: TaskDef = {
  id: 'terminate-sessions',
  title: 'Terminate sessions (pg_terminate_backend)',
  description:
    'Ends chosen sessions: by pid (pids=4242) or by kind (idle-in-transaction, long-running, ' +
    'blocked-by, with olderThanSec); their open transactions roll back. The sessions are listed first; ' +
    'only those listed are terminated, each re-checked by pid and backend_start. Never this task\'s own ' +
    'session or an ops-console session. Irreversible: a terminated session cannot be brought back.',
  risk: 'high',
  params,
  steps: [listStep('terminate'), signalStep('pg_terminate_backend', 'terminate', 'Terminate the sessions')],
};
