// The panels draw the core's verdicts: each state here is judged by src/health/rules.ts itself
// (not by hand), with thresholds the screens could not know, so a panel that judged again, or
// copied a threshold, would disagree with the rule.
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import type { MonitorState, PgData, PgSession } from '../../src/types';
import { healthyState } from '../support/fixtures';
import { renderDashboard, titleOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

const MiB = 1024 * 1024;

/** healthyState with its PostgreSQL data changed, then judged by the rules with these thresholds. */
function judged(change: (pg: PgData) => void, over: Partial<Thresholds> = {}): MonitorState {
  const base = healthyState();
  const snap = base.snapshot!;
  if (!snap.postgres?.ok) throw new Error('fixture without PostgreSQL data');
  const pg: PgData = structuredClone(snap.postgres.data);
  change(pg);
  const snapshot = { ...snap, postgres: { ...snap.postgres, data: pg } };
  return { ...base, snapshot, report: evaluate(snapshot, { ...DEFAULT_THRESHOLDS, ...over }) };
}

const session = (pid: number, over: Partial<PgSession>): PgSession => ({
  pid,
  user: 'app',
  database: 'billing',
  client: '10.0.0.9',
  application: 'invoice-worker',
  state: 'active',
  durationSec: 1,
  xactSec: 1,
  query: 'UPDATE invoices SET paid = true WHERE id = $1',
  waitEventType: null,
  waitEvent: null,
  ...over,
});

describe('the Tables panel draws the rule\'s verdicts', () => {
  test('with deadTuplesMin 100, a table the rule calls CRITICAL is marked and named in the title', async () => {
    const state = judged(
      (pg) => {
        pg.tables = [{ schema: 'public', name: 'small_hot', liveTuples: 100, deadTuples: 500, deadPct: (500 / 600) * 100, lastVacuum: null, lastAutovacuum: null, lastAnalyze: null, lastAutoanalyze: null }, ...pg.tables];
      },
      { deadTuplesMin: 100 },
    );
    const rule = state.report!.checks.find((c) => c.id === 'tables.dead_tuples')!;
    expect(rule).toMatchObject({ status: 'CRITICAL', subject: 'public.small_hot' });
    const d = await renderDashboard(state, { columns: 110, rows: 60 });
    const lines = d.lines();
    expect(titleOf(lines, 'Tables')).toContain('public.small_hot dead 83.3%!!');
    expect(titleOf(lines, 'Tables')).not.toContain('none need attention');
    const row = lines.find((l) => l.includes('public.small_hot') && !l.includes('Tables'));
    expect(row).toMatch(/^!! public\.small_hot +dead 83\.3%/);
  });

  test('a never-used index under the size floor is listed unmarked and not counted', async () => {
    const state = judged((pg) => {
      pg.unusedIndexes = [
        { schema: 'public', table: 'orders', name: 'orders_note_idx', sizeBytes: 5 * MiB },
        { schema: 'public', table: 'orders', name: 'orders_tiny_idx', sizeBytes: 16 * 1024 },
      ];
    });
    const d = await renderDashboard(state, { columns: 110, rows: 60 });
    const lines = d.lines();
    expect(titleOf(lines, 'Tables')).toContain('1 unused index!');
    expect(lines.find((l) => l.includes('orders_note_idx'))).toMatch(/^! {2}unused index public\.orders_note_idx on orders 5\.0 MB/);
    expect(lines.find((l) => l.includes('orders_tiny_idx'))).toMatch(/^ {3}unused index public\.orders_tiny_idx on orders 16\.0 KB/);
  });
});

describe('the Sessions and PostgreSQL panels draw the rules\' verdicts', () => {
  test('a long transaction gets its own row and title count, naming its database; a short idle one does not', async () => {
    const state = judged((pg) => {
      const tx = session(7001, { state: 'idle in transaction', durationSec: 20, xactSec: 900 });
      pg.idleInTransaction = [tx];
      pg.oldestIdleInTransaction = tx;
      pg.longTransactions = [{ ...tx, durationSec: 900 }];
      pg.sessionAges = { longQueries: [], idleInTransaction: [20], longTransactions: [900] };
    });
    expect(state.report!.checks.find((c) => c.id === 'sessions.long_transaction')).toMatchObject({ status: 'WARNING', subject: 'pid 7001' });
    expect(state.report!.checks.find((c) => c.id === 'sessions.idle_in_transaction')).toMatchObject({ status: 'OK' });
    const d = await renderDashboard(state, { columns: 110, rows: 60 });
    const lines = d.lines();
    expect(titleOf(lines, 'Sessions')).toContain('1 long transaction!');
    expect(titleOf(lines, 'Sessions')).not.toContain('idle in transaction');
    const rows = lines.filter((l) => l.includes('pid 7001'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^! {2}pid 7001 transaction open 15m00s · app@10\.0\.0\.9 in billing \(invoice-worker\) · UPDATE invoices/);
  });

  test("a session waiting on a lock is listed once, as blocked; the console's own connection is counted apart", async () => {
    const state = judged((pg) => {
      pg.connections = { total: 6, max: 100, reservedForSuperuser: 3, byState: { active: 2, idle: 2 }, own: 2 };
      pg.blocked = [{ ...session(7101, { durationSec: 50, xactSec: 50, waitEventType: 'Lock', waitEvent: 'transactionid' }), blockedBy: [7100], waitSec: 50 }];
      const sleeper = session(7102, { durationSec: 400, xactSec: 400, database: 'reports', query: 'SELECT pg_sleep(600)' });
      pg.longQueries = [sleeper];
      pg.longestQuery = sleeper;
      pg.sessionAges = { longQueries: [400], idleInTransaction: [], longTransactions: [] };
    });
    const d = await renderDashboard(state, { columns: 110, rows: 60 });
    const lines = d.lines();
    expect(lines.filter((l) => l.includes('pid 7101'))).toEqual([expect.stringMatching(/^! {2}pid 7101 blocked by 7100 for 50s · app@10\.0\.0\.9 in billing/)]);
    expect(lines.find((l) => l.includes('pid 7102'))).toMatch(/^!! pid 7102 running 6m40s · app@10\.0\.0\.9 in reports/);
    expect(titleOf(lines, 'Sessions')).toMatch(/1 blocked! · 1 long query!!/);
    expect(lines.find((l) => l.startsWith('conns '))).toMatch(/ active 2 · idle 2 · ops-console 2$/);
  });
});
