// The overview screen (issue 15 §1) from fixed states: a line per target built by the core's
// overviewLine from fixture monitor states (healthy, unhealthy, database down), the host line,
// ↓ and Enter arriving in one chunk opening the second target, q quitting, 80 columns, no colour
// escapes with colour off. And the dashboard's o: back to the overview only when opened from it.
// Every render and key press inside act(), no sleeps.
import { act } from 'react';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { overviewLine, type OverviewLike, type OverviewState } from '../../src/overview';
import { Overview } from '../../screens/overview/Overview';
import { dbDownState, healthyState, unhealthyState } from '../support/fixtures';
import { KEY, renderApp, stripAnsi, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

function fixedOverview() {
  const state: OverviewState = {
    hostname: 'db-maint-01',
    refreshMs: 2000,
    host: healthyState().report,
    lines: [
      overviewLine('shop', 'postgres://app:***@10.0.0.5:5432/shop', healthyState()),
      overviewLine('billing', 'postgres://app:***@10.0.0.6:5432/billing', unhealthyState()),
      overviewLine('reports', 'postgres://app:***@10.0.0.7:5432/reports', dbDownState()),
    ],
  };
  const refreshNow = vi.fn<() => void>();
  const o: OverviewLike = { getState: () => state, subscribe: () => () => undefined, refreshNow };
  return { ...o, refreshNow };
}

async function show(color = false, columns = 80, rows = 24) {
  const overview = fixedOverview();
  const onOpen = vi.fn();
  const onQuit = vi.fn();
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(<Overview overview={overview} onOpen={onOpen} onQuit={onQuit} color={color} columns={columns} rows={rows} />);
  });
  const press = async (chunk: string) => {
    await act(async () => {
      r.stdin.write(chunk);
    });
  };
  return { overview, onOpen, onQuit, press, raw: () => r.lastFrame() ?? '', lines: () => stripAnsi(r.lastFrame() ?? '').split('\n') };
}

describe('overview lines (src/overview.ts overviewLine)', () => {
  it('a healthy target: its role, connections and no problem; a down one: CRITICAL, the reason, no figures', () => {
    const ok = overviewLine('shop', 'x', healthyState());
    expect(ok).toMatchObject({ status: 'OK', role: 'primary', top: null, stale: false });
    expect(ok.connections).toMatch(/^\d+\/\d+$/);
    const down = overviewLine('reports', 'x', dbDownState());
    expect(down.status).toBe('CRITICAL');
    expect(down.connections).toBeNull();
    expect(down.top).toMatch(/connection refused/);
    const bad = overviewLine('billing', 'x', unhealthyState());
    expect(bad.status).toBe('CRITICAL');
    expect(bad.top).not.toBeNull();
  });
});

describe('the overview screen', () => {
  it('one line per target and the host, within 80 columns, no escapes without colour', async () => {
    const s = await show(false);
    const lines = s.lines();
    expect(lines[0]).toMatch(/^ops db-maint-01 · overview · 3 targets · !! CRITICAL/);
    expect(lines.some((l) => /^host OK/.test(l))).toBe(true);
    expect(lines.find((l) => /^▶ shop /.test(l))).toMatch(/OK .*all checks OK/);
    expect(lines.find((l) => /^ {2}reports /.test(l))).toMatch(/!! CRITICAL .*unavailable|refused/);
    expect(lines.at(-1)).toMatch(/Enter open its dashboard/);
    for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(80);
    expect(s.raw()).not.toMatch(/\x1b\[/);
    // the selected target's URL, password redacted
    expect(lines).toContain('  postgres://app:***@10.0.0.5:5432/shop');
  });

  it('↓ and Enter in one chunk open the second target; r refreshes; q quits', async () => {
    const s = await show();
    await s.press(`${KEY.down}${KEY.enter}`);
    expect(s.onOpen).toHaveBeenCalledWith('billing');
    await s.press('r');
    expect(s.overview.refreshNow).toHaveBeenCalled();
    await s.press('q');
    expect(s.onQuit).toHaveBeenCalledTimes(1);
  });

  it('a wider terminal shows the time column and more of each problem', async () => {
    const narrow = (await show(false, 80, 24)).lines().find((l) => /billing/.test(l))!;
    await act(async () => {
      cleanup();
    });
    const wide = (await show(false, 200, 50)).lines().find((l) => /billing/.test(l))!;
    expect(wide.length).toBeGreaterThan(narrow.length);
    expect(wide).toMatch(/\d\d:\d\d:\d\d/);
  });
});

describe("the dashboard's o", () => {
  it('goes back to the overview when the console was opened from it, and is not there otherwise', async () => {
    const onOverview = vi.fn();
    const d = await renderApp(healthyState(), { onOverview });
    expect(d.frame()).toContain('o overview');
    await d.press('o');
    expect(onOverview).toHaveBeenCalledTimes(1);
    await act(async () => {
      cleanup();
    });
    const plain = await renderApp(healthyState());
    expect(plain.frame()).not.toContain('o overview');
    await plain.press('o');
    expect(plain.onQuit).not.toHaveBeenCalled();
  });
});
