// Outage checks on what holds vacuum back or keeps it from running: pg.xmin_horizon,
// pg.prepared_xacts, pg.autovacuum, pg.mxid_age, and pg.xid_age's detail.
import type { Thresholds } from '../config/schema';
import type { Check, CheckRow, PgData, PgTable } from '../types';
import type { PgOutages, PgXminHolder, VacuumVerdict } from '../types-outages';
import { formatCount, formatDuration } from '../util/format';
import { worst, worstFirst } from './status';
import { HOLDER_MIN_SEC, INIT, PG_MONITOR_STATS, bad, check, judge, measuredCheck, pct1, queryText, worstRow } from './outages-common';

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
export function relevantHolders(o: PgOutages, pg: PgData): PgXminHolder[] {
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

export function xminCheck(o: PgOutages, th: Thresholds, pg: PgData, vacuum: ReturnType<typeof vacuumVerdicts>): Check {
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

export function preparedCheck(o: PgOutages, th: Thresholds): Check {
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

export function autovacuumCheck(o: PgOutages, th: Thresholds, standby: boolean): Check {
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

export function mxidCheck(o: PgOutages, th: Thresholds, pg: PgData): Check {
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
export function xidDetail(o: PgOutages, pg: PgData, database: string | null): string {
  const d = o.databases.find((x) => x.database === database) ?? null;
  const max = o.settings.freezeMaxAge;
  let out = d && max > 0 ? ` (${shareOf(d.xidAge, max)}autovacuum_freeze_max_age ${formatCount(max)})` : '';
  const slow = o.slow && !('error' in o.slow) ? o.slow : null;
  if (slow?.oldestXidTable && slow.oldestXidTable.age > 0) out += `; oldest table in ${pg.database}: ${tableName(slow.oldestXidTable)} (${formatCount(slow.oldestXidTable.age)})`;
  return out;
}
