// Pure pieces of the screens: the sparkline, the layout budget and the key reducer.
import { describe, expect, test } from 'vitest';
import { sparkline } from '../../screens/components/Sparkline';
import { INITIAL_UI, uiReducer, type UiEnv } from '../../screens/dashboard-state';
import { planLayout } from '../../screens/layout';
import { buildPanels, PANEL_ORDER, type PanelId } from '../../screens/panels';
import { collectingState, unhealthyState } from '../support/fixtures';

const counts = (n: Partial<Record<PanelId, number>>): Record<PanelId, number> => ({
  host: 3,
  disks: 3,
  postgres: 4,
  sessions: 0,
  tables: 0,
  endpoints: 2,
  ...n,
});

describe('sparkline', () => {
  test('fixed width, last N points, scaled to min/max', () => {
    expect(sparkline([0, 100], 2, 0, 100)).toBe('▁█');
    expect(sparkline([0, 50, 100], 5, 0, 100)).toBe('  ▁▅█');
    const many = Array.from({ length: 50 }, (_, i) => i);
    const s = sparkline(many, 10);
    expect([...s]).toHaveLength(10);
    expect(s.endsWith('█')).toBe(true);
    expect(s.startsWith('▁')).toBe(true);
  });

  test('empty, flat and out-of-range series', () => {
    expect(sparkline([], 4)).toBe('    ');
    expect(sparkline([5, 5, 5], 3)).toBe('▁▁▁');
    expect(sparkline([-10, 200], 2, 0, 100)).toBe('▁█');
    expect(sparkline([1, 2], 0)).toBe('');
    expect(sparkline([1, Number.NaN, 3], 3, 0, 3)).toBe(' ▃█');
  });
});

describe('layout budget', () => {
  test('never more than rows - 1 lines, whatever the panels want', () => {
    for (const rows of [1, 2, 3, 5, 8, 10, 14, 24, 35, 60]) {
      for (const columns of [40, 80, 119, 120, 200]) {
        for (const focus of PANEL_ORDER) {
          const l = planLayout({ columns, rows, counts: counts({ disks: 12, sessions: 20, tables: 11 }), focus });
          for (const c of l.columns) {
            const used = c.panels.reduce((n, p) => n + (l.slots[p].shown ? 1 + l.slots[p].lines : 0), 0);
            expect(used).toBeLessThanOrEqual(l.bodyHeight);
          }
          expect((l.header ? 1 : 0) + l.bodyHeight + (l.footer ? 1 : 0)).toBeLessThanOrEqual(Math.max(0, rows - 1));
          expect(l.slots[focus].shown || l.bodyHeight === 0).toBe(true);
        }
      }
    }
  });

  test('one column below 120 columns, two from 120', () => {
    expect(planLayout({ columns: 119, rows: 24, counts: counts({}), focus: 'host' }).columns).toHaveLength(1);
    const two = planLayout({ columns: 120, rows: 24, counts: counts({}), focus: 'host' }).columns;
    expect(two).toHaveLength(2);
    expect(two[0].width + 1 + two[1].width).toBe(120);
  });

  test('the focused panel gets more room; small panels are shown whole', () => {
    const c = counts({ disks: 12, sessions: 20, tables: 11 });
    const a = planLayout({ columns: 80, rows: 24, counts: c, focus: 'host' });
    const b = planLayout({ columns: 80, rows: 24, counts: c, focus: 'sessions' });
    expect(b.slots.sessions.lines).toBeGreaterThan(a.slots.sessions.lines);
    expect(a.slots.host.lines).toBe(3);
  });
});

describe('ui reducer', () => {
  const env: UiEnv = { columns: 80, rows: 24, counts: counts({ disks: 12 }) };
  test('focus wraps both ways', () => {
    expect(uiReducer(INITIAL_UI, { type: 'focus', delta: -1 }).focus).toBe('endpoints');
    expect(uiReducer(INITIAL_UI, { type: 'focus', delta: 1 }).focus).toBe('disks');
  });

  test('scroll clamps to the rows the layout gives the focused panel', () => {
    let s = uiReducer(INITIAL_UI, { type: 'focus', delta: 1 });
    const lines = planLayout({ ...env, focus: 'disks' }).slots.disks.lines;
    for (let i = 0; i < 30; i++) s = uiReducer(s, { type: 'scroll', delta: 1, env });
    expect(s.offsets.disks).toBe(12 - lines);
    s = uiReducer(s, { type: 'scroll', delta: 'home', env });
    expect(s.offsets.disks).toBe(0);
    s = uiReducer(s, { type: 'scroll', delta: -1, env });
    expect(s.offsets.disks).toBe(0);
    // a panel that fits does not scroll
    const host = uiReducer(INITIAL_UI, { type: 'scroll', delta: 1, env });
    expect(host).toBe(INITIAL_UI);
  });
});

describe('panels', () => {
  test('collecting: every panel says so in one line', () => {
    const p = buildPanels(collectingState(), 80, Date.now());
    for (const id of PANEL_ORDER) {
      expect(p[id].rows).toHaveLength(0);
      expect(p[id].summary.map((x) => x.text).join('')).toBe('collecting…');
    }
  });

  test('control characters in data cannot reach the terminal', () => {
    const state = unhealthyState();
    const pg = state.snapshot!.postgres!;
    if (!pg.ok) throw new Error('fixture');
    pg.data.blocked[0].query = 'SELECT 1;\n\x1b[2J\x1b]0;pwned\x07';
    const p = buildPanels(state, 80, Date.now());
    const text = p.sessions.rows.flat().map((x) => x.text).join('');
    expect(text).not.toMatch(/[\x00-\x1f]/);
  });
});

describe('slowest statements', () => {
  const rowsText = (p: ReturnType<typeof buildPanels>) => p.postgres.rows.map((r) => r.map((x) => x.text).join(''));

  test('listed with mean time and calls when pg_stat_statements is installed', () => {
    const state = unhealthyState();
    const pg = state.snapshot!.postgres!;
    if (!pg.ok) throw new Error('fixture');
    pg.data.statements = {
      available: true,
      top: [
        { query: 'SELECT * FROM orders WHERE note LIKE $1', calls: 1200, meanMs: 812.4, totalMs: 974880 },
        { query: 'UPDATE stock SET n = n - $1', calls: 15000, meanMs: 2.5, totalMs: 37500 },
      ],
    };
    const text = rowsText(buildPanels(state, 80, Date.now()));
    expect(text).toContain('812 ms · 15k · SELECT * FROM orders WHERE note LIKE $1'.replace('15k', '1200'));
    expect(text).toContain('2.5 ms · 15k · UPDATE stock SET n = n - $1');
  });

  test('says why when it is not installed', () => {
    const text = rowsText(buildPanels(unhealthyState(), 80, Date.now()));
    expect(text).toContain('slowest statements: pg_stat_statements is not installed');
  });
});
