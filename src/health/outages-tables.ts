// Outage checks on the slow read of tables and sequences: tables.never_analyzed, indexes.invalid,
// sequences.exhaustion.
import type { Thresholds } from '../config/schema';
import type { Check, CheckRow } from '../types';
import type { PgOutages } from '../types-outages';
import { formatCount } from '../util/format';
import { worst, worstFirst } from './status';
import { INIT, bad, check, judge, measuredCheck, pct1 } from './outages-common';

// ---------------------------------------------------------------- tables.never_analyzed, indexes.invalid, sequences.exhaustion

/** The slower read's data, or why there is none (the check is then UNKNOWN). */
function slowOf(o: PgOutages): { ok: true; data: NonNullable<Exclude<PgOutages['slow'], { error: string }>> } | { ok: false; reason: string } {
  if (o.slow === null) return { ok: false, reason: 'not read yet' };
  if ('error' in o.slow) return { ok: false, reason: o.slow.error };
  return { ok: true, data: o.slow };
}

export function neverAnalyzedCheck(o: PgOutages, th: Thresholds): Check {
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

export function invalidIndexesCheck(o: PgOutages): Check {
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

export function sequencesCheck(o: PgOutages, th: Thresholds): Check {
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
