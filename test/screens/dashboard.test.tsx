import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { collectingState, dbDownState, healthyState, unhealthyState } from '../support/fixtures';
import { focusedTitle, KEY, renderDashboard, titleOf, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

describe('verdict', () => {
  test('unhealthy: CRITICAL with the health score', async () => {
    const d = await renderDashboard(unhealthyState());
    const header = d.lines()[0];
    const score = d.monitor.getState().report!.score;
    expect(score).toBeLessThan(100);
    expect(header).toContain('CRITICAL');
    expect(header).toContain(`${score}%`);
    expect(header).not.toMatch(/\bOK\b/);
  });

  test('healthy: OK with 100 %', async () => {
    const d = await renderDashboard(healthyState());
    const header = d.lines()[0];
    expect(header).toMatch(/\bOK\b/);
    expect(header).toContain('100%');
    expect(header).not.toContain('CRITICAL');
    expect(header).not.toContain('WARNING');
  });

  test('header: host, target, snapshot time, badge and PAUSED', async () => {
    const d = await renderDashboard(healthyState({ badge: 'DRILL', paused: true }), { columns: 160, rows: 40 });
    const header = d.lines()[0];
    expect(header).toContain('db-maint-01');
    expect(header).toContain('[DRILL]');
    expect(header).toContain('PAUSED');
    expect(header).toMatch(/\b\d\d:\d\d:\d\d\b/);
    expect(header).toContain('postgres://app:***@127.0.0.1:5432/app');
  });

  test('the first round in flight: one "collecting…" line per panel', async () => {
    const d = await renderDashboard(collectingState());
    const lines = d.lines();
    for (const t of ['Host', 'Disks', 'PostgreSQL', 'Sessions', 'Tables', 'Endpoints']) {
      expect(titleOf(lines, t)).toContain('collecting…');
    }
    expect(lines.length).toBeLessThanOrEqual(23);
  });
});

describe('critical rows', () => {
  test('/var is shown with its CRITICAL marker, before the healthy filesystems', async () => {
    const d = await renderDashboard(unhealthyState());
    const lines = d.lines();
    const row = lines.find((l) => /^.. \/var +95%/.test(l));
    expect(row).toBeDefined();
    expect(row!.startsWith('!! ')).toBe(true);
    const root = lines.find((l) => /^.. \/ +62%/.test(l));
    expect(root).toBeDefined();
    expect(root!.startsWith('   ')).toBe(true);
    expect(lines.indexOf(row!)).toBeLessThan(lines.indexOf(root!));
    expect(titleOf(lines, 'Disks')).toContain('fullest /var 95%!!');
  });

  test('the blocked session names pid 4242, its blocker 4141, user, client and query', async () => {
    const d = await renderDashboard(unhealthyState(), { columns: 110, rows: 50 });
    const row = d.lines().find((l) => l.includes('pid 4242'));
    expect(row).toBeDefined();
    expect(row).toMatch(/pid 4242 blocked by 4141 for 40s/);
    expect(row).toContain('alice@10.0.0.5');
    expect(row).toContain('UPDATE orders');
    expect(row!.startsWith('!')).toBe(true);
  });

  test('idle in transaction and the long query are listed', async () => {
    const d = await renderDashboard(unhealthyState(), { columns: 110, rows: 50 });
    const lines = d.lines();
    expect(lines.find((l) => l.includes('pid 5151'))).toMatch(/idle in transaction 3m00s/);
    expect(lines.find((l) => l.includes('pid 6161'))).toMatch(/^!! pid 6161 running 7m00s/);
  });

  test('public.orders with its dead %', async () => {
    const d = await renderDashboard(unhealthyState());
    const row = d.lines().find((l) => l.includes('public.orders') && !l.includes('Tables'));
    expect(row).toBeDefined();
    expect(row).toContain('dead 80.0%');
    expect(row!.startsWith('!! ')).toBe(true);
    expect(titleOf(d.lines(), 'Tables')).toContain('public.orders dead 80.0%!!');
  });
});

describe('keys', () => {
  test('? opens the help overlay, ? closes it', async () => {
    const d = await renderDashboard(unhealthyState());
    expect(d.frame()).not.toContain('Help');
    await d.press('?');
    const help = d.frame();
    expect(help).toContain('Help');
    for (const k of ['q', 'space', 'Tab', '↑ ↓', 'r ', '?']) expect(help).toContain(k);
    expect(focusedTitle(d.lines())).toBeUndefined();
    await d.press('?');
    expect(d.frame()).not.toContain('Help');
    expect(focusedTitle(d.lines())).toMatch(/^▶ Host/);
  });

  test('Esc closes the help overlay', async () => {
    const d = await renderDashboard(unhealthyState());
    await d.press('?');
    expect(d.frame()).toContain('Help');
    await d.press(KEY.esc);
    expect(d.frame()).not.toContain('Help');
  });

  test('with help open, q only closes the help', async () => {
    const d = await renderDashboard(unhealthyState());
    await d.press('?');
    await d.press('q');
    expect(d.onQuit).not.toHaveBeenCalled();
    expect(d.frame()).not.toContain('Help');
  });

  test('space toggles pause, r refreshes now', async () => {
    const d = await renderDashboard(unhealthyState());
    await d.press(' ');
    expect(d.monitor.calls.togglePause).toBe(1);
    await d.press('r');
    expect(d.monitor.calls.refreshNow).toBe(1);
    await d.press('  ');
    expect(d.monitor.calls.togglePause).toBe(3);
  });

  test('q quits', async () => {
    const d = await renderDashboard(unhealthyState());
    await d.press('q');
    expect(d.onQuit).toHaveBeenCalledTimes(1);
  });

  test('Ctrl-C quits, even with help open', async () => {
    const d = await renderDashboard(unhealthyState());
    await d.press('?');
    await d.press(KEY.ctrlC);
    expect(d.onQuit).toHaveBeenCalledTimes(1);
  });

  test('Tab moves the focus marker to the next panel, Shift-Tab back', async () => {
    const d = await renderDashboard(unhealthyState());
    expect(focusedTitle(d.lines())).toMatch(/^▶ Host /);
    await d.press(KEY.tab);
    expect(focusedTitle(d.lines())).toMatch(/^▶ Disks /);
    expect(titleOf(d.lines(), 'Host')).toMatch(/^ {2}Host/);
    await d.press(KEY.shiftTab);
    expect(focusedTitle(d.lines())).toMatch(/^▶ Host /);
    await d.press(KEY.shiftTab);
    expect(focusedTitle(d.lines())).toMatch(/^▶ Endpoints /);
  });

  test('"\\t\\t" and Down in one chunk: both Tabs count, Down scrolls the panel they reached', async () => {
    // 80x13: a focused PostgreSQL panel gets 3 of its 4 rows, so Down can scroll it by one.
    const size = { columns: 80, rows: 13 };
    const oneChunk = await renderDashboard(unhealthyState({ many: true }), size);
    await oneChunk.press(`${KEY.tab}${KEY.tab}${KEY.down}`);
    const title = focusedTitle(oneChunk.lines());
    expect(title).toMatch(/^▶ PostgreSQL /);
    expect(title).toContain('[2-4/5]');
    // the same as three separate key presses
    const separate = await renderDashboard(unhealthyState({ many: true }), size);
    await separate.press(KEY.tab);
    await separate.press(KEY.tab);
    await separate.press(KEY.down);
    expect(oneChunk.frame()).toBe(separate.frame());
  });

  test('Down/Up and j/k scroll the focused panel, clamped at both ends', async () => {
    const d = await renderDashboard(unhealthyState({ many: true }));
    await d.press(KEY.tab); // Disks: 12 filesystems
    const first = focusedTitle(d.lines())!;
    const m = /\[1-(\d+)\/12\]/.exec(first);
    expect(m).not.toBeNull();
    const shown = Number(m![1]);
    await d.press(KEY.down);
    expect(focusedTitle(d.lines())).toContain(`[2-${shown + 1}/12]`);
    await d.press('jjjjjjjjjjjjjjjjjjjj');
    expect(focusedTitle(d.lines())).toContain(`[${12 - shown + 1}-12/12]`);
    await d.press(KEY.up);
    expect(focusedTitle(d.lines())).toContain(`[${12 - shown}-11/12]`);
    await d.press('kkkkkkkkkkkkkkkkkkkkkkkkk');
    expect(focusedTitle(d.lines())).toContain(`[1-${shown}/12]`);
  });
});

describe('layout', () => {
  const sizes: [number, number][] = [
    [80, 24],
    [120, 35],
    [100, 30],
    [200, 60],
    [60, 15],
    [40, 8],
  ];
  for (const [columns, rows] of sizes) {
    test(`${columns}x${rows}: no line wider than the terminal, at most rows - 1 lines, in every focus and with help`, async () => {
      const d = await renderDashboard(unhealthyState({ many: true }), { columns, rows });
      const check = () => {
        const lines = d.raw().split('\n');
        expect(lines.length).toBeLessThanOrEqual(rows - 1);
        for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
      };
      check();
      for (let i = 0; i < 6; i++) {
        await d.press(KEY.tab);
        await d.press('jjjjjjjjjjjjjjjjjjjjjjjjjjjjjj');
        check();
      }
      await d.press('?');
      check();
    });
  }

  test('80 columns: one column; 120 columns: two columns side by side', async () => {
    const narrow = await renderDashboard(unhealthyState({ many: true }), { columns: 80, rows: 24 });
    expect(narrow.lines().some((l) => l.includes('Host') && l.includes('Sessions'))).toBe(false);
    const wide = await renderDashboard(unhealthyState({ many: true }), { columns: 120, rows: 35 });
    expect(wide.lines().some((l) => /Host .*Sessions/.test(l))).toBe(true);
  });

  test('follows terminal resize when the size is not forced', async () => {
    const d = await renderDashboard(unhealthyState({ many: true }), { columns: undefined, rows: undefined });
    await d.resize(120, 35);
    expect(d.lines().length).toBeGreaterThan(23);
    expect(d.lines().some((l) => /Host .*Sessions/.test(l))).toBe(true);
    await d.resize(60, 12);
    const lines = d.raw().split('\n');
    expect(lines.length).toBeLessThanOrEqual(11);
    for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(60);
  });

  test('a long query stays within the width and the frame, its control characters made harmless', async () => {
    const state = unhealthyState();
    const pg = state.snapshot!.postgres!;
    if (!pg.ok) throw new Error('fixture');
    pg.data.blocked[0].query = `SELECT ${'x, '.repeat(200)}1\nFROM t\x1b[31m`;
    const d = await renderDashboard(state, { columns: 80, rows: 24 });
    const lines = d.raw().split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(80);
    expect(d.raw()).not.toContain('\x1b[31mFROM');
  });
});

describe('database down', () => {
  test('the PostgreSQL, Sessions and Tables panels give the reason; the host panel keeps its figures', async () => {
    const d = await renderDashboard(dbDownState());
    const lines = d.lines();
    expect(titleOf(lines, 'PostgreSQL')).toContain('unavailable: connection refused at 127.0.0.1:5432');
    expect(lines.some((l) => /^retrying in \d+s · target prod/.test(l))).toBe(true);
    expect(titleOf(lines, 'Sessions')).toContain('unavailable: connection refused');
    expect(titleOf(lines, 'Tables')).toContain('unavailable: connection refused');
    expect(lines.some((l) => /^cpu +12\.5%/.test(l))).toBe(true);
    expect(lines.some((l) => /^mem +41\.0%/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('/var') && l.includes('55%'))).toBe(true);
    expect(lines[0]).toContain('CRITICAL');
  });
});

describe('updates', () => {
  test('a new state from the monitor updates the frame', async () => {
    const d = await renderDashboard(healthyState());
    expect(d.lines()[0]).toMatch(/\bOK\b/);
    await act(async () => {
      d.monitor.set(unhealthyState());
    });
    expect(d.lines()[0]).toContain('CRITICAL');
    expect(d.frame()).toContain('95%');
    await act(async () => {
      d.monitor.set(dbDownState());
    });
    expect(titleOf(d.lines(), 'PostgreSQL')).toContain('unavailable');
  });

  test('renders only when something changed: no timer-driven frames', async () => {
    const d = await renderDashboard(healthyState());
    const before = d.frame();
    await act(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
    });
    expect(d.frame()).toBe(before);
    expect(d.monitor.listenerCount()).toBe(1);
    await act(async () => {
      d.unmount();
    });
    expect(d.monitor.listenerCount()).toBe(0);
  });
});

describe('start-up notice', () => {
  test('an interrupted run is named at the bottom, at 80x24, instead of the key hints', async () => {
    const notice = 'run 20261123-184500-backup-ab12 (backup) was interrupted at "Dump"; "ops rollback 20261123-184500-backup-ab12" shows what ran';
    const d = await renderDashboard({ ...unhealthyState(), notice }, { columns: 80, rows: 24 });
    const lines = d.lines();
    expect(lines.at(-1)).toMatch(/^! run 20261123-184500-backup-ab12 \(backup\) was interrupted/);
    expect(lines.length).toBeLessThanOrEqual(23);
    expect(d.frame()).not.toContain('q quit');
    d.unmount();
  });
});
