// The PostgreSQL panel, and what the Sessions and Tables panels share with it: which answer of
// the database to show (pgView), and the titles while it is down, unconfigured or waited for.
import type { Line } from '../line';
import type { MonitorState, PgData, SourceWait, Status } from '../../src/types';
import { sparkline } from '../components/Sparkline';
import { outagePgOverview, outagePgRows, outagePgTitle } from '../outages';
import { clean, formatCount, formatDuration, hhmmss, pct0, wrapWords } from '../format';
import { collecting, fig, joinParts, neverAnswered, s, shortWait, sparkWidth, staleText, waitedText, waitOn, waitSeg, type Body, type Ctx } from './parts';

function shortVersion(pg: PgData): string {
  const n = pg.versionNum;
  if (n >= 100000) return `${Math.floor(n / 10000)}.${n % 10000}`;
  const m = /(\d+(?:\.\d+)+)/.exec(pg.version);
  return m ? m[1] : clean(pg.version).split(' ')[0];
}

export type PgView = { kind: 'none' } | { kind: 'down'; reason: string; status: Status } | { kind: 'up'; pg: PgData };

export function pgView({ state, checks }: Ctx): PgView {
  const snap = state.snapshot;
  const up = checks.get('pg.up');
  const probe = snap?.postgres;
  if (probe && !probe.ok) return { kind: 'down', reason: clean(probe.error), status: up?.status ?? 'CRITICAL' };
  // its last answer, while the next is waited for: shown as stale (its checks say UNKNOWN once overdue)
  const waited = state.waiting?.some((w) => w.id === 'postgres') ?? false;
  if (probe && probe.ok && waited) return { kind: 'up', pg: probe.data };
  if (!probe && waited) return { kind: 'none' };
  if (up && up.status !== 'OK') {
    return { kind: 'down', reason: clean(up.summary.replace(/^PostgreSQL unavailable:\s*/, '')), status: up.status };
  }
  if (probe && probe.ok) return { kind: 'up', pg: probe.data };
  return { kind: 'none' };
}

function retryText(state: MonitorState, now: number): string | null {
  if (state.pgRetryAt == null) return null;
  return `retrying in ${Math.max(0, Math.ceil((state.pgRetryAt - now) / 1000))}s`;
}

/** "unavailable: <reason>" (the panel's title already carries the status marker). */
export function unavailable(v: Extract<PgView, { kind: 'down' }>, status: Status): Line {
  return [s(`unavailable: ${v.reason}`, status)];
}

export function notConfigured(state: MonitorState, now: number, withTarget = false): Body {
  const w = waitOn(state, 'postgres', now);
  if (w) {
    if (!withTarget) return { summary: [s(shortWait(w, now), 'UNKNOWN')], rows: [] };
    return neverAnswered(w, now, state.target ? [[s(`target ${clean(state.target.name)} ${clean(state.target.display)}`)]] : []);
  }
  return { summary: [s(state.target ? 'no data yet' : 'not configured (no PostgreSQL target)')], rows: [] };
}

/** The Sessions and Tables titles: past the deadline, what the last answer said, and when. */
export function pgSummary(parts: Line[], w: SourceWait | null, dataAt: number | undefined, now: number): Line {
  if (!w) return parts.length ? joinParts(parts) : [s('none need attention', 'OK')];
  if (!w.overdue) return [waitSeg(w, now), ...(parts.length ? joinParts(parts) : [s('none need attention', 'OK')])];
  const then = dataAt ? ` at ${hhmmss(dataAt)}` : '';
  return [waitSeg(w, now), ...(parts.length ? [s(`${then.trim()}${then ? ': ' : ''}`), ...joinParts(parts)] : [s(`none needed attention${then}`)])];
}

/** The database down: the reason on the title, in full in the rows, with the retry and the target. */
function downBody({ state, width, now }: Ctx, v: Extract<PgView, { kind: 'down' }>, w: SourceWait | null): Body {
  // while another attempt is under way, that is what to say, not a retry time already past
  const retry = w ? waitedText(w, now) : retryText(state, now);
  const target = state.target ? `target ${clean(state.target.name)} ${clean(state.target.display)}` : '';
  const row = [retry, target].filter(Boolean).join(' · ');
  // the title line truncates; the rows give the whole reason, wrapped to the panel (the retry
  // time the last answer named is past once the next attempt is under way)
  const why = w ? v.reason.replace(/ \(retrying in \d+s\)$/, '') : v.reason;
  const reason: Line[] = wrapWords(why, Math.max(20, width)).map((l) => [s(l, v.status)]);
  return { summary: unavailable(v, v.status), rows: [...reason, ...(row ? [[s(row)]] : [])] };
}

/** "standby, lag 2s", "2 replicas, lag 1s" or "no replicas". */
function replicationText(pg: PgData): string {
  const r = pg.replication;
  let replText = 'no replicas';
  if (r.role === 'standby') replText = `standby, lag ${r.standbyLagSec === null ? 'n/a' : formatDuration(r.standbyLagSec)}`;
  else if (r.replicas.length > 0) {
    const maxLag = Math.max(...r.replicas.map((x) => x.lagSec ?? 0));
    replText = `${r.replicas.length} replica${r.replicas.length === 1 ? '' : 's'}, lag ${formatDuration(maxLag)}`;
  }
  return replText;
}

export function postgresPanel(ctx: Ctx): Body {
  const { state, checks, width, now } = ctx;
  if (!state.snapshot) return collecting;
  const v = pgView(ctx);
  if (v.kind === 'none') return notConfigured(state, now, true);
  const w = waitOn(state, 'postgres', now);
  if (v.kind === 'down') return downBody(ctx, v, w);
  const pg = v.pg;
  const pgAt = state.snapshot.postgres?.at ?? state.snapshot.at;
  const sw = sparkWidth(width);
  const c = pg.connections;
  const connSt = checks.get('pg.connections')?.status;
  const connPct = c.max > 0 ? (100 * c.total) / c.max : null;
  // the console's own sessions are counted apart, after the others
  const byState = [
    ...Object.entries(c.byState)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${clean(k)} ${n}`),
    ...(c.own ? [`ops-console ${c.own}`] : []),
  ].join(' · ');
  const buf = checks.get('pg.cache.buffer')?.status;
  const idx = checks.get('pg.cache.index')?.status;
  const xidCheck = checks.get('pg.xid_age');
  const oldest = pg.xidAge[0];
  const xidVal = xidCheck?.value ?? oldest?.age ?? null;
  const xidDb = xidCheck?.subject ?? oldest?.database ?? '';
  const repl = checks.get('pg.replication');
  const replText = replicationText(pg);
  const ver = shortVersion(pg);
  const overview = outagePgOverview(checks, pg);
  return {
    summary: [
      ...(w ? [waitSeg(w, now)] : []),
      s(`${ver} · conns `),
      fig(`${c.total}/${c.max}`, connSt),
      s(' · cache '),
      fig(pct0(pg.cache.bufferHitPct, 1), buf),
      s(' · xid '),
      fig(xidVal === null ? 'n/a' : formatCount(xidVal), xidCheck?.status),
      ...outagePgTitle(checks),
    ],
    rows: [
      ...(w ? [[s(staleText(w, pgAt, now), w.overdue ? 'UNKNOWN' : undefined)]] : []),
      [s(`PostgreSQL ${ver} · ${clean(pg.database)} · ${pg.inRecovery ? 'standby' : 'primary'} · up ${formatDuration(pg.uptimeSec)}`)],
      // the outage checks needing attention (screens/outages.ts), where a small terminal shows them
      ...outagePgRows(checks, !!w?.overdue),
      [
        s('conns '),
        fig(`${c.total}/${c.max} ${pct0(connPct)}`, connSt),
        s(' '),
        s(sparkline(state.history.connections, sw, 0, c.max > 0 ? c.max : undefined), undefined, { accent: true }),
        s(byState ? ` ${byState}` : ''),
      ],
      [
        s('cache buffer '),
        fig(pct0(pg.cache.bufferHitPct, 1), buf),
        s(' index '),
        fig(pct0(pg.cache.indexHitPct, 1), idx),
        s(' '),
        s(sparkline(state.history.cacheHit, sw, 80, 100), undefined, { accent: true }),
      ],
      [
        s('xid age '),
        fig(xidVal === null ? 'n/a' : formatCount(xidVal), xidCheck?.status),
        s(xidDb ? ` (${clean(xidDb)})` : ''),
        s(' · replication '),
        fig(replText, repl?.status),
      ],
      ...statementRows(pg),
      ...(overview ? [overview] : []),
    ],
  };
}

/** The slowest statements by mean time, when pg_stat_statements is installed; else why not. */
function statementRows(pg: PgData): Line[] {
  const st = pg.statements;
  if (!st.available) return [[s(`slowest statements: ${clean(st.reason)}`)]];
  if (st.top.length === 0) return [[s('slowest statements: none recorded yet')]];
  return [
    [s('slowest statements (mean · calls)')],
    ...st.top.map((q): Line => [s(`${formatMs(q.meanMs)} · ${formatCount(q.calls)} · ${clean(q.query)}`)]),
  ];
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}
