// The Endpoints panel: HTTP, TLS, the backups and Redis, a row each, with the wait on the source
// a row is about, and the endpoints that have not answered once yet.
import type { Line } from '../line';
import type { SourceKind, SourceWait, Status } from '../../src/types';
import { clean, formatBytes, formatDuration, pct0, rowMark, worstOf } from '../format';
import { collecting, fig, s, shortWait, waitOn, type Body, type Ctx } from './parts';

/** The panel's sources with one row each: the check that row's status is, and its name. */
const ONE_ROW: Partial<Record<SourceKind, { check: string; name: string }>> = {
  backup: { check: 'backup.age', name: 'backup' },
  mirror: { check: 'journal.mirror', name: 'journal mirror' },
  redis: { check: 'redis.latency', name: 'redis' },
};

export function endpointsPanel({ state, checks, now }: Ctx): Body {
  const snap = state.snapshot;
  if (!snap) return collecting;
  const rows: Line[] = [];
  const statuses: (Status | undefined)[] = [];
  // the wait on the source a row is about: said after the row's (stale) figures
  let wait: SourceWait | null = null;
  const row = (st: Status | undefined, label: string, figure: string, rest = '') => {
    statuses.push(st);
    rows.push([s(rowMark(st), st), s(` ${label} `), s(figure, st), s(rest), ...(wait ? [s(` · ${shortWait(wait, now)}`, wait.overdue ? 'UNKNOWN' : undefined)] : [])]);
  };
  for (const e of snap.http) {
    wait = waitOn(state, `http:${e.name}`, now);
    const st = checks.get(`http:${e.name}`)?.status;
    if (e.result.ok) row(st, `http ${clean(e.name)}`, `${e.result.data.status} ${Math.round(e.result.data.latencyMs)} ms`, ` ${clean(e.url)}`);
    else row(st, `http ${clean(e.name)}`, `unreachable: ${clean(e.result.error)}`);
  }
  for (const t of snap.tls) {
    wait = waitOn(state, `tls:${t.name}`, now);
    const st = checks.get(`tls:${t.name}`)?.status;
    if (t.result.ok) {
      const d = Math.floor(t.result.data.daysLeft);
      row(st, `tls ${clean(t.name)}`, d < 0 ? `expired ${-d} days ago` : `${d} days left`, ` ${clean(t.host)}:${t.port}`);
    } else row(st, `tls ${clean(t.name)}`, `error: ${clean(t.result.error)}`);
  }
  if (snap.backup) {
    wait = waitOn(state, 'backup', now);
    const st = checks.get('backup.age')?.status;
    const b = snap.backup;
    if (!b.ok) row(st, 'backup', `error: ${clean(b.error)}`);
    else if (!b.data.newest && b.data.skipped?.length) row(st, 'backup', 'none verified', ` ${clean(b.data.skipped[0].file)}: ${clean(b.data.skipped[0].reason)}`);
    else if (!b.data.newest) row(st, 'backup', 'none found', ` in ${clean(b.data.dir)}`);
    else row(st, 'backup', `newest ${formatDuration(b.data.newest.ageSec)} old`, ` ${clean(b.data.newest.file)} ${formatBytes(b.data.newest.sizeBytes)}`);
  }
  if (snap.mirror) {
    wait = waitOn(state, 'mirror', now);
    const st = checks.get('journal.mirror')?.status;
    const m = snap.mirror;
    if (!m.ok) row(st, 'journal mirror', `error: ${clean(m.error)}`);
    else if (m.data.pending === 0 || !m.data.oldestAt) row(st, 'journal mirror', 'up to date', ` ${clean(m.data.where)}`);
    else row(st, 'journal mirror', `${m.data.pending} waiting`, ` oldest ${formatDuration(Math.max(0, (snap.at - Date.parse(m.data.oldestAt)) / 1000))} · ${clean(m.data.where)}`);
  }
  if (snap.redis) {
    wait = waitOn(state, 'redis', now);
    const r = snap.redis;
    const mem = checks.get('redis.memory')?.status;
    const lat = checks.get('redis.latency')?.status;
    if (!r.ok) row(lat, 'redis', `unavailable: ${clean(r.error)}`);
    else {
      const d = r.data;
      statuses.push(mem, lat);
      const memTxt = d.maxMemoryBytes > 0 ? pct0((100 * d.usedMemoryBytes) / d.maxMemoryBytes) : formatBytes(d.usedMemoryBytes);
      const st = worstOf([mem, lat].filter((x): x is Status => !!x)) ?? undefined;
      rows.push([
        s(rowMark(st), st),
        s(' redis mem '),
        fig(memTxt, mem),
        s(' ping '),
        fig(`${d.latencyMs.toFixed(1)} ms`, lat),
        s(` · hit ${pct0(d.hitPct)} · ${d.connectedClients} clients`),
        ...(wait ? [s(` · ${shortWait(wait, now)}`, wait.overdue ? 'UNKNOWN' : undefined)] : []),
      ]);
    }
  }
  // the endpoints that have not answered once yet
  wait = null;
  for (const w of state.waiting ?? []) {
    if (w.lastAnswerAt !== null) continue;
    if (w.kind === 'http' || w.kind === 'tls') row(checks.get(w.id)?.status ?? 'UNKNOWN', `${w.kind} ${clean(w.id.slice(w.kind.length + 1))}`, shortWait(w, now));
    else if (w.kind in ONE_ROW) row(checks.get(ONE_ROW[w.kind]!.check)?.status ?? 'UNKNOWN', ONE_ROW[w.kind]!.name, shortWait(w, now));
  }
  if (rows.length === 0) return { summary: [s('none configured')], rows };
  const known = statuses.filter((x): x is Status => !!x);
  const bad = known.filter((x) => x !== 'OK').length;
  return {
    summary: [s(`${rows.length} endpoint${rows.length === 1 ? '' : 's'} · `), bad ? fig(`${bad} need attention`, worstOf(known) ?? undefined) : s('all OK', known.length ? 'OK' : undefined)],
    rows,
  };
}
