// The one ranking of statuses for the whole project: the overall verdict, the panels' order of
// rows, checklist conditions and baselines all rank with it, so they cannot disagree.
import type { Check, Status } from '../types';

/**
 * Worst last: CRITICAL > WARNING > UNKNOWN > OK, as a Nagios-style aggregation ranks them
 * (a check that could not be judged is worse than one that is fine, and better than a
 * finding). Whether a status is acceptable is not this order's business: a checklist
 * condition never passes on UNKNOWN, whatever it ranks below (src/checklists/conditions.ts).
 */
export const STATUS_ORDER: readonly Status[] = ['OK', 'UNKNOWN', 'WARNING', 'CRITICAL'];

const RANK: Record<Status, number> = { OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };

/** The status's rank in STATUS_ORDER; -1 for none (a row nothing judged). */
export function severity(s: Status | null | undefined): number {
  return s ? RANK[s] : -1;
}

/** The worst of the statuses; OK when there are none. */
export function worst(statuses: Iterable<Status>): Status {
  return worstOrNull(statuses) ?? 'OK';
}

/** The worst of the statuses; null when there are none. */
export function worstOrNull(statuses: Iterable<Status>): Status | null {
  let w: Status | null = null;
  for (const s of statuses) if (w === null || RANK[s] > RANK[w]) w = s;
  return w;
}

/** For sort(): the worst first. */
export function worstFirst(a: Status | null | undefined, b: Status | null | undefined): number {
  return severity(b) - severity(a);
}

/**
 * The verdict on one row of a check (a session, a table, an index), as the rules gave it; the
 * screens draw it and never judge again. A check that is UNKNOWN as a whole (its source did not
 * answer in time, so its rows are last round's) makes each of its rows UNKNOWN. Undefined: the
 * check is absent, or it did not judge that row.
 */
export function rowStatus(check: Check | undefined, subject: string): Status | undefined {
  if (!check) return undefined;
  if (check.status === 'UNKNOWN') return 'UNKNOWN';
  return check.rows?.find((r) => r.subject === subject)?.status;
}
