// The dashboard's lines for the checks behind real outages (src/health/outages.ts): drawn from
// the checks' verdicts and rows, never judged here. Pure, like the panel bodies
// (screens/panel-bodies/), which place them:
// - PostgreSQL panel: the worst of them on its title; a line per check that needs attention right
//   under the panel's first line (so 80x24 shows them), an overview line at the end (shown when
//   the terminal is taller);
// - Tables panel: a row per invalid index, sequence near its limit, never-analyzed table and
//   table with autovacuum off, among its rows by severity; on a dead-tuple row, whether vacuum
//   can remove the rows now.
import type { Check, PgData, Status } from '../src/types';
import { clean, formatCount, rowMark, severity, suffix } from './format';
import type { Line, Seg } from './line';

const s = (text: string, status?: Status): Seg => ({ text, status });
const fig = (text: string, status: Status | undefined): Seg => s(text + suffix(status), status);
const flagged = (st: Status | undefined) => st === 'WARNING' || st === 'CRITICAL';

/** The outage checks shown in the PostgreSQL panel, and their short names for its title. */
const PG_CHECKS: readonly [string, string][] = [
  ['pg.archiver', 'archiver'],
  ['pg.replication_slots', 'slots'],
  ['pg.autovacuum', 'autovacuum'],
  ['pg.xmin_horizon', 'xmin horizon'],
  ['pg.prepared_xacts', 'prepared xacts'],
  ['pg.mxid_age', 'mxid age'],
];
const TABLE_CHECKS = ['indexes.invalid', 'sequences.exhaustion', 'tables.never_analyzed'] as const;

function byWorst(checks: Map<string, Check>, ids: readonly string[]): Check[] {
  return ids
    .map((id) => checks.get(id))
    .filter((c): c is Check => !!c)
    .sort((a, b) => severity(b.status) - severity(a.status));
}

/** Title segments: " · archiver!! +2" (the worst outage check needing attention, and how many more). */
export function outagePgTitle(checks: Map<string, Check>): Seg[] {
  const bad = byWorst(
    checks,
    PG_CHECKS.map(([id]) => id),
  ).filter((c) => flagged(c.status));
  if (bad.length === 0) return [];
  const name = PG_CHECKS.find(([id]) => id === bad[0].id)?.[1] ?? bad[0].label;
  return [s(' · '), fig(name, bad[0].status), ...(bad.length > 1 ? [s(` +${bad.length - 1}`)] : [])];
}

/**
 * One line per PostgreSQL outage check that needs attention, worst first: its summary. UNKNOWN
 * ones (a privilege missing) too, unless the source is overdue (then every check says so, and the
 * panel already does).
 */
export function outagePgRows(checks: Map<string, Check>, stale: boolean): Line[] {
  return byWorst(
    checks,
    PG_CHECKS.map(([id]) => id),
  )
    .filter((c) => flagged(c.status) || (c.status === 'UNKNOWN' && !stale))
    .map((c): Line => [s(rowMark(c.status), c.status), s(` ${clean(c.summary)}`, c.status)]);
}

/**
 * "slots 1 · archiver 0 waiting · xmin 12 old · prepared 0 · autovacuum 1 busy · freeze xid 0.1%
 * mxid 0.0%": the figures, when taller (the last two: the oldest database's ages as a share of
 * autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age; the multixact age itself
 * when those are not known).
 */
export function outagePgOverview(checks: Map<string, Check>, pg?: PgData): Line | null {
  const parts: Seg[] = [];
  const add = (label: string, c: Check | undefined, text: string) => {
    if (!c) return;
    if (parts.length) parts.push(s(' · '));
    parts.push(s(`${label} `), fig(text, c.status));
  };
  const slots = checks.get('pg.replication_slots');
  add('slots', slots, `${slots?.rows?.length ?? 0}`);
  const arch = checks.get('pg.archiver');
  add('archiver', arch, arch?.value == null ? (arch?.summary.includes('off') ? 'off' : 'n/a') : `${formatCount(arch.value)} waiting`);
  const xmin = checks.get('pg.xmin_horizon');
  add('xmin', xmin, xmin?.value == null ? 'n/a' : `${formatCount(xmin.value)} old`);
  const prep = checks.get('pg.prepared_xacts');
  add('prepared', prep, `${prep?.rows?.length ?? 0}`);
  const av = checks.get('pg.autovacuum');
  add('autovacuum', av, av?.rows?.some((r) => r.subject === 'autovacuum') ? 'off' : `${av?.value ?? 0} busy`);
  const mx = checks.get('pg.mxid_age');
  const o = pg?.outages && !('error' in pg.outages) ? pg.outages : null;
  const xid = checks.get('pg.xid_age');
  if (o && xid?.value != null && mx?.value != null && o.settings.freezeMaxAge > 0 && o.settings.multixactFreezeMaxAge > 0) {
    const share = (age: number, max: number) => `${((100 * age) / max).toFixed(1)}%`;
    parts.push(s(' · freeze xid '), fig(share(xid.value, o.settings.freezeMaxAge), xid.status), s(' mxid '), fig(share(mx.value, o.settings.multixactFreezeMaxAge), mx.status));
  } else add('mxid', mx, mx?.value == null ? 'n/a' : formatCount(mx.value));
  return parts.length ? parts : null;
}

/** The Tables panel's rows for the outage checks: each object found wanting, worst first. */
export function outageTableRows(checks: Map<string, Check>): Line[] {
  const out: { st: Status; line: Line }[] = [];
  const stale = (c: Check) => c.status === 'UNKNOWN';
  for (const c of byWorst(checks, TABLE_CHECKS)) {
    if (stale(c)) continue;
    for (const r of c.rows ?? []) {
      if (!flagged(r.status)) continue;
      out.push({ st: r.status, line: [s(rowMark(r.status), r.status), s(` ${clean(r.text ?? r.subject)}`, r.status)] });
    }
  }
  // tables autovacuum leaves alone while their dead rows pile up (pg.autovacuum's table rows)
  const av = checks.get('pg.autovacuum');
  if (av && !stale(av)) {
    for (const r of av.rows ?? []) {
      if (r.object?.kind !== 'table' || !flagged(r.status)) continue;
      out.push({ st: r.status, line: [s(rowMark(r.status), r.status), s(` ${clean(r.text ?? r.subject)}`, r.status)] });
    }
  }
  return out.sort((a, b) => severity(b.st) - severity(a.st)).map((x) => x.line);
}

/** Title parts for the Tables panel: "1 invalid index!!", "public.t_id_seq 93%!!", "2 never analyzed!". */
export function outageTableTitle(checks: Map<string, Check>): Line[] {
  const parts: Line[] = [];
  const inv = checks.get('indexes.invalid');
  const nInv = inv?.rows?.filter((r) => flagged(r.status)).length ?? 0;
  if (inv && flagged(inv.status) && nInv) parts.push([fig(`${nInv} invalid index${nInv === 1 ? '' : 'es'}`, inv.status)]);
  const seq = checks.get('sequences.exhaustion');
  if (seq && flagged(seq.status) && seq.subject) parts.push([s(`${clean(seq.subject)} `), fig(`${Math.floor(seq.value ?? 0)}% used`, seq.status)]);
  const na = checks.get('tables.never_analyzed');
  const nNa = na?.rows?.filter((r) => flagged(r.status)).length ?? 0;
  if (na && flagged(na.status) && nNa) parts.push([fig(`${nNa} never analyzed`, na.status)]);
  return parts;
}

/**
 * Inserts rows into a panel's rows by severity (the first segment's status): each before the
 * first row less severe than it, so the ones needing attention come first at any height.
 */
export function mergeBySeverity(base: Line[], extra: Line[]): Line[] {
  const out = [...base];
  for (const line of extra) {
    const sev = severity(line[0]?.status);
    const at = out.findIndex((l) => severity(l[0]?.status) < sev);
    if (at < 0) out.push(line);
    else out.splice(at, 0, line);
  }
  return out;
}

/** On a dead-tuple row: " · held by pid 4242" (vacuum cannot remove them), or " · vacuum can remove them now". */
export function vacuumSegs(dead: Check | undefined, subject: string): Seg[] {
  if (!dead || dead.status === 'UNKNOWN') return [];
  const v = dead.rows?.find((r) => r.subject === subject)?.vacuum;
  if (!v) return [];
  if (v.removable === 'now') return [s(' · vacuum can remove them now')];
  // the holder as its subject ("pid 4242", "slot s"): its whole description is pg.xmin_horizon's
  const by = clean((v.heldBy ?? '?').split(' (')[0]);
  return v.removable === 'held' ? [s(' · '), s(`held by ${by}`, 'WARNING')] : [s(` · partly held by ${by}`)];
}
