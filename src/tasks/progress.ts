// Live progress of the running step: what the server's progress views say about the task's
// backend (VACUUM, CREATE INDEX / REINDEX CONCURRENTLY, ANALYZE) and whom it waits for when it
// waits on a lock; a command step (pg_dump, pg_restore) reports its own through
// StepProgress too. One policy for the figures and the one-line text (progressFigures), used by
// the run screen and by the headless progress line alike. Pure, no I/O (the screens import
// it); the poll itself, with its connection, is src/tasks/progress-poll.ts.
import { sanitizeLine } from '../util/sanitize';

export interface LockHolder {
  pid: number;
  user: string;
  state: string;
  query: string;
}

export interface StepProgress {
  /** which view (or output) it comes from */
  source: 'vacuum' | 'create index' | 'analyze' | 'pg_dump' | 'pg_restore';
  phase: string;
  done: number | null;
  total: number | null;
  /** what done and total count: 'blocks', 'tuples', 'tables' */
  unit: string;
  /** further figures, each a short phrase: '2 index passes', '12 MB written' */
  extra: string[];
  /** when it was read (ms since the epoch) */
  at: number;
  /** the session holding the lock the step waits for, when it waits on one */
  waitingFor: LockHolder | null;
}

export interface ProgressFigures {
  /** 0..100, null when the total is unknown */
  percent: number | null;
  /** seconds left, from the rate since the step started; null when unknown */
  etaSec: number | null;
  /** what is done: 'vacuum · scanning heap · 1,200 of 5,000 blocks · 0 index passes' */
  detail: string;
  /** '24% · 3.1s elapsed · ETA 10s' (no percent when the total is unknown) */
  timing: string;
  /** one line without the bar: detail · timing */
  text: string;
  /** 'waiting for a lock held by pid N (user, state, query head)', or null */
  lockLine: string | null;
}

const QUERY_HEAD = 60;

function secs(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The lock-wait line, from sanitized, shortened text. */
export function lockLine(h: LockHolder): string {
  const q = sanitizeLine(h.query).replace(/\s+/g, ' ').trim();
  const head = q.length > QUERY_HEAD ? `${q.slice(0, QUERY_HEAD - 1)}…` : q;
  return `waiting for a lock held by pid ${h.pid} (${sanitizeLine(h.user) || '?'}, ${sanitizeLine(h.state) || '?'}, ${head || '-'})`;
}

/**
 * The figures of a step's progress: percent of done/total, the ETA from the rate since the step
 * started (`startedAt`), and one line of text. `now` is the clock (tests fix it).
 */
export function progressFigures(p: StepProgress, startedAt: number, now: number): ProgressFigures {
  const known = p.total !== null && p.total > 0 && p.done !== null;
  const percent = known ? Math.min(100, Math.max(0, (100 * p.done!) / p.total!)) : null;
  const spent = Math.max(0, now - startedAt) / 1000;
  // an ETA only once something is done: a rate of nothing predicts nothing
  const etaSec = percent !== null && percent > 0 && percent < 100 && spent > 0 ? (spent * (100 - percent)) / percent : percent === 100 ? 0 : null;
  const parts: string[] = [p.source];
  if (p.phase) parts.push(sanitizeLine(p.phase));
  if (p.done !== null) parts.push(p.total !== null && p.total > 0 ? `${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')} ${p.unit}` : `${p.done.toLocaleString('en-US')} ${p.unit}`);
  for (const e of p.extra) parts.push(sanitizeLine(e));
  const timing = [...(percent !== null ? [`${Math.floor(percent)}%`] : []), `${secs(spent)} elapsed`, etaSec !== null ? `ETA ${secs(etaSec)}` : 'ETA ?'].join(' · ');
  const detail = parts.join(' · ');
  return { percent, etaSec, detail, timing, text: `${detail} · ${timing}`, lockLine: p.waitingFor ? lockLine(p.waitingFor) : null };
}

/** A bar of `width` cells for a percent (unknown: an empty, dotted bar). */
export function progressBar(percent: number | null, width: number): string {
  if (width <= 2) return '';
  const inner = width - 2;
  if (percent === null) return `[${'·'.repeat(inner)}]`;
  const full = Math.round((inner * percent) / 100);
  return `[${'█'.repeat(full)}${'░'.repeat(inner - full)}]`;
}

/**
 * The poll's one statement, for a server version: the task backend's wait, the holder of the
 * lock it waits for, and its row in each progress view. Rows are read as jsonb, so columns that
 * differ between versions (PG17 renamed vacuum's dead-tuple columns) are never named; only
 * columns present in 12..17 are read from them. pg_stat_progress_analyze is PG13+.
 */
export function progressSql(serverVersionNum: number): string {
  const analyze = serverVersionNum >= 130000 ? '(SELECT to_jsonb(x) FROM pg_stat_progress_analyze x WHERE x.pid = a.pid)' : 'NULL::jsonb';
  return `SELECT a.wait_event_type AS wait,
  (SELECT to_jsonb(v) FROM pg_stat_progress_vacuum v WHERE v.pid = a.pid) AS vacuum,
  (SELECT to_jsonb(c) FROM pg_stat_progress_create_index c WHERE c.pid = a.pid) AS create_index,
  ${analyze} AS analyze,
  CASE WHEN a.wait_event_type = 'Lock' THEN
    (SELECT jsonb_build_object('pid', b.pid, 'user', b.usename, 'state', b.state, 'query', left(b.query, 200))
       FROM pg_stat_activity b
      WHERE b.pid = coalesce((pg_blocking_pids(a.pid))[1], (SELECT nullif(p.current_locker_pid, 0) FROM pg_stat_progress_create_index p WHERE p.pid = a.pid)))
  END AS blocker
FROM pg_stat_activity a WHERE a.pid = $1`;
}

type Json = Record<string, unknown> | null | undefined;
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));

/** The poll's row as a StepProgress (null: the backend shows nothing to report). */
export function progressOfRow(row: Record<string, unknown> | undefined, at: number): StepProgress | null {
  if (!row) return null;
  const b = row.blocker as Json;
  const waitingFor: LockHolder | null = b ? { pid: Number(b.pid), user: String(b.user ?? ''), state: String(b.state ?? ''), query: String(b.query ?? '') } : null;
  const base = { at, waitingFor, extra: [] as string[] };
  const v = row.vacuum as Json;
  if (v) {
    const passes = num(v.index_vacuum_count) ?? 0;
    const phase = String(v.phase ?? '');
    // the second pass over the heap counts what it vacuumed; every other phase what was scanned
    const done = phase === 'vacuuming heap' ? num(v.heap_blks_vacuumed) : num(v.heap_blks_scanned);
    return { ...base, source: 'vacuum', phase, done, total: num(v.heap_blks_total), unit: 'blocks', extra: [`${passes} index pass${passes === 1 ? '' : 'es'}`] };
  }
  const c = row.create_index as Json;
  if (c) {
    const blocks = (num(c.blocks_total) ?? 0) > 0;
    const tuples = !blocks && (num(c.tuples_total) ?? 0) > 0;
    const extra: string[] = [];
    if ((num(c.lockers_total) ?? 0) > 0) extra.push(`lockers ${num(c.lockers_done) ?? 0} of ${num(c.lockers_total)}${num(c.current_locker_pid) ? ` (waiting for pid ${num(c.current_locker_pid)})` : ''}`);
    return {
      ...base,
      source: 'create index',
      phase: String(c.phase ?? ''),
      done: blocks ? num(c.blocks_done) : tuples ? num(c.tuples_done) : null,
      total: blocks ? num(c.blocks_total) : tuples ? num(c.tuples_total) : null,
      unit: blocks ? 'blocks' : 'tuples',
      extra,
    };
  }
  const z = row.analyze as Json;
  if (z) return { ...base, source: 'analyze', phase: String(z.phase ?? ''), done: num(z.sample_blks_scanned), total: num(z.sample_blks_total), unit: 'blocks' };
  if (waitingFor) return { ...base, source: 'vacuum', phase: 'waiting', done: null, total: null, unit: '' };
  return null;
}
