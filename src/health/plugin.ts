// The monitoring-plugin output of a report: the status line and its perfdata
// (Nagios plugin conventions: `label=value[UOM];warn;crit`).
import type { HealthReport } from '../types';
import { perfdataLabel, sanitizeLine } from '../util/sanitize';
import { worstFirst } from './status';

// ---------------------------------------------------------------- plugin output

const UOM: Record<string, string> = { '%': '%', s: 's', ms: 'ms', h: '', d: '', '': '', B: 'B' };

/**
 * Nagios perfdata: 'label'=value[UOM];warn;crit, the thresholds as plugin ranges. A bare N
 * alerts above N (higher is worse); lower-is-worse checks (cache hit ratios, TLS days) give
 * "N:", which alerts below N: `'pg.cache.buffer'=99.3%;90:;80:`.
 */
export function perfdata(report: HealthReport): string {
  return report.checks
    .filter((c) => c.value !== null && Number.isFinite(c.value))
    .map((c) => {
      const v = Number((c.value as number).toFixed(c.unit === '%' ? 1 : 3));
      const t = c.thresholds;
      const range = (n: number) => (t?.direction === 'below' ? `${n}:` : `${n}`);
      return `${perfdataLabel(c.id)}=${v}${UOM[c.unit] ?? ''}${t ? `;${range(t.warning)};${range(t.critical)}` : ''}`;
    })
    .join(' ');
}

/**
 * The plugin's first line: `OPS CRITICAL - summary | perfdata`. Always one line: the summaries
 * (which carry table names and query texts) pass through the sanitizer, and a `|` in them,
 * which would start the perfdata, becomes `/`.
 */
export function pluginLine(report: HealthReport): string {
  const bad = report.checks.filter((c) => c.status !== 'OK');
  bad.sort((a, b) => worstFirst(a.status, b.status));
  // checks that fail for one shared reason ("database unavailable") are told once, counted
  const parts: string[] = [];
  const seen = new Map<string, number>();
  for (const c of bad) {
    // a summary ending in a query's ";" would double the separator the parts are joined with
    const text = c.summary.replace(/[\s;]+$/, '');
    const key = `${c.status}\u0000${text}`;
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, parts.length);
      parts.push(`${c.status === 'UNKNOWN' ? 'UNKNOWN: ' : ''}${text}`);
    } else if (/^\d+ checks /.test(parts[at])) {
      parts[at] = parts[at].replace(/^(\d+)/, (n) => String(Number(n) + 1));
    } else {
      parts[at] = `2 checks ${c.status}: ${text}`;
    }
  }
  const summary = parts.length
    ? parts.slice(0, 3).join('; ') + (parts.length > 3 ? `; +${parts.length - 3} more` : '')
    : report.checks.length
      ? `${report.checks.length} checks OK`
      : 'nothing to check: the selected groups have nothing configured';
  const pd = perfdata(report);
  return `OPS ${report.status} - ${sanitizeLine(summary).replace(/\|/g, '/')}${pd ? ` | ${pd}` : ''}`;
}
