// Turns a MonitorState into the dashboard's panels: plain lines of styled segments.
// Pure (no React, no I/O), so it is cheap to run once per published state and easy to test.
import type { Line, Seg } from './line';
import type { Check, CheckGroup, MonitorState, PgData, PgSession, SourceWait, Status } from '../src/types';
import { sparkline } from './components/Sparkline';
import { mergeBySeverity, outagePgOverview, outagePgRows, outagePgTitle, outageTableRows, outageTableTitle, vacuumSegs } from './outages';
import {
  clean,
  fit,
  formatBytes,
  formatCount,
  formatDuration,
  hhmmss,
  pct0,
  rowMark,
  rowStatus,
  severity,
  suffix,
  worstOf,
} from './format';

export type PanelId = 'host' | 'disks' | 'postgres' | 'sessions' | 'tables' | 'endpoints';

/** Focus (Tab) order; also the single-column stacking order. */
export const PANEL_ORDER: readonly PanelId[] = ['host', 'disks', 'postgres', 'sessions', 'tables', 'endpoints'];

export const PANEL_TITLES: Record<PanelId, string> = {
  host: 'Host',
  disks: 'Disks',
  postgres: 'PostgreSQL',
  sessions: 'Sessions',
  tables: 'Tables',
  endpoints: 'Endpoints',
};

/** The check groups each panel draws (and where the dashboard's f looks for a finding to fix). */
export const PANEL_GROUPS: Record<PanelId, readonly CheckGroup[]> = {
  host: ['host'],
  disks: ['disk'],
  postgres: ['postgres'],
  sessions: ['sessions'],
  tables: ['tables'],
  endpoints: ['http', 'tls', 'backup', 'redis'],
};

export type { Line, Seg } from './line';

export interface PanelModel {
  id: PanelId;
  /** worst status among the panel's checks; null when it has none */
  status: Status | null;
  /** shown on the title line, so a collapsed panel still says what matters */
  summary: Line;
  /** the panel's body rows (scrollable) */
  rows: Line[];
  /** sessions panel: the pid each row is about (an action is bound to the pid, never the row) */
  pids?: number[];
}

const s = (text: string, status?: Status, extra?: Partial<Seg>): Seg => ({ text, status, ...extra });
const sep: Seg = { text: ' · ' };

function joinParts(parts: Line[]): Line {
  const out: Line = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(sep);
    out.push(...p);
  });
  return out;
}

/** A figure with its check's status: colour plus a textual marker. */
function fig(text: string, status: Status | undefined): Seg {
  return s(text + suffix(status), status);
}

function sparkWidth(width: number): number {
  return Math.max(6, Math.min(30, width - 50));
}

function ageSince(iso: string | null | undefined, nowMs: number): string | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return null;
  return `${formatDuration(Math.max(0, (nowMs - t) / 1000))} ago`;
}

function latestIso(a: string | null, b: string | null): string | null {
  const xs = [a, b].filter((x): x is string => !!x && Number.isFinite(Date.parse(x)));
  if (xs.length === 0) return null;
  return xs.sort((x, y) => Date.parse(x) - Date.parse(y))[xs.length - 1];
}

/** user@client in its database (the session checks are cluster-wide), and the application when it names itself (psql's default says nothing) */
function who(x: PgSession): string {
  const app = x.application && x.application !== 'psql' ? ` (${clean(x.application)})` : '';
  return `${clean(x.user ?? '?')}@${clean(x.client)} in ${clean(x.database ?? '?')}${app}`;
}

function shortVersion(pg: PgData): string {
  const n = pg.versionNum;
  if (n >= 100000) return `${Math.floor(n / 10000)}.${n % 10000}`;
  const m = /(\d+(?:\.\d+)+)/.exec(pg.version);
  return m ? m[1] : clean(pg.version).split(' ')[0];
}

interface Ctx {
  state: MonitorState;
  checks: Map<string, Check>;
  width: number;
  now: number;
}

type Body = { summary: Line; rows: Line[]; pids?: number[] };

const collecting: Body = { summary: [s('collecting…')], rows: [] };

// ---------------------------------------------------------------- sources still waited for
/** A wait shorter than this is a slow answer, not worth a word (it would flicker every round). */
const WAIT_SHOWN_MS = 1000;

/**
 * The wait on a source, when the panel should say so: it never answered, its deadline passed,
 * or it has been waited on for a second or more.
 */
function waitOn(state: MonitorState, id: string, now: number): SourceWait | null {
  const w = state.waiting?.find((x) => x.id === id);
  if (!w) return null;
  return w.lastAnswerAt === null || w.overdue || now - w.since >= WAIT_SHOWN_MS ? w : null;
}

function waitedText(w: SourceWait, now: number): string {
  const d = formatDuration(Math.max(0, now - w.since) / 1000);
  if (w.lastAnswerAt === null) return w.overdue ? `no answer from ${w.label} after ${d}` : `waiting for the first answer from ${w.label} (${d})`;
  return w.overdue ? `no answer from ${w.label} for ${d}` : `waiting for ${w.label} ${d}`;
}

/** The same, for a row that already names its source. */
function shortWait(w: SourceWait, now: number): string {
  const d = formatDuration(Math.max(0, now - w.since) / 1000);
  if (w.lastAnswerAt === null) return w.overdue ? `no answer after ${d}` : `no answer yet (${d})`;
  return w.overdue ? `no answer for ${d}` : `waiting ${d}`;
}

/** "waiting for PostgreSQL 4s · showing 14:02:11, 6s old": what the panel's figures are. */
function staleText(w: SourceWait, dataAt: number, now: number): string {
  return `${waitedText(w, now)} · showing ${hhmmss(dataAt)}, ${formatDuration(Math.max(0, now - dataAt) / 1000)} old`;
}

/** The segment a panel's summary (its title line) starts with while its source is waited for. */
function waitSeg(w: SourceWait, now: number): Seg {
  return s(`${shortWait(w, now)} · `, w.overdue ? 'UNKNOWN' : undefined);
}

/** A panel whose source has not answered once: the short form on its title, the long in its body. */
function neverAnswered(w: SourceWait, now: number, more: Line[] = []): Body {
  return { summary: [s(shortWait(w, now), 'UNKNOWN')], rows: [[s(waitedText(w, now), w.overdue ? 'UNKNOWN' : undefined)], ...more] };
}

// ---------------------------------------------------------------- host
function hostPanel({ state, checks, width, now }: Ctx): Body {
  const snap = state.snapshot;
  if (!snap) return collecting;
  const w = waitOn(state, 'host', now);
  if (w && w.lastAnswerAt === null) return neverAnswered(w, now);
  if (!snap.host.ok) return { summary: [...(w ? [waitSeg(w, now)] : []), s(`unavailable: ${clean(snap.host.error)}`, 'UNKNOWN')], rows: [] };
  const h = snap.host.data;
  const cpu = checks.get('host.cpu')?.status;
  const mem = checks.get('host.memory')?.status;
  const sw = sparkWidth(width);
  const load = h.load.map((l) => l.toFixed(2)).join(' ');
  const cpuTxt = h.cpuPct === null ? 'n/a' : pct0(h.cpuPct, 1);
  return {
    summary: [...(w ? [waitSeg(w, now)] : []), s('cpu '), fig(cpuTxt, cpu), s(' · mem '), fig(pct0(h.memUsedPct, 1), mem), s(` · load ${h.load[0].toFixed(2)}`)],
    rows: [
      ...(w ? [[s(staleText(w, snap.host.at, now), w.overdue ? 'UNKNOWN' : undefined)]] : []),
      [s('cpu  '), s(fit(cpuTxt + suffix(cpu), 8), cpu), s(' '), s(sparkline(state.history.cpu, sw, 0, 100), undefined, { accent: true }), s(`  load ${load}`)],
      [
        s('mem  '),
        s(fit(pct0(h.memUsedPct, 1) + suffix(mem), 8), mem),
        s(' '),
        s(sparkline(state.history.mem, sw, 0, 100), undefined, { accent: true }),
        s(h.swapTotalBytes > 0 ? `  swap ${formatBytes(h.swapUsedBytes)} of ${formatBytes(h.swapTotalBytes)}` : '  no swap'),
      ],
      [s(`${h.cores} cores · ${formatBytes(h.memTotalBytes)} RAM · up ${formatDuration(h.uptimeSec)}`)],
    ],
  };
}

// ---------------------------------------------------------------- disks
function disksPanel({ state, checks, now }: Ctx): Body {
  const snap = state.snapshot;
  if (!snap) return collecting;
  const w = waitOn(state, 'host', now);
  if (w && w.lastAnswerAt === null) return neverAnswered(w, now);
  const lead = w ? [waitSeg(w, now)] : [];
  if (!snap.host.ok) return { summary: [...lead, s(`unavailable: ${clean(snap.host.error)}`, 'UNKNOWN')], rows: [] };
  const judged = snap.host.data.filesystems.map((fs) => ({ fs, status: checks.get(`disk:${fs.mount}`)?.status }));
  // filesystems whose statfs has not returned (a hung network mount): named, never left out
  const stalled = (snap.host.data.stalledMounts ?? []).map((m) => ({ m, status: checks.get(`disk:${m.mount}`)?.status ?? ('UNKNOWN' as Status) }));
  if (judged.length === 0 && stalled.length === 0) {
    const c = checks.get('disk');
    return { summary: [...lead, s(c ? clean(c.summary) : 'no filesystem reported', c?.status)], rows: [] };
  }
  judged.sort((a, b) => severity(b.status) - severity(a.status) || b.fs.usedPct - a.fs.usedPct);
  const mw = Math.min(24, Math.max(...judged.map((j) => j.fs.mount.length), ...stalled.map((x) => x.m.mount.length)));
  const row = ({ fs, status }: (typeof judged)[number]): Line => [
    s(rowMark(status), status),
    s(` ${fit(clean(fs.mount), mw)} `),
    s(pct0(fs.usedPct).padStart(4), status),
    s(`  ${formatBytes(fs.usedBytes)} of ${formatBytes(fs.sizeBytes)}, ${formatBytes(fs.availBytes)} free  ${clean(fs.fstype)}`),
  ];
  const stalledRow = ({ m, status }: (typeof stalled)[number]): Line => [
    s(rowMark(status), status),
    s(` ${fit(clean(m.mount), mw)} `),
    s('not answering', status),
    s(` for ${formatDuration(Math.max(0, now - m.since) / 1000)} (statfs)  ${clean(m.fstype)} ${clean(m.device)}`),
  ];
  // in order of severity: the warnings and criticals first, then the ones not answering, then the rest
  const rows: Line[] = [
    ...judged.filter((j) => severity(j.status) > severity('UNKNOWN')).map(row),
    ...stalled.map(stalledRow),
    ...judged.filter((j) => severity(j.status) <= severity('UNKNOWN')).map(row),
  ];
  const quiet = stalled.length ? [s(' · '), fig(`${stalled.length} not answering`, 'UNKNOWN')] : [];
  const top = judged[0];
  if (!top) return { summary: [...lead, fig(`${stalled.length} filesystem${stalled.length === 1 ? '' : 's'} not answering`, 'UNKNOWN')], rows };
  return {
    summary: [
      ...lead,
      s(`${judged.length} filesystem${judged.length === 1 ? '' : 's'} · fullest ${clean(top.fs.mount)} `),
      fig(pct0(top.fs.usedPct), top.status),
      ...quiet,
    ],
    rows,
  };
}

// ---------------------------------------------------------------- postgres
type PgView = { kind: 'none' } | { kind: 'down'; reason: string; status: Status } | { kind: 'up'; pg: PgData };

function pgView({ state, checks }: Ctx): PgView {
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
function unavailable(v: Extract<PgView, { kind: 'down' }>, status: Status): Line {
  return [s(`unavailable: ${v.reason}`, status)];
}

function notConfigured(state: MonitorState, now: number, withTarget = false): Body {
  const w = waitOn(state, 'postgres', now);
  if (w) {
    if (!withTarget) return { summary: [s(shortWait(w, now), 'UNKNOWN')], rows: [] };
    return neverAnswered(w, now, state.target ? [[s(`target ${clean(state.target.name)} ${clean(state.target.display)}`)]] : []);
  }
  return { summary: [s(state.target ? 'no data yet' : 'not configured (no PostgreSQL target)')], rows: [] };
}

/** Word-wraps plain text to lines of at most `width` characters (long words are cut). */
export function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    for (let w = word; w.length > 0; ) {
      const room = line ? width - line.length - 1 : width;
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        out.push(line);
        line = '';
      } else {
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line) out.push(line);
  return out;
}

function postgresPanel(ctx: Ctx): Body {
  const { state, checks, width, now } = ctx;
  if (!state.snapshot) return collecting;
  const v = pgView(ctx);
  if (v.kind === 'none') return notConfigured(state, now, true);
  const w = waitOn(state, 'postgres', now);
  if (v.kind === 'down') {
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
  const r = pg.replication;
  let replText = 'no replicas';
  if (r.role === 'standby') replText = `standby, lag ${r.standbyLagSec === null ? 'n/a' : formatDuration(r.standbyLagSec)}`;
  else if (r.replicas.length > 0) {
    const maxLag = Math.max(...r.replicas.map((x) => x.lagSec ?? 0));
    replText = `${r.replicas.length} replica${r.replicas.length === 1 ? '' : 's'}, lag ${formatDuration(maxLag)}`;
  }
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

// ---------------------------------------------------------------- sessions
function sessionsPanel(ctx: Ctx): Body {
  const { state, checks, now } = ctx;
  if (!state.snapshot) return collecting;
  const v = pgView(ctx);
  if (v.kind === 'none') return notConfigured(state, now);
  if (v.kind === 'down') return { summary: unavailable(v, 'UNKNOWN'), rows: [] };
  const w = waitOn(state, 'postgres', now);
  const pg = v.pg;
  const bc = checks.get('sessions.blocked');
  const lc = checks.get('sessions.long_query');
  const ic = checks.get('sessions.idle_in_transaction');
  const tc = checks.get('sessions.long_transaction');
  // every verdict is the core's (each check's rows); the panel lists the sessions it found wanting
  const rows: Line[] = [];
  const pids: number[] = [];
  const counts = { blocked: 0, long: 0, idle: 0, xact: 0 };
  const add = (kind: keyof typeof counts, x: PgSession, c: Check | undefined, all: boolean, what: (st: Status | undefined) => Seg) => {
    const st = rowStatus(c, `pid ${x.pid}`);
    if (!all && (st === undefined || st === 'OK')) return;
    counts[kind] += 1;
    // a session already listed (a long query is a long transaction too) keeps its first row
    if (pids.includes(x.pid)) return;
    pids.push(x.pid);
    rows.push([s(rowMark(st), st), s(` pid ${x.pid} `), what(st), s(` · ${who(x)} · ${clean(x.query)}`)]);
  };
  for (const b of pg.blocked) {
    add('blocked', b, bc, true, (st) => s(`blocked by ${b.blockedBy.length ? b.blockedBy.join(', ') : '?'} for ${formatDuration(b.waitSec)}`, st));
  }
  for (const q of pg.longQueries) add('long', q, lc, false, (st) => s(`running ${formatDuration(q.durationSec)}`, st));
  for (const q of pg.idleInTransaction) {
    const open = q.xactSec !== null && Math.round(q.xactSec) > Math.round(q.durationSec) ? `, transaction ${formatDuration(q.xactSec)}` : '';
    add('idle', q, ic, false, (st) => s(`idle in transaction ${formatDuration(q.durationSec)}${open}`, st));
  }
  for (const q of pg.longTransactions) add('xact', q, tc, false, (st) => s(`transaction open ${formatDuration(q.durationSec)}`, st));
  const parts: Line[] = [];
  if (counts.blocked) parts.push([fig(`${counts.blocked} blocked`, bc?.status)]);
  if (counts.long) parts.push([fig(`${counts.long} long quer${counts.long === 1 ? 'y' : 'ies'}`, lc?.status)]);
  if (counts.idle) parts.push([fig(`${counts.idle} idle in transaction`, ic?.status)]);
  if (counts.xact) parts.push([fig(`${counts.xact} long transaction${counts.xact === 1 ? '' : 's'}`, tc?.status)]);
  return { summary: pgSummary(parts, w, state.snapshot.postgres?.at, now), rows, pids };
}

// ---------------------------------------------------------------- tables
function tablesPanel(ctx: Ctx): Body {
  const { state, checks, now } = ctx;
  const snap = state.snapshot;
  if (!snap) return collecting;
  const v = pgView(ctx);
  if (v.kind === 'none') return notConfigured(state, now);
  if (v.kind === 'down') return { summary: unavailable(v, 'UNKNOWN'), rows: [] };
  const w = waitOn(state, 'postgres', now);
  const pg = v.pg;
  const dc = checks.get('tables.dead_tuples');
  const uc = checks.get('tables.unused_indexes');
  const tables = pg.tables.map((t) => ({ t, st: rowStatus(dc, `${t.schema}.${t.name}`) }));
  tables.sort((a, b) => severity(b.st) - severity(a.st) || b.t.deadPct - a.t.deadPct);
  const tw = Math.min(28, Math.max(8, ...tables.map(({ t }) => t.schema.length + t.name.length + 1)));
  const rows: Line[] = tables.map(({ t, st }) => {
    const vac = ageSince(latestIso(t.lastVacuum, t.lastAutovacuum), snap.at);
    return [
      s(rowMark(st), st),
      s(` ${fit(clean(`${t.schema}.${t.name}`), tw)} `),
      s(`dead ${pct0(t.deadPct, 1)}`, st),
      s(` ${formatCount(t.deadTuples)} of ${formatCount(t.liveTuples + t.deadTuples)} · vacuum ${vac ?? 'never'}`),
      ...vacuumSegs(dc, `${t.schema}.${t.name}`),
    ];
  });
  let flagged = 0;
  for (const i of pg.unusedIndexes) {
    const st = rowStatus(uc, `${i.schema}.${i.name}`);
    if (st === 'WARNING' || st === 'CRITICAL') flagged += 1;
    rows.push([s(rowMark(st), st), s(` unused index ${clean(`${i.schema}.${i.name}`)} on ${clean(i.table)} `), s(formatBytes(i.sizeBytes), st)]);
  }
  const parts: Line[] = [];
  const top = tables[0];
  // a stale figure (its check UNKNOWN past the deadline) is listed, not pointed out
  if (top && (top.st === 'WARNING' || top.st === 'CRITICAL')) parts.push([s(`${clean(`${top.t.schema}.${top.t.name}`)} `), fig(`dead ${pct0(top.t.deadPct, 1)}`, top.st)]);
  if (flagged) parts.push([fig(`${flagged} unused index${flagged === 1 ? '' : 'es'}`, uc?.status)]);
  // invalid indexes, sequences near their limit, never-analyzed tables (screens/outages.ts)
  parts.push(...outageTableTitle(checks));
  return { summary: pgSummary(parts, w, snap.postgres?.at, now), rows: mergeBySeverity(rows, outageTableRows(checks)) };
}

/** The Sessions and Tables titles: past the deadline, what the last answer said, and when. */
function pgSummary(parts: Line[], w: SourceWait | null, dataAt: number | undefined, now: number): Line {
  if (!w) return parts.length ? joinParts(parts) : [s('none need attention', 'OK')];
  if (!w.overdue) return [waitSeg(w, now), ...(parts.length ? joinParts(parts) : [s('none need attention', 'OK')])];
  const then = dataAt ? ` at ${hhmmss(dataAt)}` : '';
  return [waitSeg(w, now), ...(parts.length ? [s(`${then.trim()}${then ? ': ' : ''}`), ...joinParts(parts)] : [s(`none needed attention${then}`)])];
}

// ---------------------------------------------------------------- endpoints
function endpointsPanel({ state, checks, now }: Ctx): Body {
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
    if (w.lastAnswerAt !== null || !['http', 'tls', 'backup', 'redis'].includes(w.kind)) continue;
    const st = checks.get(w.kind === 'backup' ? 'backup.age' : w.kind === 'redis' ? 'redis.latency' : w.id)?.status ?? 'UNKNOWN';
    const name = w.kind === 'http' || w.kind === 'tls' ? `${w.kind} ${clean(w.id.slice(w.kind.length + 1))}` : w.kind;
    row(st, name, shortWait(w, now));
  }
  if (rows.length === 0) return { summary: [s('none configured')], rows };
  const known = statuses.filter((x): x is Status => !!x);
  const bad = known.filter((x) => x !== 'OK').length;
  return {
    summary: [s(`${rows.length} endpoint${rows.length === 1 ? '' : 's'} · `), bad ? fig(`${bad} need attention`, worstOf(known) ?? undefined) : s('all OK', known.length ? 'OK' : undefined)],
    rows,
  };
}

const BUILDERS: Record<PanelId, (ctx: Ctx) => Body> = {
  host: hostPanel,
  disks: disksPanel,
  postgres: postgresPanel,
  sessions: sessionsPanel,
  tables: tablesPanel,
  endpoints: endpointsPanel,
};

/** Builds every panel for a column of `width` characters. `now` feeds "retrying in Ns" and the ages of waits. */
export function buildPanels(state: MonitorState, width: number, now: number): Record<PanelId, PanelModel> {
  const checks = new Map<string, Check>();
  for (const c of state.report?.checks ?? []) checks.set(c.id, c);
  const ctx: Ctx = { state, checks, width, now };
  const out = {} as Record<PanelId, PanelModel>;
  for (const id of PANEL_ORDER) {
    const groups = PANEL_GROUPS[id];
    const status = state.snapshot ? worstOf((state.report?.checks ?? []).filter((c) => groups.includes(c.group)).map((c) => c.status)) : null;
    out[id] = { id, status, ...BUILDERS[id](ctx) };
  }
  return out;
}
