// drop-replication-slot: drop one replication slot that nothing uses any more, the fix for a
// stale slot holding WAL (pg.replication_slots). Critical and irreversible: the WAL the slot
// kept is released at the next checkpoint, so a consumer that comes back cannot resume from it,
// and a slot recreated later starts from the present. The confirmation asks for the slot's name.
//
//   1. read  (read-only) the slot in pg_replication_slots: its type (and plugin), database,
//            whether it is active and which pid holds it, restart_lsn, the WAL it retains in bytes
//            (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn); on a standby the replay LSN),
//            wal_status and safe_wal_size (PostgreSQL 13+), inactive_since (17+), and how far it
//            holds back the xmin horizon. A slot that does not exist, or is active, is refused:
//            ending the session that holds it is a separate task.
//   2. drop  SELECT pg_drop_replication_slot($1), after re-reading the slot just before: still
//            there, still inactive, still the slot step 1 read (same type and database). The
//            server refuses an active slot too (pg_drop_replication_slot does not wait for it).
import * as z from 'zod';
import { describeAction, type StepIO, type TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';

/** A slot name as the server allows it: lower-case letters, digits and underscores, at most 63. */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

const DROP_SQL = 'SELECT pg_drop_replication_slot($1)';

interface Server {
  version: number;
  standby: boolean;
}

async function server(io: StepIO): Promise<Server> {
  const r = await io.sql(`SELECT current_setting('server_version_num')::int AS v, pg_is_in_recovery() AS standby`);
  return { version: Number(r.rows[0].v), standby: r.rows[0].standby === true };
}

async function readSlot(io: StepIO, slot: string, s: Server): Promise<Record<string, unknown> | undefined> {
  // pg_current_wal_lsn() fails during recovery: a standby measures against what it has replayed
  const head = s.standby ? 'pg_last_wal_replay_lsn()' : 'pg_current_wal_lsn()';
  // wal_status and safe_wal_size came with PostgreSQL 13, inactive_since with 17
  const v13 = s.version >= 130000 ? 's.wal_status, s.safe_wal_size::bigint AS safe_wal_size' : 'NULL::text AS wal_status, NULL::bigint AS safe_wal_size';
  const v17 = s.version >= 170000 ? 's.inactive_since::text AS inactive_since' : 'NULL::text AS inactive_since';
  const r = await io.sql(
    `SELECT s.slot_name, s.slot_type, s.plugin, s.database, s.temporary, s.active, s.active_pid,
            s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
            pg_wal_lsn_diff(${head}, s.restart_lsn)::bigint AS retained,
            age(s.xmin) AS xmin_age, age(s.catalog_xmin) AS catalog_xmin_age,
            ${v13}, ${v17},
            a.backend_type, a.usename AS holder_user, coalesce(host(a.client_addr), 'local') AS holder_client,
            coalesce(a.application_name, '') AS holder_app
       FROM pg_replication_slots s
       LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1`,
    [slot],
  );
  return r.rows[0];
}

/** "pid 4242 (walsender of replicator@10.0.0.7 [standby1])" */
function holder(row: Record<string, unknown>): string {
  const pid = String(row.active_pid);
  if (!row.backend_type) return `pid ${pid}`;
  const app = String(row.holder_app ?? '');
  return `pid ${pid} (${String(row.backend_type)} of ${String(row.holder_user ?? '?')}@${String(row.holder_client)}${app ? ` [${app}]` : ''})`;
}

function refuseActive(slot: string, row: Record<string, unknown>): never {
  const pid = row.active_pid === null || row.active_pid === undefined ? null : Number(row.active_pid);
  const who = pid === null ? 'a session' : holder(row);
  const next =
    pid === null
      ? 'stop its consumer first'
      : row.backend_type === 'client backend'
        ? `ending it first is a separate task (terminate-sessions pids=${pid})`
        : `terminating it first (pg_terminate_backend(${pid})) is a separate step, and its consumer must stop or it reconnects`;
  throw new Error(`slot ${slot} is active, held by ${who}: not dropped; ${next}`);
}

function describeSlot(row: Record<string, unknown>): string[] {
  const type = String(row.slot_type);
  const lines: string[] = [];
  lines.push(
    `slot ${String(row.slot_name)}: ${type}${row.plugin ? ` (plugin ${String(row.plugin)})` : ''}` +
      `${row.database ? `, database ${String(row.database)}` : ', no database'}${row.temporary ? ', temporary' : ''}` +
      `, ${row.active ? `active (pid ${String(row.active_pid)})` : 'inactive'}` +
      `${row.inactive_since ? ` since ${String(row.inactive_since)}` : ''}`,
  );
  const retained = row.retained === null || row.retained === undefined ? null : Number(row.retained);
  lines.push(
    `restart_lsn ${row.restart_lsn === null ? 'not set' : String(row.restart_lsn)}` +
      `${row.confirmed_flush_lsn ? `, confirmed_flush_lsn ${String(row.confirmed_flush_lsn)}` : ''}; ` +
      (retained === null ? 'retains no WAL (no restart_lsn)' : `retains ${formatBytes(Math.max(0, retained))} of WAL (${Math.max(0, retained)} bytes)`),
  );
  const status = [
    row.wal_status ? `wal_status ${String(row.wal_status)}` : null,
    row.safe_wal_size !== null && row.safe_wal_size !== undefined ? `safe_wal_size ${formatBytes(Number(row.safe_wal_size))}` : null,
    row.xmin_age !== null && row.xmin_age !== undefined ? `xmin age ${String(row.xmin_age)}` : null,
    row.catalog_xmin_age !== null && row.catalog_xmin_age !== undefined ? `catalog_xmin age ${String(row.catalog_xmin_age)}` : null,
  ].filter(Boolean);
  if (status.length) lines.push(status.join('; '));
  return lines;
}

export const dropReplicationSlot: TaskDef = {
  id: 'drop-replication-slot',
  title: 'Drop a replication slot',
  description:
    'pg_drop_replication_slot one slot that nothing uses, after reading its type, database, restart_lsn, the WAL it ' +
    'retains and wal_status. An active slot, or one that does not exist, is refused. Irreversible: the WAL it kept is ' +
    'released, and a consumer that comes back cannot resume from it.',
  risk: 'critical',
  params: z
    .object({
      slot: z.string().regex(SLOT_NAME, 'a replication slot name: lower-case letters, digits and underscores, at most 63 characters'),
    })
    .strict() as unknown as TaskDef['params'],
  confirmWord: (params) => ({ word: String(params.slot ?? ''), what: 'the slot name' }),
  steps: [
    {
      id: 'read',
      title: 'Read the slot',
      action: (ctx) => ({
        kind: 'fn',
        describe:
          `read slot ${String(ctx.params.slot)} from pg_replication_slots: type, database, active and active_pid, restart_lsn, ` +
          'the WAL it retains (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn); on a standby the replay LSN), wal_status (13+); ' +
          'refuse it if it does not exist or is active; read-only: nothing to undo',
        run: async (io) => {
          const slot = String(ctx.params.slot);
          const s = await server(io);
          const row = await readSlot(io, slot, s);
          if (!row) {
            const others = (await io.sql('SELECT slot_name FROM pg_replication_slots ORDER BY slot_name LIMIT 6')).rows.map((r) => String(r.slot_name));
            const list = others.length ? `slots here: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}` : 'the server has no replication slots';
            throw new Error(`no replication slot ${slot} (${list})`);
          }
          for (const line of describeSlot(row)) io.log(line);
          if (row.active === true) refuseActive(slot, row);
          const role = (await io.sql('SELECT rolsuper OR rolreplication AS ok FROM pg_roles WHERE rolname = current_user')).rows[0];
          if (role && role.ok !== true) throw new Error(`slot ${slot}: this role has neither SUPERUSER nor REPLICATION, which pg_drop_replication_slot needs: not dropped`);
          if (row.wal_status === 'lost') io.log(`wal_status lost: the WAL this slot needs is already gone; its consumer cannot resume from it anyway`, 'info');
          return {
            slot,
            slotType: String(row.slot_type),
            slotDatabase: row.database === null ? null : String(row.database),
            restartLsn: row.restart_lsn === null ? null : String(row.restart_lsn),
            retainedBytes: row.retained === null ? null : Number(row.retained),
          };
        },
      }),
    },
    {
      id: 'drop',
      title: 'Drop the slot (pg_drop_replication_slot)',
      irreversible: true,
      action: (ctx) => {
        const slot = String(ctx.values.slot ?? ctx.params.slot);
        return {
          kind: 'fn',
          describe: `${describeAction({ kind: 'sql', text: DROP_SQL, values: [slot] })}, after re-checking just before that the slot is still there, inactive, and the one step 1 read`,
          run: async (io) => {
            const s = await server(io);
            const row = await readSlot(io, slot, s);
            if (!row) throw new Error(`slot ${slot} is gone already (dropped since step 1 read it): nothing dropped`);
            if (row.active === true) refuseActive(slot, row);
            const type = ctx.values.slotType as string | undefined;
            const db = ctx.values.slotDatabase as string | null | undefined;
            if ((type !== undefined && String(row.slot_type) !== type) || (db !== undefined && (row.database === null ? null : String(row.database)) !== db)) {
              throw new Error(`slot ${slot} is now a ${String(row.slot_type)} slot${row.database ? ` on ${String(row.database)}` : ''}, not the one step 1 read (recreated since): not dropped`);
            }
            if (ctx.values.restartLsn !== undefined && (row.restart_lsn ?? null) !== ctx.values.restartLsn) {
              io.log(`restart_lsn moved since step 1 (${String(ctx.values.restartLsn)} -> ${String(row.restart_lsn)}): the slot was used in between`, 'info');
            }
            await io.sql(DROP_SQL, [slot]);
            const retained = row.retained === null || row.retained === undefined ? null : Math.max(0, Number(row.retained));
            io.log(`slot ${slot} dropped${retained === null ? '' : `; the ${formatBytes(retained)} of WAL it held can be removed at the next checkpoint`}`);
            return { dropped: slot, releasedBytes: retained };
          },
        };
      },
    },
  ],
};

