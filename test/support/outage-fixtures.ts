// The outage checks (issue 10 §2) added to a fixture state, built by hand as fixtures.ts builds
// its checks (not by src/health), so the screen tests do not depend on the rules.
import type { Check, CheckGroup, CheckRow, MonitorState, Status } from '../../src/types';
import type { PgOutages } from '../../src/types-outages';
import { reportOf } from './fixtures';

function check(id: string, group: CheckGroup, status: Status, summary: string, subject: string | null, value: number | null, rows: CheckRow[] = [], hint?: string): Check {
  return { id, group, label: id, status, summary, value, unit: '', thresholds: null, subject, rows, ...(hint ? { hint } : {}) };
}

export interface OutageKnobs {
  /** pg.archiver failing (CRITICAL) */
  archiver?: boolean;
  /** an inactive slot retaining WAL (WARNING) */
  slot?: boolean;
  /** autovacuum off (CRITICAL) */
  autovacuumOff?: boolean;
  /** a repeatable-read session holding back public.orders's dead rows (WARNING) */
  xminHeld?: boolean;
  /** an invalid _ccnew index (CRITICAL) */
  invalid?: boolean;
  /** an int4 sequence at 93 % (CRITICAL) */
  sequence?: boolean;
  /** a never-analyzed table (WARNING) */
  neverAnalyzed?: boolean;
  /** pg.xmin_horizon UNKNOWN for want of pg_read_all_stats */
  noMonitor?: boolean;
}

const ALL: OutageKnobs = { archiver: true, slot: true, autovacuumOff: true, xminHeld: true, invalid: true, sequence: true, neverAnalyzed: true };

/** The state with the outage checks added (all of them found wanting, unless knobs say which). */
export function withOutages(state: MonitorState, knobs: OutageKnobs = ALL): MonitorState {
  const checks: Check[] = [...(state.report?.checks ?? [])].map((c) => ({ ...c, rows: c.rows?.map((r) => ({ ...r })) }));
  const add = (c: Check) => checks.push(c);
  add(
    knobs.archiver
      ? check('pg.archiver', 'postgres', 'CRITICAL', 'WAL archiver failing: 00000001000000000000002A failed 12s ago (9 failures), last success 2h00m ago, 14 WAL files waiting', 'wal 00000001000000000000002A', 14,
          [{ subject: 'wal 00000001000000000000002A', status: 'CRITICAL', value: 14, text: 'WAL archiver failing', object: { kind: 'archiver', wal: '00000001000000000000002A' } }],
          'archive_command is failing: its error is in the server log')
      : check('pg.archiver', 'postgres', 'OK', 'WAL archiver 0 WAL files waiting, last archived 000000010000000000000029 1m00s ago', 'archiver', 0),
  );
  add(
    knobs.slot
      ? check('pg.replication_slots', 'postgres', 'WARNING', 'slot old_standby (physical): inactive, 3.2 GB of WAL retained, 12.0% of the room WAL has on /var (23 GB free)', 'slot old_standby', 3.2 * 1024 ** 3, [
          { subject: 'slot old_standby', status: 'WARNING', value: 3.2 * 1024 ** 3, text: 'slot old_standby (physical): inactive, 3.2 GB of WAL retained', object: { kind: 'slot', slot: 'old_standby', slotType: 'physical', database: null } },
        ])
      : check('pg.replication_slots', 'postgres', 'OK', 'no replication slots', null, 0),
  );
  add(
    knobs.autovacuumOff
      ? check('pg.autovacuum', 'postgres', 'CRITICAL', 'autovacuum is off for the server (autovacuum = off)', 'autovacuum', 0, [
          { subject: 'autovacuum', status: 'CRITICAL', value: null, text: 'autovacuum is off for the server (autovacuum = off)', object: { kind: 'setting', name: 'autovacuum' } },
          { subject: 'public.events', status: 'WARNING', value: 90_000, text: 'public.events has autovacuum_enabled = false, 90k dead rows', object: { kind: 'table', schema: 'public', table: 'events' } },
        ], 'set autovacuum = on')
      : check('pg.autovacuum', 'postgres', 'OK', 'autovacuum on, 1 of 3 workers busy', null, 1),
  );
  const holder = 'pid 7373 (app@10.0.0.9 in app, idle in transaction, transaction open 25m00s)';
  add(
    knobs.noMonitor
      ? check('pg.xmin_horizon', 'postgres', 'UNKNOWN', "other roles' sessions and standbys are not visible: needs pg_read_all_stats (part of pg_monitor); nothing holds the xmin horizon back", null, 0)
      : knobs.xminHeld
        ? check('pg.xmin_horizon', 'postgres', 'WARNING', `xmin horizon 42k transactions old, held by ${holder}; public.orders: 80k dead rows, vacuum cannot remove them: held back by ${holder}`, 'pid 7373', 42_000, [
            { subject: 'pid 7373', status: 'WARNING', value: 42_000, text: `${holder} holds the xmin horizon`, object: { kind: 'session', pid: 7373, backendStart: null, database: 'app', user: 'app' } },
            { subject: 'public.orders', status: 'WARNING', value: 80_000, text: 'public.orders: 80k dead rows', object: { kind: 'table', schema: 'public', table: 'orders' }, vacuum: { removable: 'held', heldBy: holder } },
          ])
        : check('pg.xmin_horizon', 'postgres', 'OK', 'nothing holds the xmin horizon back', null, 0),
  );
  add(check('pg.prepared_xacts', 'postgres', 'OK', 'no prepared transactions', null, 0));
  add(check('pg.mxid_age', 'postgres', 'OK', 'multixact ID age 1.2M in app (0.3% of autovacuum_multixact_freeze_max_age 400.0M)', 'app', 1_200_000));
  add(
    knobs.invalid
      ? check('indexes.invalid', 'tables', 'CRITICAL', 'public.orders_status_idx_ccnew on orders: a leftover of a failed REINDEX CONCURRENTLY (_ccnew): drop it', 'public.orders_status_idx_ccnew', 1, [
          { subject: 'public.orders_status_idx_ccnew', status: 'CRITICAL', value: null, text: 'public.orders_status_idx_ccnew on orders: a leftover of a failed REINDEX CONCURRENTLY (_ccnew): drop it', object: { kind: 'index', schema: 'public', table: 'orders', index: 'orders_status_idx_ccnew' } },
        ])
      : check('indexes.invalid', 'tables', 'OK', 'no invalid index', null, 0),
  );
  add(
    knobs.sequence
      ? check('sequences.exhaustion', 'tables', 'CRITICAL', 'public.orders_id_seq 93.1% used: at 2000000000 of its maximum 2147483647, feeds integer column public.orders.id (serial)', 'public.orders_id_seq', 93.1, [
          { subject: 'public.orders_id_seq', status: 'CRITICAL', value: 93.1, text: 'public.orders_id_seq 93.1% used: at 2000000000 of its maximum 2147483647, feeds integer column public.orders.id (serial)', object: { kind: 'sequence', schema: 'public', sequence: 'orders_id_seq', column: { schema: 'public', table: 'orders', column: 'id', type: 'integer' } } },
        ])
      : check('sequences.exhaustion', 'tables', 'OK', '3 sequences, the most used public.a_seq 0.1% used', 'public.a_seq', 0.1),
  );
  add(
    knobs.neverAnalyzed
      ? check('tables.never_analyzed', 'tables', 'WARNING', 'public.imports never analyzed (by hand or by autovacuum), 52k rows', 'public.imports', 52_000, [
          { subject: 'public.imports', status: 'WARNING', value: 52_000, text: 'public.imports never analyzed (by hand or by autovacuum), 52k rows', object: { kind: 'table', schema: 'public', table: 'imports' } },
        ])
      : check('tables.never_analyzed', 'tables', 'OK', 'every table with rows has been analyzed', null, 0),
  );
  // the dead-tuple rows the rules complete: whether vacuum can remove them
  const dead = checks.find((c) => c.id === 'tables.dead_tuples');
  for (const r of dead?.rows ?? []) {
    if (r.status === 'OK') continue;
    r.vacuum = knobs.xminHeld ? { removable: 'held', heldBy: holder } : { removable: 'now', heldBy: null };
  }
  // the settings the overview's freeze shares are taken against
  const snap = state.snapshot;
  let snapshot = snap;
  if (snap?.postgres?.ok) {
    const data = { ...snap.postgres.data, outages: outagesData() };
    snapshot = { ...snap, postgres: { ...snap.postgres, data } };
  }
  return { ...state, snapshot, report: reportOf(checks, state.report?.at) };
}

/** Probe data under the hand-built checks (the panels read only its settings). */
function outagesData(): PgOutages {
  return {
    access: { superuser: true, readAllStats: true, readAllSettings: true, listArchiveStatus: true },
    settings: { autovacuum: true, trackCounts: true, autovacuumMaxWorkers: 3, freezeMaxAge: 200_000_000, multixactFreezeMaxAge: 400_000_000, archiveMode: 'on' },
    walDir: { path: '/var/lib/postgresql/16/main/pg_wal' },
    slots: [],
    archiver: null,
    xminHolders: [],
    prepared: { total: 0, oldest: [] },
    autovacuumWorkers: [],
    autovacuumDisabled: [],
    databases: [],
    invalidIndexes: [],
    slow: null,
    sequences: null,
  };
}
