// `ops check`: one probe round, judged, printed as a monitoring plugin does.
import { resolveTarget, type ResolvedTarget, type Settings } from '../config/load';
import { UnknownError } from '../errors';
import { EXIT_CODE, pluginLine, worst } from '../health/rules';
import { collectOnce } from '../monitor';
import { CHECK_GROUPS, type Check, type CheckGroup, type HealthReport } from '../types';
import { redact } from '../util/redact';
import { sanitizeLine, terminalJson } from '../util/sanitize';
import { openMetrics, openMetricsOf } from './openmetrics';

export function parseOnly(only: string | undefined): Set<CheckGroup> | undefined {
  if (only === undefined) return undefined;
  const groups = only.split(',').map((s) => s.trim()).filter(Boolean);
  if (groups.length === 0) throw new UnknownError(`--only: name at least one group (${CHECK_GROUPS.join(', ')})`);
  for (const g of groups) {
    if (!(CHECK_GROUPS as readonly string[]).includes(g)) {
      throw new UnknownError(`--only: unknown group "${g}" (groups: ${CHECK_GROUPS.join(', ')})`);
    }
  }
  return new Set(groups as CheckGroup[]);
}

/** What `ops check` prints: the plugin lines, JSON, or OpenMetrics. */
export type CheckFormat = 'nagios' | 'json' | 'openmetrics';
const FORMATS: readonly CheckFormat[] = ['nagios', 'json', 'openmetrics'];

/** --format and --json, checked: a bad value or a conflict is an UNKNOWN (3) usage error. */
export function parseFormat(format: string | undefined, json: boolean): CheckFormat {
  if (format === undefined) return json ? 'json' : 'nagios';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UnknownError(`--format: unknown format "${format}" (formats: ${FORMATS.join(', ')})`);
  if (json && format !== 'json') throw new UnknownError(`--json and --format ${format}: give one of them`);
  return format as CheckFormat;
}

export interface CheckResult {
  report: HealthReport;
  exitCode: number;
  output: string;
}

export function checkJson(report: HealthReport, settings: Settings): object {
  return {
    status: report.status,
    score: report.score,
    at: new Date(report.at).toISOString(),
    target: settings.target.display,
    checks: report.checks.map((c) => ({
      id: c.id,
      group: c.group,
      status: c.status,
      summary: c.summary,
      value: c.value === null ? null : Number(c.value.toFixed(3)),
      unit: c.unit,
      thresholds: c.thresholds,
      subject: c.subject,
      ...outageFields(c),
    })),
  };
}

/**
 * A check's findings: each problem row with the object it is about and, where a built-in task
 * fixes it, `fix: {task, params}` bound to that object (src/health/fixes.ts); a hint where no
 * task does; on a table with many dead rows, whether vacuum can remove them now.
 */
function outageFields(c: Check): object {
  const findings = (c.rows ?? [])
    .filter((r) => (r.object || r.vacuum) && r.status !== 'OK')
    .map((r) => ({ subject: r.subject, status: r.status, value: r.value, ...(r.text ? { text: r.text } : {}), ...(r.object ? { object: r.object } : {}), ...(r.hint ? { hint: r.hint } : {}), ...(r.vacuum ? { vacuum: r.vacuum } : {}), ...(r.fix ? { fix: r.fix } : {}) }));
  return { ...(c.fix ? { fix: c.fix } : {}), ...(c.hint ? { hint: c.hint } : {}), ...(findings.length ? { findings } : {}) };
}

export async function runCheck(settings: Settings, opts: { json?: boolean; format?: CheckFormat; only?: Set<CheckGroup> }): Promise<CheckResult> {
  const format: CheckFormat = opts.format ?? (opts.json ? 'json' : 'nagios');
  const { report } = await collectOnce({ config: settings.config, target: settings.target, only: opts.only });
  const secrets = settings.target.secrets;
  // secrets out first, on the raw text (the sanitizer could change a secret's spelling), then
  // every printed field passes the sanitizer: the summaries carry table names and query texts
  const shown: HealthReport = {
    ...report,
    checks: report.checks.map((c) => ({ ...c, summary: redact(c.summary, secrets), subject: c.subject === null ? null : redact(c.subject, secrets) })),
  };
  let output: string;
  if (format === 'openmetrics') {
    output = openMetrics(shown, redact(settings.target.name, secrets));
  } else if (format === 'json') {
    // JSON escapes C0 itself; terminalJson escapes C1, DEL and bidi too, so `ops check --json` on a terminal is safe
    output = `${terminalJson(checkJson(shown, settings), 2)}\n`;
  } else {
    const lines = [pluginLine(shown)];
    for (const c of shown.checks) lines.push(`[${c.status}] ${sanitizeLine(c.id)}: ${sanitizeLine(c.summary)}`);
    output = `${lines.join('\n')}\n`;
  }
  return { report, exitCode: EXIT_CODE[report.status], output: redact(output, secrets) };
}

/** The groups a PostgreSQL target's own round judges; the others are the host's, probed once. */
const TARGET_GROUPS: readonly CheckGroup[] = ['postgres', 'sessions', 'tables'];

function within(groups: readonly CheckGroup[], only: ReadonlySet<CheckGroup> | undefined): Set<CheckGroup> {
  return new Set(groups.filter((g) => !only || only.has(g)));
}

/**
 * `ops check --all-targets`: every configured target in one run (issue 15 §1). Each target gets a
 * round of its own PostgreSQL checks, on its own connection, all at once; the host's checks (CPU,
 * memory, disks, endpoints, certificates, backups, Redis) are probed once, for the host itself. A
 * target that is down or slow answers for itself only (its pg.up, within probeTimeoutMs). The
 * exit code is the worst status of all, in the one status order.
 */
export async function runCheckAll(settings: Settings, opts: { format: CheckFormat; only?: Set<CheckGroup>; env?: NodeJS.ProcessEnv }): Promise<CheckResult> {
  const { config, configFile } = settings;
  if (config.targets.length === 0) throw new UnknownError(`--all-targets: no targets are configured in ${configFile} (see "ops config set targets")`);
  const targets: ResolvedTarget[] = config.targets.map((t) => resolveTarget(config, { target: t.name }, opts.env ?? process.env, configFile));
  const secrets = targets.flatMap((t) => t.secrets);
  const pgGroups = within(TARGET_GROUPS, opts.only);
  const hostGroups = within(CHECK_GROUPS.filter((g) => !TARGET_GROUPS.includes(g)), opts.only);
  const [host, ...rounds] = await Promise.all([
    hostGroups.size ? collectOnce({ config, target: null, only: hostGroups }) : Promise.resolve(null),
    ...targets.map((t) => (pgGroups.size ? collectOnce({ config, target: t, only: pgGroups }) : Promise.resolve(null))),
  ]);
  const shown = (r: HealthReport, extra: readonly string[]): HealthReport => ({
    ...r,
    checks: r.checks.map((c) => ({ ...c, summary: redact(c.summary, [...secrets, ...extra]), subject: c.subject === null ? null : redact(c.subject, [...secrets, ...extra]) })),
  });
  const hostReport = host ? shown(host.report, []) : null;
  const results = targets.map((t, i) => ({ target: t, report: rounds[i] ? shown(rounds[i]!.report, t.secrets) : null }));
  const statuses = [...(hostReport ? [hostReport.status] : []), ...results.flatMap((r) => (r.report ? [r.report.status] : []))];
  const status = statuses.length ? worst(statuses) : 'UNKNOWN';
  let output: string;
  if (opts.format === 'openmetrics') {
    output = openMetricsOf([
      ...(hostReport ? [{ report: hostReport, target: '', verdict: false }] : []),
      ...results.filter((r) => r.report).map((r) => ({ report: r.report!, target: redact(r.target.name, secrets) })),
    ]);
  } else if (opts.format === 'json') {
    const json = {
      status,
      at: new Date().toISOString(),
      host: hostReport ? { status: hostReport.status, score: hostReport.score, checks: (checkJson(hostReport, settings) as { checks: unknown[] }).checks } : null,
      results: results.map((r) => ({ name: r.target.name, ...(r.report ? checkJson(r.report, { ...settings, target: r.target }) : { status: 'UNKNOWN', checks: [] }) })),
    };
    output = `${terminalJson(json, 2)}\n`;
  } else {
    const lines = [`OPS ${status} - ${results.length} target${results.length === 1 ? '' : 's'}: ${results.map((r) => `${sanitizeLine(r.target.name)} ${r.report?.status ?? 'UNKNOWN'}`).join(', ')}${hostReport ? `; host ${hostReport.status}` : ''}`];
    if (hostReport) for (const c of hostReport.checks) lines.push(`[host] [${c.status}] ${sanitizeLine(c.id)}: ${sanitizeLine(c.summary)}`);
    for (const r of results) for (const c of r.report?.checks ?? []) lines.push(`[${sanitizeLine(r.target.name)}] [${c.status}] ${sanitizeLine(c.id)}: ${sanitizeLine(c.summary)}`);
    output = `${lines.join('\n')}\n`;
  }
  const report: HealthReport = { status, score: 0, at: Date.now(), checks: [...(hostReport?.checks ?? []), ...results.flatMap((r) => r.report?.checks ?? [])] } as HealthReport;
  return { report, exitCode: EXIT_CODE[status], output: redact(output, secrets) };
}
