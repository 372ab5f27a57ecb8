// The Sessions and Tables panels: the sessions and tables the core's checks found wanting (every
// verdict is a check's row), bound to the pid or table each row is about.
import type { Line, Seg } from '../line';
import type { Check, PgSession, Status } from '../../src/types';
import { mergeBySeverity, outageTableRows, outageTableTitle, vacuumSegs } from '../outages';
import { clean, fit, formatBytes, formatCount, formatDuration, pct0, rowMark, rowStatus, severity } from '../format';
import { collecting, fig, s, waitOn, type Body, type Ctx } from './parts';
import { notConfigured, pgSummary, pgView, unavailable } from './postgres';

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

// ---------------------------------------------------------------- sessions
export function sessionsPanel(ctx: Ctx): Body {
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
export function tablesPanel(ctx: Ctx): Body {
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
