// `ops check --format openmetrics` (src/cli/openmetrics.ts): the families and their samples, label
// values escaped and sanitized, no series twice, and --output's atomic write and its one-line error.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { labelValue, openMetrics, writeAtomically } from '../../src/cli/openmetrics';
import type { Check, HealthReport } from '../../src/types';

const check = (over: Partial<Check>): Check => ({
  id: 'pg.connections',
  group: 'postgres',
  label: 'connections',
  status: 'OK',
  summary: '',
  value: 12,
  unit: '%',
  thresholds: { warning: 80, critical: 90, direction: 'above' },
  subject: 'shop',
  ...over,
});

const report = (checks: Check[]): HealthReport => ({ status: 'CRITICAL', score: 87, at: 0, checks }) as unknown as HealthReport;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('openMetrics', () => {
  it('the verdict, the score and each check as gauges, with value and thresholds where there are', () => {
    const text = openMetrics(
      report([
        check({}),
        check({ id: 'sessions.blocked', group: 'sessions', status: 'CRITICAL', value: null, thresholds: null, subject: null }),
        check({ id: 'tables.dead_tuples', group: 'tables', status: 'WARNING', value: 25.5, thresholds: { warning: 20, critical: 40, direction: 'above' }, subject: 'public.orders' }),
      ]),
      'prod',
    );
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE ops_check_status gauge');
    expect(text).toContain('ops_health_status{target="prod"} 2');
    expect(text).toContain('ops_health_score_ratio{target="prod"} 0.87');
    expect(text).toContain('ops_check_status{target="prod",check="pg.connections",group="postgres",subject="shop"} 0');
    expect(text).toContain('ops_check_status{target="prod",check="sessions.blocked",group="sessions",subject=""} 2');
    expect(text).toContain('ops_check_status{target="prod",check="tables.dead_tuples",group="tables",subject="public.orders"} 1');
    expect(text).toContain('ops_check_value{target="prod",check="tables.dead_tuples",group="tables",subject="public.orders",unit="%"} 25.5');
    expect(text).toContain('ops_check_warning_threshold{target="prod",check="tables.dead_tuples",group="tables",subject="public.orders",direction="above"} 20');
    expect(text).toContain('ops_check_critical_threshold{target="prod",check="pg.connections",group="postgres",subject="shop",direction="above"} 90');
    // a check with no value has no value sample
    expect(text).not.toMatch(/ops_check_value\{[^}]*check="sessions.blocked"/);
  });

  it('label values: quotes, backslashes and control characters cannot break the line; no series twice', () => {
    expect(labelValue('a"b\\c')).toBe('a\\"b\\\\c');
    const hostile = 'x"} 1\nops_health_status{target="evil"} 0\u001b[2J';
    const text = openMetrics(report([check({ subject: hostile }), check({ subject: hostile })]), 'prod');
    const lines = text.split('\n').filter((l) => l.startsWith('ops_check_status'));
    expect(lines).toHaveLength(1);
    expect(text).not.toContain('\u001b');
    expect(text.split('\n').filter((l) => l.startsWith('ops_health_status'))).toEqual(['ops_health_status{target="prod"} 2']);
  });
});

describe('writeAtomically', () => {
  it('replaces the file whole and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-om-'));
    dirs.push(dir);
    const file = join(dir, 'ops.prom');
    writeAtomically(file, 'one\n');
    writeAtomically(file, 'two\n');
    expect(readFileSync(file, 'utf8')).toBe('two\n');
    expect(readdirSync(dir)).toEqual(['ops.prom']);
  });

  it('a directory that is not there is one line naming the file, exit 3', () => {
    const file = join(tmpdir(), 'no-such-dir-ops', 'ops.prom');
    expect(() => writeAtomically(file, 'x')).toThrowError(new RegExp(`^--output ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write it \\(ENOENT\\)$`));
    try {
      writeAtomically(file, 'x');
    } catch (err) {
      expect((err as { exitCode?: number }).exitCode).toBe(3);
    }
  });
});
