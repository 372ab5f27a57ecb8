// From a finding to its fix: every problem row that a built-in task can fix names that task,
// bound to the row's object (names and pids, never a row's position). The console's `f` and
// `ops check --json` read the same binding; the task's own plan then checks the object again.
import type { Check, CheckRow, FixRef } from '../types';
import { severity } from './status';

/** A part of schema.name as the tasks' parameters read it: double-quoted when it holds a dot or a quote. */
function part(s: string): string {
  return /^[^."\s]+$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

const qualified = (schema: string, name: string) => `${part(schema)}.${part(name)}`;
/** drop-index takes plain identifiers only */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** what a failed REINDEX CONCURRENTLY or CREATE INDEX CONCURRENTLY leaves: an invalid copy */
const CCNEW = /_ccnew\d*$/;

/** The fix for one row of a check, or null when no built-in task fixes it. */
export function fixForRow(checkId: string, row: CheckRow): FixRef | null {
  const o = row.object;
  if (!o) return null;
  switch (o.kind) {
    case 'table':
      if (checkId === 'tables.dead_tuples') return { task: 'vacuum-analyze', params: { tables: [qualified(o.schema, o.table)] } };
      if (checkId === 'tables.never_analyzed') return { task: 'analyze', params: { tables: [qualified(o.schema, o.table)] } };
      return null;
    case 'index':
      if (checkId === 'indexes.invalid') {
        // a leftover copy is dropped; an index that is invalid itself is rebuilt
        if (CCNEW.test(o.index) && PLAIN.test(o.schema) && PLAIN.test(o.index)) return { task: 'drop-index', params: { index: `${o.schema}.${o.index}` } };
        return { task: 'reindex-concurrently', params: { index: qualified(o.schema, o.index) } };
      }
      if (checkId === 'tables.unused_indexes' && PLAIN.test(o.schema) && PLAIN.test(o.index)) return { task: 'drop-index', params: { index: `${o.schema}.${o.index}` } };
      return null;
    case 'session':
      if (checkId === 'sessions.idle_in_transaction' || checkId === 'sessions.long_transaction' || checkId === 'pg.xmin_horizon') {
        return { task: 'terminate-sessions', params: { pids: [o.pid] } };
      }
      return null;
    case 'slot':
      if (checkId === 'pg.replication_slots' || checkId === 'pg.xmin_horizon') return { task: 'drop-replication-slot', params: { slot: o.slot } };
      return null;
    case 'prepared':
      if (checkId === 'pg.prepared_xacts' || checkId === 'pg.xmin_horizon') return { task: 'rollback-prepared', params: { gid: o.gid } };
      return null;
    default:
      return null;
  }
}

/**
 * Binds a fix to every row that is a problem (WARNING or CRITICAL), and to the check itself the
 * fix of the row its summary leads with (its subject), else of its worst such row.
 */
export function attachFixes(checks: Check[]): void {
  for (const c of checks) {
    if (!c.rows?.length) continue;
    let best: { rank: number; fix: FixRef } | null = null;
    for (const r of c.rows) {
      if (r.status !== 'WARNING' && r.status !== 'CRITICAL') continue;
      const fix = fixForRow(c.id, r);
      if (!fix) continue;
      r.fix = fix;
      const rank = r.subject === c.subject ? Number.MAX_SAFE_INTEGER : severity(r.status);
      if (!best || rank > best.rank) best = { rank, fix };
    }
    if (best && (c.status === 'WARNING' || c.status === 'CRITICAL')) c.fix = best.fix;
  }
}

/** A fix the console offers: the task bound to its object, and which finding it is for. */
export interface OfferedFix {
  fix: FixRef;
  checkId: string;
  subject: string;
}

/**
 * The fix to offer for one place of the console: with `pid`, the finding about that session (a
 * Sessions row); otherwise the worst finding with a fix among the checks of `groups` (a panel),
 * CRITICAL before WARNING, then in the report's order. Null when nothing there has a fix.
 */
export function offeredFix(checks: readonly Check[], groups: readonly string[], pid?: number): OfferedFix | null {
  let best: { rank: number; offer: OfferedFix } | null = null;
  for (const c of checks) {
    if (pid === undefined && !groups.includes(c.group)) continue;
    for (const r of c.rows ?? []) {
      if (!r.fix) continue;
      if (pid !== undefined && !(r.object?.kind === 'session' && r.object.pid === pid)) continue;
      const rank = severity(r.status);
      if (!best || rank > best.rank) best = { rank, offer: { fix: r.fix, checkId: c.id, subject: r.subject } };
    }
  }
  return best?.offer ?? null;
}
