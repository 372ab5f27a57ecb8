// `ops check --format openmetrics`: the checks of one round as gauges, for Prometheus (issue 15
// §3). The text is the OpenMetrics text format, which Prometheus's text parser and node_exporter's
// textfile collector also read (`# EOF` is a comment to them); `promtool check metrics` lints it.
// `--output FILE` writes it atomically, for the textfile collector (writeAtomically).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UnknownError } from '../errors';
import { EXIT_CODE } from '../health/rules';
import type { HealthReport } from '../types';
import { sanitizeLine } from '../util/sanitize';

/** A label value as the text format wants it: one terminal-safe line, \ " and newline escaped. */
export function labelValue(s: string): string {
  return sanitizeLine(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(',')}}`;
}

/** A sample's value: finite numbers as they are (Go's float parser reads them), else NaN. */
function num(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(12))) : 'NaN';
}

interface Family {
  name: string;
  help: string;
  samples: string[];
}

/**
 * The report as metric families: the verdict and score of the target, then each check's status
 * (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), its measured value and its thresholds, labelled with
 * the check id, its group, its subject and the target. A check without a value or thresholds has
 * no sample in those families. A second check with the same labels (never expected) is left out,
 * so that no series repeats.
 */
export function openMetrics(report: HealthReport, target: string): string {
  return openMetricsOf([{ report, target }]);
}

/**
 * Several reports in one exposition (`ops check --all-targets`): each family once, with the
 * samples of every report, told apart by their `target` label. A report with `verdict: false`
 * (the host's own checks, probed once for all targets) gives no verdict or score samples.
 */
export function openMetricsOf(reports: readonly { report: HealthReport; target: string; verdict?: boolean }[]): string {
  const fam = (name: string, help: string): Family => ({ name, help, samples: [] });
  const health = fam('ops_health_status', 'The verdict of the target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the worst check).');
  const score = fam('ops_health_score_ratio', 'The health score of the target, 0 to 1.');
  const status = fam('ops_check_status', 'A check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.');
  const value = fam('ops_check_value', 'The figure a check judged, in the unit of its "unit" label.');
  const warning = fam('ops_check_warning_threshold', 'The figure at which a check turns WARNING (above or below, as its "direction" label says).');
  const critical = fam('ops_check_critical_threshold', 'The figure at which a check turns CRITICAL (above or below, as its "direction" label says).');
  const seen = new Set<string>();
  for (const { report, target, verdict = true } of reports) {
    const t = labels({ target });
    if (verdict && !seen.has(`health${t}`)) {
      seen.add(`health${t}`);
      health.samples.push(`ops_health_status${t} ${EXIT_CODE[report.status]}`);
      score.samples.push(`ops_health_score_ratio${t} ${num(report.score / 100)}`);
    }
    for (const c of report.checks) {
      const base = { target, check: c.id, group: c.group, subject: c.subject ?? '' };
      const key = labels(base);
      if (seen.has(key)) continue;
      seen.add(key);
      status.samples.push(`ops_check_status${key} ${EXIT_CODE[c.status]}`);
      if (c.value !== null && Number.isFinite(c.value)) value.samples.push(`ops_check_value${labels({ ...base, unit: c.unit })} ${num(c.value)}`);
      if (c.thresholds) {
        const th = labels({ ...base, direction: c.thresholds.direction });
        warning.samples.push(`ops_check_warning_threshold${th} ${num(c.thresholds.warning)}`);
        critical.samples.push(`ops_check_critical_threshold${th} ${num(c.thresholds.critical)}`);
      }
    }
  }
  const out: string[] = [];
  for (const f of [health, score, status, value, warning, critical]) {
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`, ...f.samples);
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

/**
 * Writes `text` to `file` so that a reader (node_exporter's textfile collector) sees the old file
 * or the new one, never half of one: a temporary file beside it, fsynced, then renamed over it.
 * A failure (a missing directory, no permission, a full disk) is one line naming the file.
 */
export function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', 0o644);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new UnknownError(`--output ${file}: cannot write it (${e.code ?? e.message})`);
  }
}
