// The run screen's output as it is (issue 13 §4): VACUUM VERBOSE's multi-line INFO shows as its
// lines (the engine splits it, src/tasks/step-exec.ts noticeLines), and a line longer than the
// terminal wraps at spaces into the rows it needs, every character kept, never cut at the width.
// Fake runner; every render and key press inside act(), no sleeps.
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { healthyState } from '../support/fixtures';
import { fakeService } from '../support/fake-tasks';
import { noticeLines } from '../../src/tasks/step-exec';
import { KEY, renderApp, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

// what PostgreSQL 15 sends for VACUUM (VERBOSE) of one table: one INFO whose message has lines
const VERBOSE_INFO = {
  severity: 'INFO',
  message: [
    'vacuuming "drill.public.orders"',
    'finished vacuuming "drill.public.orders": index scans: 1',
    'pages: 0 removed, 1471 remain, 1471 scanned (100.00% of total)',
    'tuples: 50000 removed, 100000 remain, 0 are dead but not yet removable',
    'removable cutoff: 1043, which was 0 XIDs old when operation ended',
    'index scan needed: 736 pages from table (50.03% of total) had 50000 dead item identifiers removed',
    'index "orders_pkey": pages: 412 in total, 137 newly deleted, 137 currently deleted, 0 reusable',
    'avg read rate: 0.000 MB/s, avg write rate: 41.325 MB/s',
    'buffer usage: 4401 hits, 0 misses, 1530 dirtied',
    'WAL usage: 4406 records, 1531 full page images, 12583069 bytes',
    'system usage: CPU: user: 0.18 s, system: 0.02 s, elapsed: 0.28 s',
  ].join('\n'),
};

async function running(columns: number, rows: number) {
  const service = fakeService({});
  const d = await renderApp(healthyState(), { service, columns, rows });
  await d.press('t');
  const i = service.tasks().tasks.findIndex((t) => t.id === 'vacuum-analyze');
  for (let k = 0; k < i; k++) await d.press(KEY.down);
  await d.press(KEY.enter); // the form
  await d.press(KEY.enter); // the plan
  await d.press('y');
  const runner = service.last().runner;
  await act(async () => {
    runner.state.current = 0;
    runner.setStep(0, { status: 'running', startedAt: Date.now() - 1_000 });
  });
  return { d, runner };
}

describe('run screen output', () => {
  test("VACUUM VERBOSE's INFO shows as its lines, at 80x24", async () => {
    const { d, runner } = await running(80, 24);
    await act(async () => {
      runner.push(noticeLines(VERBOSE_INFO));
    });
    const frame = d.lines();
    expect(frame).toContain('INFO: vacuuming "drill.public.orders"');
    // the newest lines are in view, each on its own row, indented under the INFO
    expect(frame).toContain('  system usage: CPU: user: 0.18 s, system: 0.02 s, elapsed: 0.28 s');
    expect(frame).toContain('  WAL usage: 4406 records, 1531 full page images, 12583069 bytes');
    expect(d.frame()).toMatch(/lines 1-11 of 11/);
    for (const l of d.raw().split('\n')) expect(widthOf(l)).toBeLessThanOrEqual(80);
  });

  test('a long line wraps at spaces, every word kept, at 80 and 200 columns', async () => {
    for (const columns of [80, 200]) {
      const { d, runner } = await running(columns, 30);
      const long = `INFO: ${Array.from({ length: 40 }, (_, k) => `word${k}`).join(' ')} end-of-the-line`;
      await act(async () => {
        runner.push(['first line', long]);
      });
      const rows = d.lines();
      const start = rows.findIndex((l) => l.startsWith('INFO: word0'));
      expect(start).toBeGreaterThan(-1);
      const joined = rows.slice(start).join('\n');
      // no word is split across rows, and the last one is there
      for (let k = 0; k < 40; k++) expect(joined).toMatch(new RegExp(`(^|\\s)word${k}(\\s|$)`));
      expect(joined).toContain('end-of-the-line');
      if (columns === 80) expect(rows[start + 1]).toMatch(/^word\d+ /);
      for (const l of d.raw().split('\n')) expect(widthOf(l)).toBeLessThanOrEqual(columns);
      await act(async () => {
        cleanup();
      });
    }
  });
});
