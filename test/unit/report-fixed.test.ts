// A check that failed and was fixed by a later step (a later check on the same condition passed)
// is not an open problem in the report: it is listed as fixed during the walkthrough (issue 13 §7).
import { describe, expect, test } from 'vitest';
import { fixedLater, renderReport } from '../../src/checklists/report';
import type { WalkSummary } from '../../src/checklists/walkthrough';

const step = (id: string, kind: string, status: string, value?: string) => ({ id, title: `Step ${id}`, kind, status, value, notes: [], required: true });

function walk(): WalkSummary {
  return {
    run: 'cl-1',
    checklist: 'pre',
    title: 'Pre-maintenance',
    source: 'builtin',
    outcome: 'completed',
    operator: null,
    resumes: [],
    host: 'h',
    target: 'postgres://x@h/db',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:10:00.000Z',
    window: '',
    insideWindow: null,
    steps: [
      step('backup-fresh', 'check', 'failed', 'newest backup 50 h old'),
      step('take-backup', 'task', 'done'),
      step('backup-now', 'check', 'passed', 'newest backup 0 h old'),
      step('slots', 'check', 'failed', '1 inactive slot'),
    ],
    start: null,
    end: null,
  } as unknown as WalkSummary;
}

const CONDITIONS = new Map([
  ['backup-fresh', '{"metric":"backup.age_hours","below":24}'],
  ['backup-now', '{"metric":"backup.age_hours","below":24}'],
  ['slots', '{"metric":"pg.inactive_slots","below":1}'],
]);

describe('a check fixed later in the walkthrough', () => {
  test('is matched to the later step on the same condition', () => {
    expect([...fixedLater(walk(), CONDITIONS)]).toEqual([[0, 2]]);
  });

  test('is not an open problem, but is listed as fixed; a check still failing stays open', () => {
    const md = renderReport(walk(), () => null, [], CONDITIONS);
    const open = md.slice(md.indexOf('## Open problems'), md.indexOf('## Fixed during'));
    expect(open).not.toContain('Step backup-fresh');
    expect(open).toContain('Step "Step slots": FAILED: 1 inactive slot');
    expect(md).toContain('## Fixed during the walkthrough\n\n- Step "Step backup-fresh" FAILED: newest backup 50 h old; step "Step backup-now" passed after it: newest backup 0 h old');
  });

  test('without the conditions (a checklist no longer there) it stays open', () => {
    expect(renderReport(walk(), () => null)).toContain('Step "Step backup-fresh": FAILED');
  });
});
