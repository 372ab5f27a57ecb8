// The --json results' `changed` (src/cli/results.ts): what Ansible's changed_when reads.
import { describe, expect, it } from 'vitest';
import { changedBy, rollbackJson, runJson } from '../../src/cli/results';
import type { RunSummary } from '../../src/journal';

type Step = RunSummary['steps'][number];
const step = (over: Partial<Step>): Step => ({ id: 's', title: 'S', status: 'ok', rolledBack: false, rollback: null, irreversible: false, rollbackStatus: 'none', attempts: 1, durationMs: 5, exitCode: 0, pgid: null, backendPid: null, ...over }) as Step;
const run = (steps: Step[], over: Partial<RunSummary> = {}): RunSummary =>
  ({ run: 'r1', task: 't', title: 'T', risk: 'high', target: 'postgres://x@h/db', operator: null, startedAt: '', endedAt: '', outcome: 'succeeded', dryRun: false, steps, pendingRollbacks: 0, notes: [], ...over }) as RunSummary;

describe('changed', () => {
  it('a read step alone changed nothing; a step with an undo did', () => {
    const read = step({ id: 'read' });
    const alter = step({ id: 'alter', rollback: 'ALTER SYSTEM RESET x' });
    expect(changedBy(run([read, { ...alter, status: 'failed' }], { outcome: 'failed' }))).toBe(false);
    expect(changedBy(run([read, alter]))).toBe(true);
    // undone again: nothing stands
    expect(changedBy(run([read, { ...alter, rolledBack: true }]))).toBe(false);
  });

  it('a task with no undo at all (analyze) changed something once a step is done; a dry run never', () => {
    expect(changedBy(run([step({ id: 'analyze' })]))).toBe(true);
    expect(changedBy(run([step({ id: 'analyze' })], { dryRun: true }))).toBe(false);
    expect(changedBy(null)).toBe(false);
  });

  it('rollbacksLeft lists the undos not applied, newest first; a rollback result is changed when it undid a step', () => {
    const s = run([step({ id: 'a', rollback: 'undo a' }), step({ id: 'b', rollback: 'undo b' }), step({ id: 'c', status: 'pending', rollback: 'undo c' })]);
    expect(runJson(s, { task: null, target: 'x', exitCode: 0 }).rollbacksLeft.map((x) => x.step)).toEqual(['b', 'a']);
    const after = run([step({ id: 'a', rollback: 'undo a', rolledBack: true }), step({ id: 'b', rollback: 'undo b', rolledBack: true })]);
    expect(rollbackJson(after, { runId: 'r1', undoneBefore: ['a'] }, { target: 'x', exitCode: 0 })).toMatchObject({ changed: true, undone: ['b'] });
    expect(rollbackJson(after, { runId: 'r1', undoneBefore: ['a', 'b'] }, { target: 'x', exitCode: 0 })).toMatchObject({ changed: false, undone: [] });
  });
});
