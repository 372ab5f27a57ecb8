// What every outage check shares: the checks' list (ids, groups, labels), and building a Check.
import type { Check, CheckGroup, CheckRow, Status } from '../types';
import { truncate } from '../util/format';
import { worstFirst } from './status';

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
export const INIT = Object.fromEntries(OUTAGE_CHECKS.map((c) => [c.id, c])) as Record<string, Init>;

/**
 * A holder that began after a table's last vacuum (so some of its dead rows can go) is named only
 * once it has held this long: a statement running now is not worth a word.
 */
export const HOLDER_MIN_SEC = 60;

export const PG_MONITOR_STATS = 'pg_read_all_stats (part of pg_monitor)';

export function judge(value: number, t: Pair): Status {
  return value >= t.critical ? 'CRITICAL' : value >= t.warning ? 'WARNING' : 'OK';
}

export function check(init: Init, status: Status, summary: string, value: number | null, subject: string | null, extra: Partial<Check> = {}): Check {
  return { ...init, status, summary, value, thresholds: null, subject, ...extra };
}

export function measuredCheck(init: Init, status: Status, summary: string, value: number, t: Pair, subject: string | null, rows: CheckRow[], hint?: string): Check {
  return { ...init, status, summary, value, thresholds: { warning: t.warning, critical: t.critical, direction: 'above' }, subject, rows, ...(hint ? { hint } : {}) };
}

export const pct1 = (n: number) => `${n.toFixed(1)}%`;
/** whitespace folded, trailing semicolons dropped (the plugin line joins summaries with "; ") */
export const queryText = (q: string, max: number) => truncate(q.replace(/\s+/g, ' ').replace(/[\s;]+$/, '').trim(), max);
export const worstRow = (rows: CheckRow[]) => [...rows].sort((a, b) => worstFirst(a.status, b.status))[0];
export const bad = (s: Status) => s === 'WARNING' || s === 'CRITICAL';
