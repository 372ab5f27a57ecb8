// What a checklist's check, gate and `when` steps can ask about the live system: named metrics
// read off one probe round, the status of health checks, the maintenance window, and a
// comparison with the health seen at the start of an earlier walkthrough (the baseline).
// Everything here is pure: the caller supplies the snapshot, the report and the clock.
import { WEEKDAYS, type MaintenanceWindow } from '../config/schema';
import { severity, worst, worstFirst } from '../health/status';
import type { Check, HealthReport, Snapshot, Status } from '../types';
import { formatDuration } from '../util/format';

export type Condition =
  | { metric: string; below?: number; atMost?: number; above?: number; atLeast?: number }
  | { health: string; atWorst?: 'OK' | 'WARNING' }
  | { inWindow: true }
  | { baseline: string };

/** What a condition came to: pass true/false, or null when it cannot be told (shown as UNKNOWN). */
export interface Verdict {
  pass: boolean | null;
  /** one line: what was seen */
  value: string;
}

/** The live data a condition is judged on. */
export interface LiveContext {
  snapshot: Snapshot | null;
  report: HealthReport | null;
  now: Date;
  window: MaintenanceWindow;
  /** check statuses at the start of the newest finished walkthrough of a checklist (by its id) */
  baseline?: (checklist: string) => { run: string; at: string; statuses: Record<string, Status> } | null;
}

// ---------------------------------------------------------------- metrics

export interface MetricDef {
  label: string;
  unit: string;
  get: (snap: Snapshot, report: HealthReport | null) => number | null;
}

const pg = (s: Snapshot) => (s.postgres?.ok ? s.postgres.data : null);
const host = (s: Snapshot) => (s.host.ok ? s.host.data : null);

/** The named metrics a checklist can compare; also the before/after figures of a report. */
export const METRICS: Record<string, MetricDef> = {
  'health.score': { label: 'health score', unit: '%', get: (_s, r) => (r ? r.score : null) },
  'host.cpu_pct': { label: 'CPU use', unit: '%', get: (s) => host(s)?.cpuPct ?? null },
  'host.mem_pct': { label: 'memory use', unit: '%', get: (s) => host(s)?.memUsedPct ?? null },
  'host.load1': { label: 'load (1 min)', unit: '', get: (s) => host(s)?.load[0] ?? null },
  'disk.max_used_pct': {
    label: 'fullest filesystem',
    unit: '%',
    get: (s) => {
      const fs = host(s)?.filesystems;
      return fs && fs.length ? Math.max(...fs.map((f) => f.usedPct)) : null;
    },
  },
  'pg.up': { label: 'PostgreSQL reachable', unit: '', get: (s) => (s.postgres ? (s.postgres.ok ? 1 : 0) : null) },
  'pg.connections': { label: 'connections', unit: '', get: (s) => pg(s)?.connections.total ?? null },
  'pg.connections_pct': {
    label: 'connections of max',
    unit: '%',
    get: (s) => {
      const c = pg(s)?.connections;
      return c && c.max > 0 ? (100 * c.total) / c.max : null;
    },
  },
  'pg.active_sessions': { label: 'active sessions', unit: '', get: (s) => (pg(s) ? (pg(s)!.connections.byState.active ?? 0) : null) },
  'pg.longest_query_sec': { label: 'longest query', unit: 's', get: (s) => (pg(s) ? (pg(s)!.longestQuery?.durationSec ?? 0) : null) },
  'pg.idle_in_transaction_sec': {
    label: 'oldest idle in transaction',
    unit: 's',
    get: (s) => (pg(s) ? (pg(s)!.oldestIdleInTransaction?.durationSec ?? 0) : null),
  },
  'pg.oldest_transaction_sec': {
    label: 'oldest open transaction',
    unit: 's',
    get: (s) => (pg(s) ? (pg(s)!.longTransactions[0]?.durationSec ?? 0) : null),
  },
  'pg.blocked_sessions': { label: 'blocked sessions', unit: '', get: (s) => pg(s)?.blocked.length ?? null },
  'pg.cache_hit_pct': { label: 'buffer cache hit', unit: '%', get: (s) => pg(s)?.cache.bufferHitPct ?? null },
  'pg.index_hit_pct': { label: 'index cache hit', unit: '%', get: (s) => pg(s)?.cache.indexHitPct ?? null },
  'pg.xid_age': { label: 'oldest xid age', unit: '', get: (s) => (pg(s)?.xidAge.length ? Math.max(...pg(s)!.xidAge.map((x) => x.age)) : null) },
  'tables.worst_dead_pct': { label: 'worst dead tuples', unit: '%', get: (s) => (pg(s) ? (pg(s)!.tables[0]?.deadPct ?? 0) : null) },
  'tables.unused_indexes': { label: 'unused indexes', unit: '', get: (s) => pg(s)?.unusedIndexes.length ?? null },
  'backup.age_hours': {
    label: 'newest backup age',
    unit: 'h',
    get: (s) => {
      if (!s.backup?.ok) return null;
      // no backup at all is infinitely old, not unknown
      return s.backup.data.newest ? s.backup.data.newest.ageSec / 3600 : Number.POSITIVE_INFINITY;
    },
  },
  'http.failing': {
    label: 'failing endpoints',
    unit: '',
    get: (s, r) => (r ? r.checks.filter((c) => c.group === 'http' && c.status !== 'OK').length : s.http.filter((h) => !h.result.ok).length),
  },
  'tls.min_days': { label: 'nearest TLS expiry', unit: 'd', get: (s) => (s.tls.some((t) => t.result.ok) ? Math.min(...s.tls.flatMap((t) => (t.result.ok ? [t.result.data.daysLeft] : []))) : null) },
};

export function formatMetric(name: string, v: number | null): string {
  if (v === null) return 'unknown';
  if (v === Number.POSITIVE_INFINITY) return name === 'backup.age_hours' ? 'none found' : 'none';
  if (name === 'pg.up') return v >= 1 ? 'yes' : 'no';
  const unit = METRICS[name]?.unit ?? '';
  if (unit === 's') return formatDuration(v);
  if (unit === 'h') return v < 48 ? `${v.toFixed(1)} h` : `${(v / 24).toFixed(1)} d`;
  const n = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return unit === '%' ? `${n} %` : unit ? `${n} ${unit}` : n;
}

/** Every metric's value in this snapshot (null where it could not be measured). */
export function metricsOf(snap: Snapshot | null, report: HealthReport | null): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, def] of Object.entries(METRICS)) {
    let v: number | null = null;
    if (snap) {
      try {
        v = def.get(snap, report);
      } catch {
        v = null;
      }
    }
    out[name] = v !== null && Number.isNaN(v) ? null : v;
  }
  return out;
}

// ---------------------------------------------------------------- the maintenance window

const DAY_INDEX = Object.fromEntries(WEEKDAYS.map((d, i) => [d, i])) as Record<string, number>;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

/** The weekday (0 = Sunday) and minute of the day at `now` in the time zone. */
function localTime(now: Date, timeZone: string): { day: number; minute: number; text: string } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = DAY_INDEX[get('weekday').toLowerCase().slice(0, 3)] ?? 0;
  const hour = Number(get('hour')) % 24;
  const minute = Number(get('minute'));
  return { day, minute: hour * 60 + minute, text: `${get('weekday')} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}` };
}

export function describeWindow(w: MaintenanceWindow): string {
  const days = w.days.length === 7 ? 'every day' : w.days.join(', ');
  return `${w.start}–${w.end} ${w.timezone}, ${days}`;
}

/** Whether `now` falls inside the window; a window whose end is before its start runs past midnight. */
export function inWindow(now: Date, w: MaintenanceWindow): boolean {
  const { day, minute } = localTime(now, w.timezone);
  const start = minutesOf(w.start);
  const end = minutesOf(w.end);
  const open = new Set(w.days.map((d) => DAY_INDEX[d]));
  if (start === end) return open.has(day); // the whole day
  if (start < end) return open.has(day) && minute >= start && minute < end;
  // past midnight: the evening of an open day, or the early hours after one
  return (open.has(day) && minute >= start) || (open.has((day + 6) % 7) && minute < end);
}

// ---------------------------------------------------------------- checks

/** The checks a `health` selector names: overall, a group, a check id, or an id prefix ending in '*'. */
export function selectChecks(report: HealthReport, selector: string): Check[] {
  if (selector === 'overall') return report.checks;
  if (selector.endsWith('*')) return report.checks.filter((c) => c.id.startsWith(selector.slice(0, -1)));
  const byId = report.checks.filter((c) => c.id === selector);
  return byId.length ? byId : report.checks.filter((c) => c.group === selector);
}

// ---------------------------------------------------------------- conditions

function metricVerdict(c: Extract<Condition, { metric: string }>, ctx: LiveContext): Verdict {
  const def = METRICS[c.metric];
  if (!def) return { pass: null, value: `unknown metric ${c.metric}` };
  if (!ctx.snapshot) return { pass: null, value: 'no health data yet' };
  const v = metricsOf(ctx.snapshot, ctx.report)[c.metric];
  if (v === null || v === undefined) return { pass: null, value: `${def.label}: could not be measured` };
  if (c.metric === 'pg.up') {
    const want = c.atLeast !== undefined || c.above !== undefined;
    return { pass: want ? v >= 1 : v < 1, value: v >= 1 ? 'PostgreSQL answers' : 'PostgreSQL does not answer' };
  }
  const fails: string[] = [];
  if (c.below !== undefined && !(v < c.below)) fails.push(`not below ${formatMetric(c.metric, c.below)}`);
  if (c.atMost !== undefined && !(v <= c.atMost)) fails.push(`above ${formatMetric(c.metric, c.atMost)}`);
  if (c.above !== undefined && !(v > c.above)) fails.push(`not above ${formatMetric(c.metric, c.above)}`);
  if (c.atLeast !== undefined && !(v >= c.atLeast)) fails.push(`below ${formatMetric(c.metric, c.atLeast)}`);
  return { pass: fails.length === 0, value: `${def.label} ${formatMetric(c.metric, v)}${fails.length ? `: ${fails.join(', ')}` : ''}` };
}

function healthVerdict(c: Extract<Condition, { health: string }>, ctx: LiveContext): Verdict {
  if (!ctx.report) return { pass: null, value: 'no health data yet' };
  const checks = selectChecks(ctx.report, c.health);
  if (checks.length === 0) {
    const hint = c.health.startsWith('backup') ? ' (set backup.dir in the config)' : c.health.startsWith('http') || c.health.startsWith('tls') ? ` (add ${c.health.slice(0, 4).replace(/[.:]$/, '')} entries to the config)` : '';
    return { pass: null, value: `no check "${c.health}" is configured${hint}` };
  }
  // the project's one status order (src/health/status.ts) ranks UNKNOWN below WARNING, but a
  // check that could not be judged never lets a condition pass: worse than allowed fails, and
  // otherwise any UNKNOWN among the checks leaves the condition unknown (not passed)
  const status = worst(checks.map((x) => x.status));
  const allowed = c.atWorst ?? 'OK';
  const bad = checks.filter((x) => x.status !== 'OK').sort((a, b) => worstFirst(a.status, b.status));
  const unknown = checks.filter((x) => x.status === 'UNKNOWN');
  const label = c.health === 'overall' ? 'overall' : checks.length === 1 ? checks[0].label : c.health;
  const value = bad.length ? `${label} ${status}: ${bad[0].summary}${bad.length > 1 ? ` (+${bad.length - 1} more)` : ''}` : `${label} OK${checks.length === 1 ? `: ${checks[0].summary}` : ''}`;
  if (severity(status) > severity(allowed) && status !== 'UNKNOWN') return { pass: false, value };
  if (unknown.length) {
    // what keeps it from passing is what could not be judged: say so when the worst shown is not it
    const why = status === 'UNKNOWN' ? '' : `; UNKNOWN: ${unknown[0].label}: ${unknown[0].summary}${unknown.length > 1 ? ` (+${unknown.length - 1} more)` : ''}`;
    return { pass: null, value: `${value}${why}` };
  }
  return { pass: true, value };
}

function baselineVerdict(c: Extract<Condition, { baseline: string }>, ctx: LiveContext): Verdict {
  if (!ctx.report) return { pass: null, value: 'no health data yet' };
  const base = ctx.baseline?.(c.baseline) ?? null;
  if (!base) return { pass: null, value: `no finished ${c.baseline} walkthrough on this target to compare with` };
  // UNKNOWN now, where it was judged then (or absent): it cannot be told whether it is worse
  const unknownNow = (x: Check) => x.status === 'UNKNOWN' && base.statuses[x.id] !== 'UNKNOWN';
  const worse = ctx.report.checks.filter((x) => {
    if (unknownNow(x)) return false;
    const before = base.statuses[x.id];
    return before !== undefined ? severity(x.status) > severity(before) : x.status !== 'OK';
  });
  const unknown = ctx.report.checks.filter(unknownNow);
  if (worse.length === 0 && unknown.length) {
    const first = unknown[0];
    return {
      pass: null,
      value: `${unknown.length} check${unknown.length === 1 ? '' : 's'} UNKNOWN, not comparable with ${base.run}: ${first.label}: ${first.summary}${unknown.length > 1 ? ` (+${unknown.length - 1} more)` : ''}`,
    };
  }
  if (worse.length === 0) return { pass: true, value: `no check worse than at the start of ${base.run}` };
  const first = worse[0];
  return {
    pass: false,
    value: `${worse.length} check${worse.length === 1 ? '' : 's'} worse than at ${base.run}: ${first.label} ${base.statuses[first.id] ?? 'absent'} → ${first.status}${worse.length > 1 ? ` (+${worse.length - 1} more)` : ''}`,
  };
}

/** Judges a condition on live data. Never throws. */
export function judgeCondition(c: Condition, ctx: LiveContext): Verdict {
  if ('metric' in c) return metricVerdict(c, ctx);
  if ('health' in c) return healthVerdict(c, ctx);
  if ('baseline' in c) return baselineVerdict(c, ctx);
  const inside = inWindow(ctx.now, ctx.window);
  const now = localTime(ctx.now, ctx.window.timezone).text;
  return { pass: inside, value: `${inside ? 'inside' : 'outside'} the window (now ${now} ${ctx.window.timezone}; window ${describeWindow(ctx.window)})` };
}

/** The condition in words, for the step list and the report. */
export function describeCondition(c: Condition): string {
  if ('metric' in c) {
    if (c.metric === 'pg.up') return c.atLeast !== undefined || c.above !== undefined ? 'PostgreSQL answers' : 'PostgreSQL does not answer';
    const def = METRICS[c.metric];
    const parts: string[] = [];
    if (c.below !== undefined) parts.push(`< ${formatMetric(c.metric, c.below)}`);
    if (c.atMost !== undefined) parts.push(`≤ ${formatMetric(c.metric, c.atMost)}`);
    if (c.above !== undefined) parts.push(`> ${formatMetric(c.metric, c.above)}`);
    if (c.atLeast !== undefined) parts.push(`≥ ${formatMetric(c.metric, c.atLeast)}`);
    return `${def?.label ?? c.metric} ${parts.join(' and ')}`;
  }
  if ('health' in c) return `${c.health} ${c.atWorst === 'WARNING' ? 'at worst WARNING' : 'OK'}`;
  if ('baseline' in c) return `no check worse than at the start of the last ${c.baseline}`;
  return 'inside the maintenance window';
}
