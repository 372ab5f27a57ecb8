// rollback-prepared: roll back one orphaned prepared transaction (PREPARE TRANSACTION whose
// coordinator never came back), the fix for pg.prepared_xacts and for an xmin horizon held by a
// prepared transaction. Critical and irreversible: its changes are gone for good, and its
// coordinator can no longer COMMIT PREPARED it. The confirmation asks for the gid.
//
//   1. read      (read-only) the transaction in pg_prepared_xacts: when it was prepared (and how
//                long ago), its owner, its database, how far it holds back the xmin horizon, and
//                the locks it holds (pg_locks rows with no pid, under the virtualtransaction that
//                holds its transactionid), naming the relations. Refused: a gid that is not prepared,
//                one prepared in another database (ROLLBACK PREPARED runs only in the database the
//                transaction was prepared in: connect there with --database), and one this role
//                may not finish (only its owner or a superuser may).
//   2. rollback  ROLLBACK PREPARED '<gid>' (it takes no bound parameter: the gid is quoted as a
//                literal), after re-reading just before that the same transaction (same xid) is
//                still prepared here.
import * as z from 'zod';
import { quoteLiteral, type StepIO, type TaskDef } from '../src/tasks/model';
import { formatDuration } from '../src/util/format';

/** GIDSIZE is 200 bytes with its terminator. */
const GID_MAX_BYTES = 199;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

async function readXact(io: StepIO, gid: string): Promise<Record<string, unknown> | undefined> {
  const r = await io.sql(
    `SELECT p.transaction::text AS xid, p.gid, p.prepared::text AS prepared,
            extract(epoch FROM now() - p.prepared)::float8 AS age_sec, age(p.transaction) AS xid_age,
            p.owner, p.database, current_database() AS here, current_user AS me,
            coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user), false) AS superuser
       FROM pg_prepared_xacts p
      WHERE p.gid = $1`,
    [gid],
  );
  return r.rows[0];
}

/**
 * The locks a prepared transaction holds. pg_locks shows them with no pid, all under one
 * virtualtransaction, which cannot be derived from the xid on every release ("-1/<xid>" in some,
 * the preparing session's own VXID in others: 15.x here shows the latter). So it is found through
 * the lock the transaction holds on its own transactionid, and every pid-less row under it is the
 * xact's; "-1/<xid>" is matched too.
 */
async function readLocks(io: StepIO, xid: string): Promise<Record<string, unknown>[]> {
  const r = await io.sql(
    `WITH own AS (
       SELECT virtualtransaction FROM pg_locks
        WHERE pid IS NULL AND granted AND locktype = 'transactionid' AND transactionid::text = $1
       UNION SELECT '-1/' || $1)
     SELECT l.locktype, l.mode, l.granted, l.page, l.tuple, l.transactionid::text AS transactionid,
            CASE WHEN l.relation IS NULL THEN NULL
                 WHEN c.oid IS NOT NULL THEN quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                 ELSE 'relation ' || l.relation::text END AS relation,
            c.relkind::text AS relkind
       FROM pg_locks l
       LEFT JOIN pg_database d ON d.datname = current_database()
       LEFT JOIN pg_class c ON c.oid = l.relation AND l.database = d.oid
       LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.pid IS NULL AND l.virtualtransaction IN (SELECT virtualtransaction FROM own)
      ORDER BY l.relation IS NULL, relation, l.locktype, l.mode`,
    [xid],
  );
  return r.rows;
}

function lockLine(l: Record<string, unknown>): string {
  const type = String(l.locktype);
  const on =
    type === 'relation'
      ? `${String(l.relation)}${l.relkind === 'i' ? ' (index)' : ''}`
      : type === 'tuple'
        ? `a row of ${String(l.relation)} (page ${String(l.page)}, tuple ${String(l.tuple)})`
        : type === 'page'
          ? `page ${String(l.page)} of ${String(l.relation)}`
          : type === 'transactionid'
            ? `its own transaction id ${String(l.transactionid)}`
            : l.relation
              ? `${type} of ${String(l.relation)}`
              : type;
  return `lock: ${String(l.mode)} on ${on}${l.granted === false ? ' (waiting)' : ''}`;
}

export const rollbackPrepared: TaskDef = {
  id: 'rollback-prepared',
  title: 'Roll back a prepared transaction',
  description:
    'ROLLBACK PREPARED one orphaned prepared transaction, after reading when it was prepared, its owner, its database ' +
    'and the locks it holds. A gid that is not prepared, or is prepared in another database, is refused. Irreversible: ' +
    'its changes are discarded, and its coordinator can no longer commit it.',
  risk: 'critical',
  params: z
    .object({
      gid: z
        .string()
        .min(1, 'give the gid of the prepared transaction (pg_prepared_xacts.gid)')
        .refine((g) => Buffer.byteLength(g, 'utf8') <= GID_MAX_BYTES, `a gid is at most ${GID_MAX_BYTES} bytes`)
        .refine((g) => !CONTROL.test(g), 'a gid with control characters cannot be typed at the confirmation: roll it back with psql'),
    })
    .strict() as unknown as TaskDef['params'],
  confirmWord: (params) => ({ word: String(params.gid ?? ''), what: 'the gid' }),
  steps: [
    {
      id: 'read',
      title: 'Read the prepared transaction',
      action: (ctx) => ({
        kind: 'fn',
        describe:
          `read gid ${quoteLiteral(String(ctx.params.gid))} from pg_prepared_xacts: when prepared, owner, database, and the locks it ` +
          'holds (pg_locks with no pid, joined on its virtualtransaction and transactionid), naming the relations; refuse it if it is ' +
          'not prepared, or prepared in another database; read-only: nothing to undo',
        run: async (io) => {
          const gid = String(ctx.params.gid);
          const x = await readXact(io, gid);
          if (!x) {
            const r = await io.sql('SELECT gid, database FROM pg_prepared_xacts ORDER BY prepared LIMIT 6');
            const others = r.rows.map((o) => `${JSON.stringify(String(o.gid))} (${String(o.database)})`);
            const list = others.length ? `prepared now: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}` : 'none is prepared on this server';
            throw new Error(`no prepared transaction with gid ${quoteLiteral(gid)} (${list})`);
          }
          io.log(
            `gid ${quoteLiteral(gid)}: transaction ${String(x.xid)}, prepared ${String(x.prepared)} (${formatDuration(Number(x.age_sec))} ago) ` +
              `by ${String(x.owner)} in database ${String(x.database)}; xid age ${String(x.xid_age)} (vacuum removes no row deleted since it began)`,
          );
          if (x.database !== x.here) {
            throw new Error(
              `prepared transaction ${quoteLiteral(gid)} is in database ${String(x.database)}, not ${String(x.here)}: ` +
                `ROLLBACK PREPARED must run there; run this again with --database naming ${String(x.database)}`,
            );
          }
          if (x.owner !== x.me && x.superuser !== true) {
            throw new Error(`prepared transaction ${quoteLiteral(gid)} belongs to ${String(x.owner)}: only that role or a superuser may roll it back (connected as ${String(x.me)})`);
          }
          const locks = await readLocks(io, String(x.xid));
          for (const l of locks) io.log(lockLine(l));
          const relations = [...new Set(locks.map((l) => l.relation).filter((r): r is string => typeof r === 'string'))];
          io.log(
            `${locks.length} lock${locks.length === 1 ? '' : 's'} held` +
              (relations.length ? `, on ${relations.length} relation${relations.length === 1 ? '' : 's'}: ${relations.join(', ')}` : ', none on a relation'),
            'info',
          );
          return { gid, xid: String(x.xid), database: String(x.database), locks: locks.length, relations };
        },
      }),
    },
    {
      id: 'rollback',
      title: 'ROLLBACK PREPARED',
      irreversible: true,
      action: (ctx) => {
        const gid = String(ctx.values.gid ?? ctx.params.gid);
        const sql = `ROLLBACK PREPARED ${quoteLiteral(gid)}`;
        return {
          kind: 'fn',
          describe: `${sql}, after re-checking just before that the transaction step 1 read is still prepared in this database`,
          run: async (io) => {
            const x = await readXact(io, gid);
            if (!x) throw new Error(`prepared transaction ${quoteLiteral(gid)} is gone already (committed or rolled back since step 1 read it): nothing rolled back`);
            if (x.database !== x.here) throw new Error(`prepared transaction ${quoteLiteral(gid)} is now in database ${String(x.database)}, not ${String(x.here)}: not rolled back`);
            const xid = ctx.values.xid as string | undefined;
            if (xid !== undefined && String(x.xid) !== xid) {
              throw new Error(`gid ${quoteLiteral(gid)} is now transaction ${String(x.xid)}, not ${xid} which step 1 read (prepared again since): not rolled back`);
            }
            await io.sql(sql);
            const n = ctx.values.locks as number | undefined;
            io.log(`transaction ${String(x.xid)} (gid ${quoteLiteral(gid)}) rolled back${n ? `; its ${n} lock${n === 1 ? '' : 's'} released` : ''}`);
            return { rolledBack: gid, xid: String(x.xid) };
          },
        };
      },
    },
  ],
};
