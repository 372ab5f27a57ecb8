// Rules for the checks behind real outages (issue 10, section 2): judged from what
// src/probes/pg-outages.ts read. Pure functions; every threshold comes from the configuration.
//
//   pg.replication_slots  pg.archiver  pg.xmin_horizon  pg.prepared_xacts  pg.autovacuum
//   pg.mxid_age           tables.never_analyzed  indexes.invalid  sequences.exhaustion
//
// Each check names its object (subject) and judges each object on its own (rows, with the object's
// identity for a fix). A role that cannot see what a check needs gets UNKNOWN, naming the
// privilege, unless what it could see is already a finding.
import type { Thresholds } from '../config/schema';
import type { Check, CheckGroup, CheckRow, Filesystem, PgData, PgTable, Snapshot, Status } from '../types';
import type { PgOutages, PgXminHolder, VacuumVerdict } from '../types-outages';
import { formatBytes, formatCount, formatDuration, truncate } from '../util/format';
import { worst, worstFirst } from './status';

type Pair = { warning: number; critical: number };

interface Init {
  id: string;
  group: CheckGroup;
  label: string;
  unit: string;
}

/** Every outage check, in the order they are listed. */
export const OUTAGE_CHECKS: readonly Init[] = [
  { id: 'pg.replication_slots', group: 'postgres', label: 'replication slots', unit: 'B' },
  { id: 'pg.archiver', group: 'postgres', label: 'WAL archiver', unit: '' },
  { id: 'pg.xmin_horizon', group: 'postgres', label: 'xmin horizon', unit: '' },
  { id: 'pg.prepared_xacts', group: 'postgres', label: 'prepared transactions', unit: 's' },
  { id: 'pg.autovacuum', group: 'postgres', label: 'autovacuum', unit: '' },
  { id: 'pg.mxid_age', group: 'postgres', label: 'multixact age', unit: '' },
  { id: 'tables.never_analyzed', group: 'tables', label: 'never analyzed', unit: '' },
  { id: 'indexes.invalid', group: 'tables', label: 'invalid indexes', unit: '' },
  { id: 'sequences.exhaustion', group: 'tables', label: 'sequences', unit: '%' },
];
const INIT = Object.fromEntries(OUTAGE_CHECKS.map((c) => [c.id, c])) as Record<string, Init>;

/**
 * A holder that began after a table's last vacuum (so some of its dead rows can go) is named only
 * once it has held this long: a statement running now is not worth a word.
 */
export const HOLDER_MIN_SEC = 60;

const PG_MONITOR_STATS = 'pg_read_all_stats (part of pg_monitor)';

function judge(value: number, t: Pair): Status {
  return value >= t.critical ? 'CRITICAL' : value >= t.warning ? 'WARNING' : 'OK';
}

function check(init: Init, status: Status, summary: string, value: number | null, subject: string | null, extra: Partial<Check> = {}): Check {
  return { ...init, status, summary, value, thresholds: null, subject, ...extra };
}

function measuredCheck(init: Init, status: Status, summary: string, value: number, t: Pair, subject: string | null, rows: CheckRow[], hint?: string): Check {
  return { ...init, status, summary, value, thresholds: { warning: t.warning, critical: t.critical, direction: 'above' }, subject, rows, ...(hint ? { hint } : {}) };
}

const pct1 = (n: number) => `${n.toFixed(1)}%`;
/** whitespace folded, trailing semicolons dropped (the plugin line joins summaries with "; ") */
const queryText = (q: string, max: number) => truncate(q.replace(/\s+/g, ' ').replace(/[\s;]+$/, '').trim(), max);
const worstRow = (rows: CheckRow[]) => [...rows].sort((a, b) => worstFirst(a.status, b.status))[0];
const bad = (s: Status) => s === 'WARNING' || s === 'CRITICAL';

/**
 * Adds the outage checks the selected groups hold to `checks`, and completes pg.xid_age (its
 * share of autovacuum_freeze_max_age, the oldest table) and the dead-tuple rows (whether vacuum
 * can remove them) when those are there. Nothing when the probe did not read them.
 */
export function addOutageChecks(checks: Check[], snap: Snapshot, th: Thresholds, want: (g: CheckGroup) => boolean): void {
  const pgr = snap.postgres;
  if (!pgr) return;
  const inits = OUTAGE_CHECKS.filter((c) => want(c.group));
  if (!pgr.ok) {
    for (const i of inits) checks.push(check(i, 'UNKNOWN', 'database unavailable', null, null));
    return;
  }
  const pg = pgr.data;
  const o = pg.outages;
  if (!o) return;
  if ('error' in o) {
    for (const i of inits) checks.push(check(i, 'UNKNOWN', o.error, null, null));
    return;
  }
  const host = snap.host.ok ? snap.host.data.filesystems : null;
  const holders = relevantHolders(o, pg);
  const vacuum = vacuumVerdicts(pg, th, holders, snap.postgres?.at ?? snap.at);
  for (const i of inits) {
    switch (i.id) {
      case 'pg.replication_slots':
        checks.push(slotsCheck(o, th, host, pg.inRecovery));
        break;
      case 'pg.archiver':
        checks.push(archiverCheck(o, th, pg.inRecovery));
        break;
      case 'pg.xmin_horizon':
        checks.push(xminCheck(o, th, pg, vacuum));
        break;
      case 'pg.prepared_xacts':
        checks.push(preparedCheck(o, th));
        break;
      case 'pg.autovacuum':
        checks.push(autovacuumCheck(o, th, pg.inRecovery));
        break;
      case 'pg.mxid_age':
        checks.push(mxidCheck(o, th, pg));
        break;
      case 'tables.never_analyzed':
        checks.push(neverAnalyzedCheck(o, th));
        break;
      case 'indexes.invalid':
        checks.push(invalidIndexesCheck(o));
        break;
      case 'sequences.exhaustion':
        checks.push(sequencesCheck(o, th));
        break;
    }
  }
  // the existing checks these complete
  const xid = checks.find((c) => c.id === 'pg.xid_age');
  if (xid && xid.status !== 'UNKNOWN') xid.summary += xidDetail(o, pg, xid.subject);
  const dead = checks.find((c) => c.id === 'tables.dead_tuples');
  for (const r of dead?.rows ?? []) {
    const v = vacuum.get(r.subject);
    if (v) r.vacuum = v.verdict;
  }
}

// ---------------------------------------------------------------- pg.replication_slots

/** The filesystem holding a path: the longest mount point it lies under. */
export function filesystemOf(p: string, filesystems: Filesystem[]): Filesystem | null {
  let best: Filesystem | null = null;
  for (const fs of filesystems) {
    const m = fs.mount;
    const under = m === '/' || p === m || p.startsWith(`${m}/`);
    if (under && (!best || m.length > best.mount.length)) best = fs;
  }
  return best;
}

function slotsCheck(o: PgOutages, th: Thresholds, filesystems: Filesystem[] | null, standby: boolean): Check {
  const init = INIT['pg.replication_slots'];
  const t = th.slotRetainedBytes;
  if (o.slots.length === 0) return measuredCheck(init, 'OK', 'no replication slots', 0, t, null, []);
  // the free space of pg_wal's filesystem, when the server runs on this host and says where
  let fs: Filesystem | null = null;
  let fsNote = '';
  if (o.walDir.path === null) fsNote = `free space of pg_wal's filesystem not known: ${o.walDir.reason}`;
  else if (!filesystems) fsNote = "free space of pg_wal's filesystem not known: the host probe has not answered";
  else {
    fs = filesystemOf(o.walDir.path, filesystems);
    if (!fs) fsNote = `free space of pg_wal's filesystem not known: no filesystem listed for ${o.walDir.path}`;
  }
  const rows: CheckRow[] = o.slots.map((sl) => {
    const statuses: Status[] = [];
    const what: string[] = [];
    const retained = sl.retainedBytes;
    if (retained !== null) {
      statuses.push(judge(retained, t));
      let share = '';
      if (fs) {
        const p = (100 * retained) / Math.max(1, retained + fs.availBytes);
        statuses.push(judge(p, th.slotRetainedFreePct));
        share = `, ${pct1(p)} of the room WAL has on ${fs.mount} (${formatBytes(fs.availBytes)} free)`;
      }
      what.push(`${formatBytes(retained)} of WAL retained${share}`);
    } else what.push('no WAL reserved');
    if (sl.walStatus === 'lost' || sl.walStatus === 'unreserved') {
      statuses.push('CRITICAL');
      what.push(
        sl.walStatus === 'lost'
          ? `wal_status lost${sl.invalidationReason ? ` (${sl.invalidationReason})` : ''}: the WAL its consumer needs is gone`
          : 'wal_status unreserved: past max_slot_wal_keep_size, its WAL goes at the next checkpoint',
      );
    } else if (sl.safeWalBytes !== null) what.push(`${formatBytes(Math.max(0, sl.safeWalBytes))} more before it is lost`);
    if (!sl.active) {
      statuses.push('WARNING');
      what.unshift(sl.inactiveSec !== null ? `inactive for ${formatDuration(sl.inactiveSec)}` : 'inactive');
    }
    const status = worst(statuses);
    const kind = `${sl.type}${sl.database ? ` in ${sl.database}` : ''}${sl.temporary ? ', temporary' : ''}`;
    const row: CheckRow = {
      subject: `slot ${sl.name}`,
      status,
      value: retained,
      text: `slot ${sl.name} (${kind}): ${what.join(', ')}`,
      object: { kind: 'slot', slot: sl.name, slotType: sl.type, database: sl.database },
    };
    if (sl.walStatus === 'lost') {
      row.hint = `its consumer cannot resume from it: drop it, then rebuild the ${sl.type === 'logical' ? 'subscription' : 'standby'} from a fresh copy`;
    }
    return row;
  });
  const maxRetained = Math.max(0, ...o.slots.map((s) => s.retainedBytes ?? 0));
  const flagged = rows.filter((r) => bad(r.status));
  const top = worstRow(rows);
  const status = worst(rows.map((r) => r.status));
  let summary: string;
  if (flagged.length === 0) {
    summary = `${o.slots.length} replication slot${o.slots.length === 1 ? '' : 's'}, most WAL retained ${formatBytes(maxRetained)}${standby ? ' (standby)' : ''}`;
  } else if (flagged.length === 1) summary = top.text!;
  else summary = `${flagged.length} replication slots need attention: ${flagged.map((r) => r.text).join('; ')}`;
  if (fsNote && flagged.length === 0) summary += ` (${fsNote})`;
  return measuredCheck(init, status, summary, maxRetained, t, flagged.length ? top.subject : null, rows, top.hint);
}

// ---------------------------------------------------------------- pg.archiver

const ARCHIVER_HINT =
  "archive_command (or archive_library) is failing: its error is in the server log (\"archived transaction log file\" / \"archive command failed\"); " +
  'check the archive destination is mounted, writable and not full, then run the command by hand as the server user. ' +
  "Until it succeeds every WAL file stays in pg_wal, so pg_wal's disk fills";

function archiverCheck(o: PgOutages, th: Thresholds, standby: boolean): Check {
  const init = INIT['pg.archiver'];
  const a = o.archiver;
  const mode = o.settings.archiveMode;
  if (!a) return check(init, 'OK', 'WAL archiving is off (archive_mode = off)', null, null);
  if (standby && mode !== 'always') return check(init, 'OK', `standby: archive_mode = ${mode} archives on the primary only`, null, null);
  const t = th.archiveWaitingFiles;
  const statuses: Status[] = [];
  const parts: string[] = [];
  const when = (sec: number | null) => (sec === null ? 'never' : `${formatDuration(sec)} ago`);
  if (a.failing) {
    statuses.push('CRITICAL');
    parts.push(`failing: ${a.lastFailedWal ?? '?'} failed ${when(a.lastFailedAgeSec)} (${formatCount(a.failedCount)} failures), last success ${when(a.lastArchivedAgeSec)}`);
  } else if (a.failuresSinceLastRound) {
    statuses.push('WARNING');
    parts.push(`${a.failuresSinceLastRound} failure${a.failuresSinceLastRound === 1 ? '' : 's'} since the last round (the last on ${a.lastFailedWal ?? '?'}), then archived`);
  }
  if (a.waitingFiles !== null) {
    statuses.push(judge(a.waitingFiles, t));
    const oldest = a.oldestWaitingAgeSec !== null && a.waitingFiles > 0 ? `, the oldest ready ${formatDuration(a.oldestWaitingAgeSec)} ago` : '';
    const how = a.waitingCounted ? '' : ' (estimated from WAL positions; counting them needs pg_monitor)';
    parts.push(`${formatCount(a.waitingFiles)} WAL file${a.waitingFiles === 1 ? '' : 's'} waiting${oldest}${how}`);
  }
  if (!a.failing) parts.push(`last archived ${a.lastArchivedWal ?? 'none'} ${a.lastArchivedAgeSec === null ? '' : when(a.lastArchivedAgeSec)}`.trim());
  const status = worst(statuses);
  const summary = `WAL archiver ${parts.join(', ')}`;
  const row: CheckRow = {
    subject: a.failing && a.lastFailedWal ? `wal ${a.lastFailedWal}` : 'archiver',
    status,
    value: a.waitingFiles,
    text: summary,
    object: { kind: 'archiver', wal: a.failing ? a.lastFailedWal : null },
    ...(bad(status) ? { hint: ARCHIVER_HINT } : {}),
  };
  return {
    ...init,
    status,
    summary,
    value: a.waitingFiles,
    thresholds: { warning: t.warning, critical: t.critical, direction: 'above' },
    subject: row.subject,
    rows: [row],
    ...(bad(status) ? { hint: ARCHIVER_HINT } : {}),
  };
}

// ---------------------------------------------------------------- pg.xmin_horizon

function holderSubject(h: PgXminHolder): string {
  switch (h.kind) {
    case 'session':
      return `pid ${h.pid}`;
    case 'prepared':
      return `prepared ${h.name}`;
    case 'slot':
      return `slot ${h.name}`;
    case 'standby':
      return `standby ${h.name || h.client || h.pid}`;
  }
}

/** "pid 4242 (app@10.0.0.7 in shop, idle in transaction, transaction open 12m03s)" */
export function holderText(h: PgXminHolder): string {
  switch (h.kind) {
    case 'session': {
      const held = h.heldSec !== null ? `, transaction open ${formatDuration(h.heldSec)}` : '';
      return `pid ${h.pid} (${h.user ?? '?'}@${h.client ?? '?'} in ${h.database ?? '?'}, ${h.state ?? 'no state'}${held})`;
    }
    case 'prepared':
      return `prepared transaction ${h.name} (in ${h.database ?? '?'}, by ${h.user ?? '?'}, ${formatDuration(h.heldSec ?? 0)} old)`;
    case 'slot':
      return `slot ${h.name} (${h.catalogOnly ? 'its catalog_xmin: the system catalogs only' : 'its xmin, from a standby'}${h.pid === null ? ', inactive' : ''})`;
    case 'standby':
      return `standby ${h.name || '?'} (${h.client ?? '?'}) through hot_standby_feedback`;
  }
}

const STANDBY_HINT =
  'a query on that standby holds it back through hot_standby_feedback: look for long queries there; turning feedback off trades this for queries cancelled on the standby';

/** The holders of the horizon for the target database's tables (catalog-only ones aside), oldest first. */
function relevantHolders(o: PgOutages, pg: PgData): PgXminHolder[] {
  return o.xminHolders.filter((h) => !h.catalogOnly && (h.database === null || h.database === pg.database));
}

function lastVacuumMs(t: PgTable): number | null {
  const xs = [t.lastVacuum, t.lastAutovacuum].map((x) => (x ? Date.parse(x) : NaN)).filter((x) => Number.isFinite(x));
  return xs.length ? Math.max(...xs) : null;
}

/**
 * For each table with many dead rows (at least deadTuplesMin, and a share at the warning
 * threshold): can vacuum remove them now? Dead rows stay while a snapshot older than their
 * deletion is held. So they are held back when the oldest holder began before the table's last
 * vacuum (that vacuum had to leave them), or the horizon is old (xminHorizonAge's warning);
 * partly, when the holder began after the last vacuum (rows deleted since stay) and has held for
 * HOLDER_MIN_SEC; otherwise vacuum can remove them now.
 */
export function vacuumVerdicts(pg: PgData, th: Thresholds, holders: PgXminHolder[], at: number): Map<string, { table: PgTable; verdict: VacuumVerdict; holder: PgXminHolder | null }> {
  const out = new Map<string, { table: PgTable; verdict: VacuumVerdict; holder: PgXminHolder | null }>();
  if (pg.inRecovery) return out; // vacuum runs on the primary
  const h = holders[0] ?? null;
  for (const t of pg.tables) {
    if (t.deadTuples < th.deadTuplesMin || t.deadPct < th.deadTuplesPct.warning) continue;
    let removable: VacuumVerdict['removable'] = 'now';
    if (h) {
      const since = h.heldSec !== null ? at - h.heldSec * 1000 : null;
      const vac = lastVacuumMs(t);
      if ((since !== null && vac !== null && since <= vac) || h.age >= th.xminHorizonAge.warning) removable = 'held';
      else if (h.heldSec !== null && h.heldSec >= HOLDER_MIN_SEC) removable = 'partly';
    }
    out.set(`${t.schema}.${t.name}`, { table: t, verdict: { removable, heldBy: removable === 'now' || !h ? null : holderText(h) }, holder: removable === 'now' ? null : h });
  }
  return out;
}

/** "held back by pid 4242 (…)", for a table's row. */
export function vacuumText(v: VacuumVerdict): string {
  if (v.removable === 'now') return 'vacuum can remove them now';
  if (v.removable === 'held') return `vacuum cannot remove them: held back by ${v.heldBy}`;
  return `vacuum can remove only those deleted before ${v.heldBy} began`;
}

function xminCheck(o: PgOutages, th: Thresholds, pg: PgData, vacuum: ReturnType<typeof vacuumVerdicts>): Check {
  const init = INIT['pg.xmin_horizon'];
  const t = th.xminHorizonAge;
  const rows: CheckRow[] = o.xminHolders.map((h) => ({
    subject: holderSubject(h),
    status: judge(h.age, t),
    value: h.age,
    text: `${holderText(h)} holds the xmin horizon ${formatCount(h.age)} transactions back${h.query ? `: ${queryText(h.query, 80)}` : ''}`,
    object:
      h.kind === 'session'
        ? { kind: 'session', pid: h.pid ?? 0, backendStart: h.backendStart, database: h.database, user: h.user }
        : h.kind === 'prepared'
          ? { kind: 'prepared', gid: h.name ?? '', database: h.database ?? '', owner: h.user ?? '' }
          : h.kind === 'slot'
            ? { kind: 'slot', slot: h.name ?? '', slotType: h.catalogOnly ? 'logical' : 'physical', database: h.database }
            : { kind: 'standby', pid: h.pid ?? 0, application: h.application ?? '', client: h.client ?? '' },
    ...(h.kind === 'standby' ? { hint: STANDBY_HINT } : {}),
  }));
  // the tables whose dead rows it keeps
  const held: CheckRow[] = [];
  for (const [subject, v] of vacuum) {
    if (v.verdict.removable === 'now') continue;
    held.push({
      subject,
      status: v.verdict.removable === 'held' ? 'WARNING' : 'OK',
      value: v.table.deadTuples,
      text: `${subject}: ${formatCount(v.table.deadTuples)} dead rows, ${vacuumText(v.verdict)}`,
      object: { kind: 'table', schema: v.table.schema, table: v.table.name },
      vacuum: v.verdict,
    });
  }
  // a held-back table makes its holder's row a finding too
  for (const hr of held) {
    const v = vacuum.get(hr.subject);
    const r = v?.holder ? rows.find((x) => x.subject === holderSubject(v.holder!)) : undefined;
    if (r && hr.status === 'WARNING' && r.status === 'OK') r.status = 'WARNING';
  }
  const all = [...rows, ...held];
  const oldest = o.xminHolders.find((h) => !h.catalogOnly) ?? o.xminHolders[0] ?? null;
  const value = oldest?.age ?? 0;
  let status = worst(all.map((r) => r.status));
  const heldTables = held.filter((r) => r.status === 'WARNING');
  let summary: string;
  if (!oldest) summary = 'nothing holds the xmin horizon back';
  else {
    summary = `xmin horizon ${formatCount(oldest.age)} transactions old, held by ${holderText(oldest)}`;
    if (oldest.query) summary += `: ${queryText(oldest.query, 50)}`;
  }
  if (heldTables.length) summary += `; ${heldTables.length === 1 ? heldTables[0].text : `${heldTables.length} tables' dead rows held back, the most in ${heldTables.sort((a, b) => (b.value ?? 0) - (a.value ?? 0))[0].subject}`}`;
  const top = worstRow(rows);
  let subject = oldest ? holderSubject(oldest) : null;
  if (top && bad(top.status)) subject = top.subject;
  if (!o.access.readAllStats && !bad(status)) {
    status = 'UNKNOWN';
    summary = `other roles' sessions and standbys are not visible: needs ${PG_MONITOR_STATS}; ${summary}`;
  }
  if (pg.inRecovery && oldest) summary += ' (standby: with hot_standby_feedback on, this holds back the primary too)';
  return measuredCheck(init, status, summary, value, t, subject, all, top && bad(top.status) ? top.hint : undefined);
}

// ---------------------------------------------------------------- pg.prepared_xacts

function preparedCheck(o: PgOutages, th: Thresholds): Check {
  const init = INIT['pg.prepared_xacts'];
  const t = th.preparedXactSec;
  const list = o.prepared.oldest;
  const rows: CheckRow[] = list.map((p) => ({
    subject: `prepared ${p.gid}`,
    status: judge(p.ageSec, t),
    value: p.ageSec,
    text: `prepared transaction ${p.gid} in ${p.database} by ${p.owner}, ${formatDuration(p.ageSec)} old (xid age ${formatCount(p.xidAge)})`,
    object: { kind: 'prepared', gid: p.gid, database: p.database, owner: p.owner },
  }));
  if (rows.length === 0) return measuredCheck(init, 'OK', 'no prepared transactions', 0, t, null, []);
  const first = list[0];
  const n = o.prepared.total;
  const summary = n === 1 ? rows[0].text! : `${n} prepared transactions, the oldest ${rows[0].text}`;
  return measuredCheck(init, worst(rows.map((r) => r.status)), summary, first.ageSec, t, `prepared ${first.gid}`, rows);
}

// ---------------------------------------------------------------- pg.autovacuum

const AUTOVACUUM_OFF_HINT =
  'autovacuum is off for the server: set autovacuum = on (postgresql.conf, or ALTER SYSTEM SET autovacuum = on) and reload; ' +
  'until then nothing is vacuumed or analyzed on its own, and only vacuums that prevent wraparound still run';
const TRACK_COUNTS_HINT =
  'track_counts is off: autovacuum cannot tell which tables need it. Set track_counts = on and reload';
const TABLE_OFF_HINT = 'autovacuum_enabled = false on this table: ALTER TABLE ... RESET (autovacuum_enabled) gives it back to autovacuum';
const BUSY_HINT =
  'every autovacuum worker is busy: tables wait their turn. Look at what they work on (large tables, a held-back xmin horizon making them repeat), ' +
  'and at autovacuum_max_workers, autovacuum_vacuum_cost_limit and per-table settings';
const WRAPAROUND_HINT = 'a vacuum to prevent transaction ID wraparound: let it finish (cancelling it only starts it again); see pg.xid_age and pg.mxid_age';

function autovacuumCheck(o: PgOutages, th: Thresholds, standby: boolean): Check {
  const init = INIT['pg.autovacuum'];
  const s = o.settings;
  const workers = o.autovacuumWorkers;
  if (standby) return check(init, 'OK', 'standby: autovacuum runs on the primary', workers.length, null);
  const rows: CheckRow[] = [];
  if (!s.autovacuum) {
    rows.push({ subject: 'autovacuum', status: 'CRITICAL', value: null, text: 'autovacuum is off for the server (autovacuum = off)', object: { kind: 'setting', name: 'autovacuum' }, hint: AUTOVACUUM_OFF_HINT });
  }
  if (!s.trackCounts) {
    rows.push({ subject: 'track_counts', status: 'CRITICAL', value: null, text: 'track_counts is off: autovacuum cannot see what needs vacuuming', object: { kind: 'setting', name: 'track_counts' }, hint: TRACK_COUNTS_HINT });
  }
  for (const d of o.autovacuumDisabled) {
    const many = d.deadTuples >= th.deadTuplesMin;
    rows.push({
      subject: `${d.schema}.${d.name}`,
      status: many ? 'WARNING' : 'OK',
      value: d.deadTuples,
      text: `${d.schema}.${d.name} has autovacuum_enabled = false, ${formatCount(d.deadTuples)} dead rows`,
      object: { kind: 'table', schema: d.schema, table: d.name },
      hint: TABLE_OFF_HINT,
    });
  }
  const max = s.autovacuumMaxWorkers;
  if (max > 0 && workers.length >= max) {
    // all have been busy at least as long as the youngest of them has run
    const times = workers.map((w) => w.runningSec);
    const since = times.every((x) => x !== null) ? Math.min(...(times as number[])) : null;
    rows.push({
      subject: 'autovacuum workers',
      status: since === null ? 'UNKNOWN' : judge(since, th.autovacuumBusySec),
      value: since,
      text:
        since === null
          ? `all ${max} autovacuum workers busy (for how long needs ${PG_MONITOR_STATS})`
          : `all ${max} autovacuum workers busy for at least ${formatDuration(since)}`,
      object: { kind: 'setting', name: 'autovacuum_max_workers' },
      hint: BUSY_HINT,
    });
  }
  for (const w of workers) {
    if (!w.wraparound) continue;
    const table = w.schema && w.table ? `${w.schema}.${w.table}` : null;
    rows.push({
      subject: table ?? `pid ${w.pid}`,
      status: 'WARNING',
      value: w.runningSec,
      text: `anti-wraparound vacuum of ${table ?? (w.query ?? '').replace(/^autovacuum: /, '')} in ${w.database ?? '?'}${w.runningSec !== null ? ` running ${formatDuration(w.runningSec)}` : ''} (pid ${w.pid})`,
      object: table ? { kind: 'table', schema: w.schema!, table: w.table! } : { kind: 'session', pid: w.pid, backendStart: null, database: w.database, user: null },
      hint: WRAPAROUND_HINT,
    });
  }
  let status = worst(rows.map((r) => r.status));
  const flagged = rows.filter((r) => bad(r.status) || r.status === 'UNKNOWN').sort((a, b) => worstFirst(a.status, b.status));
  let summary =
    flagged.length === 0
      ? `autovacuum on, ${workers.length} of ${max} workers busy`
      : flagged.length === 1
        ? flagged[0].text!
        : `${flagged[0].text}; and ${flagged.length - 1} more: ${flagged
            .slice(1)
            .map((r) => r.subject)
            .join(', ')}`;
  if (!o.access.readAllStats && !bad(status)) {
    status = 'UNKNOWN';
    summary = `what the workers do (anti-wraparound vacuums, how long) is not visible: needs ${PG_MONITOR_STATS}; ${summary}`;
  }
  const top = flagged[0];
  return check(init, status, summary, workers.length, top ? top.subject : null, { rows, ...(top?.hint && bad(top.status) ? { hint: top.hint } : {}) });
}

// ---------------------------------------------------------------- pg.mxid_age, pg.xid_age's detail

function shareOf(age: number, max: number): string {
  return max > 0 ? `${pct1((100 * age) / max)} of ` : '';
}

function mxidCheck(o: PgOutages, th: Thresholds, pg: PgData): Check {
  const init = INIT['pg.mxid_age'];
  const t = th.mxidAge;
  const rows: CheckRow[] = o.databases.map((d) => ({
    subject: d.database,
    status: judge(d.mxidAge, t),
    value: d.mxidAge,
    text: `${d.database}: multixact ID age ${formatCount(d.mxidAge)}`,
    object: { kind: 'database', database: d.database },
  }));
  const oldest = o.databases[0];
  if (!oldest) return check(init, 'UNKNOWN', 'no database reported a multixact age', null, null);
  const max = o.settings.multixactFreezeMaxAge;
  let summary = `multixact ID age ${formatCount(oldest.mxidAge)} in ${oldest.database} (${shareOf(oldest.mxidAge, max)}autovacuum_multixact_freeze_max_age ${formatCount(max)})`;
  const slow = o.slow && !('error' in o.slow) ? o.slow : null;
  if (slow?.oldestMxidTable && slow.oldestMxidTable.age > 0) summary += `; oldest table in ${pg.database}: ${tableName(slow.oldestMxidTable)} (${formatCount(slow.oldestMxidTable.age)})`;
  return measuredCheck(init, worst(rows.map((r) => r.status)), summary, oldest.mxidAge, t, oldest.database, rows);
}

function tableName(t: { schema: string; name: string; toastOf: string | null }): string {
  return t.toastOf ? `${t.toastOf} (its TOAST table ${t.schema}.${t.name})` : `${t.schema}.${t.name}`;
}

/** What pg.xid_age's summary gains: its share of autovacuum_freeze_max_age, the oldest table here. */
function xidDetail(o: PgOutages, pg: PgData, database: string | null): string {
  const d = o.databases.find((x) => x.database === database) ?? null;
  const max = o.settings.freezeMaxAge;
  let out = d && max > 0 ? ` (${shareOf(d.xidAge, max)}autovacuum_freeze_max_age ${formatCount(max)})` : '';
  const slow = o.slow && !('error' in o.slow) ? o.slow : null;
  if (slow?.oldestXidTable && slow.oldestXidTable.age > 0) out += `; oldest table in ${pg.database}: ${tableName(slow.oldestXidTable)} (${formatCount(slow.oldestXidTable.age)})`;
  return out;
}

// ---------------------------------------------------------------- tables.never_analyzed, indexes.invalid, sequences.exhaustion

/** The slower read's data, or why there is none (the check is then UNKNOWN). */
function slowOf(o: PgOutages): { ok: true; data: NonNullable<Exclude<PgOutages['slow'], { error: string }>> } | { ok: false; reason: string } {
  if (o.slow === null) return { ok: false, reason: 'not read yet' };
  if ('error' in o.slow) return { ok: false, reason: o.slow.error };
  return { ok: true, data: o.slow };
}

function neverAnalyzedCheck(o: PgOutages, th: Thresholds): Check {
  const init = INIT['tables.never_analyzed'];
  const t = th.neverAnalyzedRows;
  const slow = slowOf(o);
  if (!slow.ok) return check(init, 'UNKNOWN', slow.reason, null, null);
  const { total, top } = slow.data.neverAnalyzed;
  const rows: CheckRow[] = top.map((x) => ({
    subject: `${x.schema}.${x.name}`,
    status: judge(x.liveTuples, t),
    value: x.liveTuples,
    text: `${x.schema}.${x.name} never analyzed (by hand or by autovacuum), ${formatCount(x.liveTuples)} rows`,
    object: { kind: 'table', schema: x.schema, table: x.name },
  }));
  if (rows.length === 0) return measuredCheck(init, 'OK', 'every table with rows has been analyzed', 0, t, null, []);
  const flagged = rows.filter((r) => bad(r.status));
  const first = flagged[0] ?? rows[0];
  const others = total - 1;
  const summary = `${first.text}${others > 0 ? ` (and ${others} more table${others === 1 ? '' : 's'} never analyzed)` : ''}`;
  return measuredCheck(init, worst(rows.map((r) => r.status)), summary, top[0].liveTuples, t, first.subject, rows);
}

function invalidIndexesCheck(o: PgOutages): Check {
  const init = INIT['indexes.invalid'];
  const rows: CheckRow[] = o.invalidIndexes.map((i) => {
    const why = i.building
      ? 'being built (a concurrent build runs on its table)'
      : i.leftover === 'ccnew'
        ? 'a leftover of a failed REINDEX CONCURRENTLY (_ccnew): drop it'
        : i.leftover === 'ccold'
          ? 'the old copy a failed REINDEX CONCURRENTLY left (_ccold): drop it'
          : i.partitioned
            ? 'a partitioned index not yet attached on every partition'
            : 'invalid, from a failed CREATE INDEX CONCURRENTLY: queries do not use it, writes still maintain it';
    return {
      subject: `${i.schema}.${i.name}`,
      status: i.building ? 'OK' : i.partitioned ? 'WARNING' : 'CRITICAL',
      value: null,
      text: `${i.schema}.${i.name} on ${i.table}: ${why}`,
      object: { kind: 'index', schema: i.schema, table: i.table, index: i.name },
    };
  });
  const flagged = rows.filter((r) => bad(r.status)).sort((a, b) => worstFirst(a.status, b.status));
  if (flagged.length === 0) {
    const building = rows.length ? ` (${rows.length} being built)` : '';
    return check(init, 'OK', `no invalid index${building}`, 0, null, { rows });
  }
  const summary = flagged.length === 1 ? flagged[0].text! : `${flagged.length} invalid indexes: ${flagged.map((r) => r.text).join('; ')}`;
  return check(init, worst(rows.map((r) => r.status)), summary, flagged.length, flagged[0].subject, { rows });
}

function sequencesCheck(o: PgOutages, th: Thresholds): Check {
  const init = INIT['sequences.exhaustion'];
  const t = th.sequenceUsedPct;
  const seqs = o.sequences;
  if (seqs === null) return check(init, 'UNKNOWN', 'not read yet', null, null);
  if ('error' in seqs) return check(init, 'UNKNOWN', seqs.error, null, null);
  const { total, unreadable, unread, top } = seqs;
  const rows: CheckRow[] = top.map((q) => {
    const col = q.column ? `, feeds ${q.column.type} column ${q.column.schema}.${q.column.table}.${q.column.column} (${q.column.how})` : '';
    const limit = q.limitedBy === 'column' ? `the column's ${q.column?.type ?? 'type'} maximum ${q.limit}` : `its maximum ${q.limit}`;
    return {
      subject: `${q.schema}.${q.name}`,
      status: judge(q.usedPct, t),
      value: q.usedPct,
      text: `${q.schema}.${q.name} ${pct1(q.usedPct)} used: at ${q.lastValue ?? 'none yet'} of ${limit}${col}${q.cycles ? ' (cycles: duplicates once it wraps)' : ''}`,
      object: {
        kind: 'sequence',
        schema: q.schema,
        sequence: q.name,
        column: q.column ? { schema: q.column.schema, table: q.column.table, column: q.column.column, type: q.column.type } : null,
      },
    };
  });
  const status0 = worst(rows.map((r) => r.status));
  const first = rows[0];
  let status = status0;
  let summary = first ? (bad(first.status) ? first.text! : `${total} sequence${total === 1 ? '' : 's'}, the most used ${first.text}`) : 'no sequences';
  const flagged = rows.filter((r) => bad(r.status));
  if (flagged.length > 1) summary = `${flagged.length} sequences near their limit: ${flagged.map((r) => `${r.subject} ${pct1(r.value ?? 0)}`).join(', ')}; ${first.text}`;
  const notes: string[] = [];
  if (unreadable > 0) notes.push(`${unreadable} sequence${unreadable === 1 ? '' : 's'} not readable by this role (needs SELECT or USAGE on them, or pg_read_all_data from PostgreSQL 14)`);
  if (unread > 0) notes.push(`${unread} of ${total} sequences not read yet (locked, or left to the background read)`);
  if (notes.length) {
    if (!bad(status)) {
      status = 'UNKNOWN';
      summary = `${notes.join('; ')}; ${summary}`;
    } else summary += `; ${notes.join('; ')}`;
  }
  return measuredCheck(init, status, summary, first?.value ?? 0, t, first && (bad(first.status) || status === 'UNKNOWN') ? first.subject : first?.subject ?? null, rows);
}
