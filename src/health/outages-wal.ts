// Outage checks on WAL kept or not shipped: pg.replication_slots and pg.archiver.
import type { Thresholds } from '../config/schema';
import type { Check, CheckRow, Filesystem, Status } from '../types';
import type { PgOutages } from '../types-outages';
import { formatBytes, formatCount, formatDuration } from '../util/format';
import { worst } from './status';
import { INIT, bad, check, judge, measuredCheck, pct1, worstRow } from './outages-common';

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

export function slotsCheck(o: PgOutages, th: Thresholds, filesystems: Filesystem[] | null, standby: boolean): Check {
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

export function archiverCheck(o: PgOutages, th: Thresholds, standby: boolean): Check {
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
