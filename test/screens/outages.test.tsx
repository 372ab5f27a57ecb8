// The dashboard's lines for the outage checks (issue 10 §2): drawn from the checks' verdicts.
import { act } from 'react';
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { healthyState, unhealthyState } from '../support/fixtures';
import { withOutages } from '../support/outage-fixtures';
import { focusedTitle, KEY, renderDashboard, titleOf, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** The body lines of a panel: from its title to the next title. */
function bodyOf(lines: string[], title: string): string[] {
  const start = lines.findIndex((l) => l.startsWith(`▶ ${title} `) || l.startsWith(`  ${title} `));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^(▶ | {2})(Host|Disks|PostgreSQL|Sessions|Tables|Endpoints) /.test(l) || l.startsWith('q quit')) break;
    out.push(l);
  }
  return out;
}

describe('PostgreSQL panel', () => {
  test('80x24: the worst outage check on its title, and one line per check needing attention right under its first line', async () => {
    const d = await renderDashboard(withOutages(unhealthyState()), { columns: 80, rows: 24 });
    // unfocused, with three rows to show: the outage lines come before the other figures
    const unfocused = bodyOf(d.lines(), 'PostgreSQL');
    expect(unfocused[1]).toMatch(/^!! WAL archiver failing: 00000001000000000000002A failed 12s ago/);
    await d.press(KEY.tab);
    await d.press(KEY.tab);
    const body = bodyOf(d.lines(), 'PostgreSQL');
    expect(body[0]).toMatch(/^PostgreSQL 16\.4 · app · primary/);
    expect(body.slice(1, 5)).toEqual([
      expect.stringMatching(/^!! WAL archiver failing: /),
      expect.stringMatching(/^!! autovacuum is off for the server/),
      expect.stringMatching(/^!  slot old_standby \(physical\): inactive, 3\.2 GB of WAL retained/),
      expect.stringMatching(/^!  xmin horizon 42k transactions old, held by pid 7373/),
    ]);
    const lines = d.raw().split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(80);
  });

  test('taller: the worst named on the title, and the overview line with every outage figure at the end of the panel', async () => {
    const d = await renderDashboard(withOutages(unhealthyState()), { columns: 119, rows: 60 });
    expect(titleOf(d.lines(), 'PostgreSQL')).toMatch(/^ {2}PostgreSQL !! · 16\.4 · conns 84\/100! · cache 99\.4% · xid 150\.0M · archiver!! \+3$/);
    const body = bodyOf(d.lines(), 'PostgreSQL');
    expect(body.at(-1)).toMatch(/^slots 1! · archiver 14 waiting!! · xmin 42k old! · prepared 0 · autovacuum off!! · freeze xid 75\.0% mxid 0\.3%$/);
  });

  test('all outage checks OK: nothing on the title, no outage line, the overview when taller', async () => {
    const d = await renderDashboard(withOutages(healthyState(), {}), { columns: 119, rows: 60 });
    expect(titleOf(d.lines(), 'PostgreSQL')).not.toMatch(/archiver|slots|autovacuum/);
    const body = bodyOf(d.lines(), 'PostgreSQL');
    expect(body.some((l) => /^(!|\?)/.test(l))).toBe(false);
    expect(body.at(-1)).toMatch(/^slots 0 · archiver 0 waiting · xmin 0 old · prepared 0 · autovacuum 1 busy · freeze xid 75\.0% mxid 0\.3%$/);
  });

  test('a role without pg_monitor: the UNKNOWN line says which privilege is missing', async () => {
    const d = await renderDashboard(withOutages(healthyState(), { noMonitor: true }), { columns: 100, rows: 40 });
    const body = bodyOf(d.lines(), 'PostgreSQL');
    expect(body).toContainEqual(expect.stringMatching(/^\?  other roles' sessions and standbys are not visible: needs pg_read_all_stats/));
  });
});

describe('Tables panel', () => {
  test('80x24, focused: invalid index, sequence, never analyzed and autovacuum-off rows among the rows by severity, named on the title', async () => {
    const d = await renderDashboard(withOutages(unhealthyState()), { columns: 80, rows: 24 });
    for (let i = 0; i < 4; i++) await d.press(KEY.tab);
    expect(focusedTitle(d.lines())).toMatch(/^▶ Tables !! · public\.orders dead 80\.0%!! · 1 unused index! · 1 invalid/);
    const body = bodyOf(d.lines(), 'Tables');
    expect(body.slice(0, 5)).toEqual([
      expect.stringMatching(/^!! public\.orders +dead 80\.0% 80k of 100k · vacuum 3d00h ago · held by pid/),
      expect.stringMatching(/^!! public\.orders_status_idx_ccnew on orders: a leftover of a failed REINDEX/),
      expect.stringMatching(/^!! public\.orders_id_seq 93\.1% used: at 2000000000 of its maximum 2147483647/),
      expect.stringMatching(/^!  public\.imports never analyzed \(by hand or by autovacuum\), 52k rows$/),
      expect.stringMatching(/^!  public\.events has autovacuum_enabled = false, 90k dead rows$/),
    ]);
    // the healthy tables after them
    expect(body.findIndex((l) => /^ {3}public\.customers/.test(l))).toBeGreaterThan(4);
  });

  test('wider: the outage parts on the Tables title, and the holder whole on the dead-tuple row', async () => {
    const d = await renderDashboard(withOutages(unhealthyState()), { columns: 119, rows: 40 });
    expect(titleOf(d.lines(), 'Tables')).toMatch(/^ {2}Tables !! · public\.orders dead 80\.0%!! · 1 unused index! · 1 invalid index!! · public\.orders_id_seq 93% used!! · /);
    expect(d.lines()).toContainEqual(expect.stringMatching(/^!! public\.orders +dead 80\.0% 80k of 100k · vacuum 3d00h ago · held by pid 7373$/));
  });

  test('a dead-tuple row says when vacuum can remove the rows now', async () => {
    const d = await renderDashboard(withOutages(unhealthyState(), {}), { columns: 119, rows: 40 });
    const row = d.lines().find((l) => /!! public\.orders +dead 80\.0%/.test(l));
    expect(row).toMatch(/· vacuum can remove them now/);
  });
});

describe('layout with the outage lines', () => {
  for (const [columns, rows] of [
    [80, 24],
    [60, 15],
    [50, 12],
    [120, 35],
  ] as const) {
    test(`${columns}x${rows}: no line wider than the terminal, at most rows - 1 lines, in every focus; the focused PostgreSQL panel shows the failing archiver`, async () => {
      const d = await renderDashboard(withOutages(unhealthyState({ many: true })), { columns, rows });
      const check = () => {
        const lines = d.raw().split('\n');
        expect(lines.length).toBeLessThanOrEqual(rows - 1);
        for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
      };
      check();
      let archiverShown = false;
      for (let i = 0; i < 6; i++) {
        await d.press(KEY.tab);
        if (/^▶ PostgreSQL /.test(focusedTitle(d.lines()) ?? '')) archiverShown = d.lines().some((l) => l.includes('WAL archiver failing'));
        await d.press('jjjjjjjjjjjjjjjjjjjj');
        check();
      }
      expect(archiverShown).toBe(true);
    });
  }
});
