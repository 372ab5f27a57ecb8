// The journal mirror's row in the Endpoints panel (issue 15 §2): how many events wait and for how
// long, judged by the same rule as ops check (journal.mirror, thresholds.journalMirrorLagMin).
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { DEFAULT_THRESHOLDS } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import type { MirrorLagData, MonitorState } from '../../src/types';
import { FIXED_AT, healthyState } from '../support/fixtures';
import { renderDashboard } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

const WHERE = 'postgres://ops_journal@db-admin:5432/ops';

function withMirror(data: MirrorLagData): MonitorState {
  const s = healthyState();
  const snapshot = { ...s.snapshot!, mirror: { ok: true as const, data, at: FIXED_AT, ms: 1 } };
  const check = evaluate(snapshot, DEFAULT_THRESHOLDS, { only: new Set(['backup']) }).checks.find((c) => c.id === 'journal.mirror')!;
  const checks = [...s.report!.checks, check];
  return { ...s, snapshot, report: { ...s.report!, checks, status: check.status === 'OK' ? s.report!.status : check.status } };
}

describe('the journal mirror row', () => {
  test('behind by more than the warning threshold: WARNING, with the count and the age', async () => {
    const state = withMirror({ pending: 7, oldestAt: new Date(FIXED_AT - 20 * 60_000).toISOString(), where: WHERE });
    expect(state.report!.checks.find((c) => c.id === 'journal.mirror')).toMatchObject({ status: 'WARNING', value: 20 });
    const d = await renderDashboard(state, { columns: 120, rows: 40 });
    const lines = d.lines();
    const at = lines.findIndex((l) => l.includes('journal mirror'));
    expect(lines[at]).toMatch(/! +journal mirror 7 waiting oldest 20m00s/);
    // the mirror's address follows, wrapped onto the next line at this width
    expect(`${lines[at]} ${lines[at + 1]}`).toContain(WHERE);
    expect(lines.find((l) => l.includes('Endpoints'))).toMatch(/1 need attention/);
  });

  test('up to date: OK', async () => {
    const state = withMirror({ pending: 0, oldestAt: null, where: WHERE });
    expect(state.report!.checks.find((c) => c.id === 'journal.mirror')).toMatchObject({ status: 'OK', value: 0 });
    const d = await renderDashboard(state, { columns: 120, rows: 40 });
    expect(d.lines().find((l) => l.includes('journal mirror'))).toMatch(/journal mirror up to date/);
  });
});
