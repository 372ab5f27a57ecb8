// The printers that take outside text (the screens' clean and plainText, the plugin line and its
// perfdata, the walkthrough report) on hostile text: escape sequences, C0/C1 controls, DEL, bidi
// overrides, newlines and "|". Written against the printers only, not the sanitizer's API.
import { describe, expect, it } from 'vitest';
import { clean, plainText } from '../../screens/format';
import { renderReport } from '../../src/checklists/report';
import type { WalkSummary } from '../../src/checklists/walkthrough';
import { perfdata, pluginLine } from '../../src/health/rules';
import type { Check, HealthReport } from '../../src/types';

const TITLE = '\x1b]0;pwned\x07'; // sets the terminal's title
const CLEAR = '\x1b[2J'; // clears the screen
const HOSTILE = `a${TITLE}${CLEAR}b\nc\u202Ed\x9b31m\x7fe\u2066f\u200bg\x00h\x1b`;
/** Bytes a terminal would act on (besides \n and \t) or that reorder text. */
const BAD = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

describe('the screens', () => {
  it('clean and plainText leave no control, escape or bidi override, and no line break', () => {
    for (const f of [clean, plainText]) {
      const out = f(HOSTILE);
      expect(out).not.toMatch(BAD);
      expect(out).not.toContain('\n');
      expect(out).not.toContain('pwned');
    }
    expect(plainText(`\x1b[31mred\x1b[0m\ttab \u202Eevil`)).toBe('red tab \ufffdevil');
  });
});

function check(over: Partial<Check>): Check {
  return { id: 'tables.dead_tuples', group: 'tables', label: 'dead tuples', unit: '%', status: 'CRITICAL', summary: '', value: 60, thresholds: { warning: 20, critical: 50, direction: 'above' }, subject: null, ...over };
}

describe('the plugin line', () => {
  it('is one line with its perfdata, whatever a table name holds', () => {
    const report: HealthReport = {
      at: 0,
      status: 'CRITICAL',
      score: 0,
      checks: [
        check({ summary: `public.${TITLE}${CLEAR}t\nx\u202E | 60.0% dead` }),
        check({ id: "disk:/mnt/o'brien\nx", group: 'disk', status: 'OK', summary: 'ok', value: 1 }),
      ],
    };
    const line = pluginLine(report);
    expect(line).not.toContain('\n');
    expect(line).not.toMatch(BAD);
    expect(line).toMatch(/^OPS CRITICAL - public\.t x\ufffd \/ 60\.0% dead \| 'tables\.dead_tuples'=60%;20;50 'disk:\/mnt\/o''brien x'=1%;20;50$/);
    expect(perfdata(report).split(' | ')).toHaveLength(1);
  });
});

describe('the walkthrough report', () => {
  it('keeps its tables whole and its text clean when step values hold hostile text', () => {
    const hostile = `t${TITLE}${CLEAR}|x\nyq\u202Ez`;
    const w = {
      run: 'cl-1',
      checklist: 'daily',
      title: `Daily ${hostile}`,
      source: 'builtin',
      outcome: 'completed',
      operator: { user: `u${CLEAR}`, host: 'h', pid: 1, tty: null, sshClient: null, sudoUser: null },
      resumes: [],
      host: `h${TITLE}`,
      target: `postgres://x@h/${hostile}`,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:01:00.000Z',
      window: '',
      insideWindow: null,
      steps: [{ id: 's1', title: hostile, kind: 'check', status: 'failed', at: '2026-01-01T00:00:30.000Z', by: hostile, value: hostile, notes: [{ by: hostile, text: hostile }] }],
      start: { at: '2026-01-01T00:00:00.000Z', status: 'CRITICAL', metrics: {}, problems: { x: hostile } },
      end: null,
    } as unknown as WalkSummary;
    const md = renderReport(w, () => null);
    expect(md).not.toMatch(BAD);
    const row = md.split('\n').filter((l) => l.startsWith('| 1 |'));
    expect(row).toHaveLength(1);
    // 7 columns: 8 unescaped pipes
    expect(row[0].replace(/\\\|/g, '').split('|')).toHaveLength(9);
    const withIt = md.split('\n').filter((l) => l.includes('yq'));
    expect(withIt.length).toBeGreaterThanOrEqual(5); // heading, target, the step row, its open problem, the health problem
    expect(withIt.every((l) => l.includes('\\|x yq\ufffdz'))).toBe(true);
  });
});
