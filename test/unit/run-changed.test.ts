// What each run in the emergency list changed (issue 13 §5.2), from its journal alone, and which
// runs need attention (§5.3): a succeeded backup, whose only undo deletes its own dump, is not
// listed; it stays in the history. A journal written before these values existed still lists.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRun } from '../../src/cli/rollback';
import { Journal } from '../../src/journal';
import { runsNeedingAttention } from '../../src/tasks/attention';
import { BUILTIN_TASKS } from '../../tasks/index';

let dir: string;
let journal: Journal;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-changed-'));
  journal = new Journal(join(dir, 'state'), { env: {} });
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

type Step = { id: string; title: string; rollback: string | null; values?: Record<string, unknown> };

/** Journals a run as the engine does: run.start, each step's start and ok finish, run.end. */
function journalRun(task: string, params: Record<string, unknown>, steps: Step[], outcome = 'succeeded', ts = '2026-12-02T10:00:00.000Z'): string {
  const run = journal.newRunId(task);
  journal.append({ run, ts, type: 'run.start', task, title: task, risk: 'high', params, target: 'postgres://x@h/db', operator: null, dryRun: false, steps: steps.map((s) => ({ id: s.id, title: s.title, rollback: s.rollback, irreversible: false })) });
  steps.forEach((s, index) => {
    journal.append({ run, ts, type: 'step.start', step: s.id, index, attempt: 1, detail: s.title });
    journal.append({ run, ts, type: 'step.finish', step: s.id, index, outcome: 'ok', exitCode: 0, durationMs: 1, ...(s.values ? { values: s.values } : {}), ...(s.rollback ? { rollback: s.rollback } : {}) });
  });
  journal.append({ run, ts, type: 'run.end', outcome: outcome as 'succeeded' });
  return run;
}

const settingSteps = (read?: Record<string, unknown>, alter?: Record<string, unknown>): Step[] => [
  { id: 'read', title: 'Read the current value', rollback: null, values: read },
  { id: 'alter', title: 'ALTER SYSTEM and reload', rollback: `ALTER SYSTEM SET "work_mem" = '4MB'; SELECT pg_reload_conf()`, values: alter },
];

const backupSteps = (withValues: boolean): Step[] => [
  { id: 'check', title: 'Check the backup directory', rollback: 'rm -f -- /b/.shop-1.dump.partial', values: withValues ? { file: '/var/backups/shop-20261202-100000.dump', partial: '/b/.shop-1.dump.partial', serverVersionNum: 170000 } : undefined },
  { id: 'dump', title: 'Dump the database (pg_dump -Fc)', rollback: 'rm -f -- /b/.shop-1.dump.partial' },
  { id: 'checksum', title: 'Write the sha256 checksum', rollback: 'rm -f -- /b/shop-1.dump.sha256', values: withValues ? { sha256: 'ab', size: 32 * 1024 * 1024 } : undefined },
  { id: 'list', title: 'Check the archive reads back', rollback: null },
  { id: 'rename', title: 'Give the dump its name', rollback: 'rm -f -- /var/backups/shop-20261202-100000.dump', values: withValues ? { named: true } : undefined },
];

const attention = () => runsNeedingAttention(journal, { tasks: BUILTIN_TASKS });

describe('what a run changed, from the journal', () => {
  it('set-setting: the old and the new value with their units, as read at run time', () => {
    const run = journalRun('set-setting', { name: 'work_mem', value: '64kB' }, settingSteps({ previous: '4096', previousShown: '4MB', previousAuto: '4MB', expected: '64kB', exact: true, context: 'user' }, { applied: true, now: '64kB' }));
    const [r] = attention();
    expect(r.run).toBe(run);
    expect(r.changed).toBe('work_mem 4MB → 64kB');
    expect(describeRun(r)).toContain('    changed: work_mem 4MB → 64kB\n');
  });

  it('drop-index: the index dropped, recreated by the undo', () => {
    journalRun('drop-index', { index: 'public.x' }, [
      { id: 'read', title: 'Read the index definition', rollback: null, values: { schema: 'public', name: 'x', definition: 'CREATE INDEX x ON public.t USING btree (a)' } },
      { id: 'drop', title: 'DROP INDEX CONCURRENTLY', rollback: 'CREATE INDEX CONCURRENTLY x ON public.t USING btree (a)', values: { dropped: true } },
    ]);
    expect(attention()[0].changed).toBe('dropped index public.x (recreated by the undo)');
  });

  it('vacuum-analyze: the number of tables vacuumed, from the journaled values', () => {
    const task = BUILTIN_TASKS.find((t) => t.id === 'vacuum-analyze')!;
    const tables = [{ schema: 'public', table: 'a' }, { schema: 'public', table: 'b' }];
    expect(task.changed!({ tables, vacuumed: 2 }, {})).toBe('vacuumed 2 tables');
    expect(task.changed!({ tables: tables.slice(0, 1), vacuumed: 1 }, {})).toBe('vacuumed 1 table');
    expect(task.changed!({ tables: [], vacuumed: 0 }, {})).toBe('vacuumed no table (none over the thresholds)');
    expect(task.changed!({}, {})).toBeNull();
    // an interrupted run (the vacuum step started, never finished) is listed, with the tables it picked
    const run = journal.newRunId('vacuum-analyze');
    const ts = '2026-12-02T10:00:00.000Z';
    journal.append({ run, ts, type: 'run.start', task: 'vacuum-analyze', title: 'vacuum-analyze', risk: 'medium', params: {}, target: 'postgres://x@h/db', operator: null, dryRun: false, steps: [{ id: 'pick', title: 'Pick the tables', rollback: null, irreversible: false }, { id: 'vacuum', title: 'VACUUM (VERBOSE, ANALYZE)', rollback: null, irreversible: false }] });
    journal.append({ run, ts, type: 'step.start', step: 'pick', index: 0, attempt: 1, detail: 'pick' });
    journal.append({ run, ts, type: 'step.finish', step: 'pick', index: 0, outcome: 'ok', exitCode: 0, durationMs: 1, values: { tables } });
    journal.append({ run, ts, type: 'step.start', step: 'vacuum', index: 1, attempt: 1, detail: 'vacuum' });
    const [r] = attention();
    expect(r.run).toBe(run);
    expect(r.changed).toBe('vacuum of 2 tables not finished');
  });

  it('reindex-concurrently: the index rebuilt, or the indexes of the table', () => {
    const index = { kind: 'index', schema: 'public', name: 'x', indexes: [{ schema: 'public', name: 'x' }], tableOids: ['1'] };
    journalRun('reindex-concurrently', { index: 'public.x' }, [
      { id: 'check', title: 'Find the index and check free space', rollback: 'DROP INDEX CONCURRENTLY IF EXISTS leftovers of public.x', values: { resolved: index, sizeBefore: 8192 } },
      { id: 'reindex', title: 'REINDEX CONCURRENTLY', rollback: 'DROP INDEX CONCURRENTLY IF EXISTS leftovers of public.x', values: { sizeAfter: 8192 } },
    ], 'failed');
    expect(attention()[0].changed).toBe('rebuilt index public.x');
    const task = BUILTIN_TASKS.find((t) => t.id === 'reindex-concurrently')!;
    const table = { kind: 'table', schema: 'public', name: 't', indexes: [{ schema: 'public', name: 't_pkey' }, { schema: 'public', name: 't_a' }], tableOids: ['1'] };
    expect(task.changed!({ resolved: table, sizeBefore: 1, sizeAfter: 1 }, { table: 'public.t' })).toBe('rebuilt the 2 indexes of table public.t');
    expect(task.changed!({ resolved: index, sizeBefore: 1 }, { index: 'public.x' })).toBe('rebuild of index public.x not finished (the undo drops its INVALID leftovers)');
    expect(task.changed!({}, { index: 'public.x' })).toBeNull();
  });

  it('backup: a succeeded one is not listed as needing attention, and stays in the history', () => {
    const run = journalRun('backup', {}, backupSteps(true));
    expect(attention()).toEqual([]);
    expect(journal.runs().map((r) => r.run)).toEqual([run]);
  });

  it('reindex-concurrently: a succeeded one is not needing attention (its undos only clear a failed attempt), a failed one is', () => {
    const index = { kind: 'index', schema: 'public', name: 'x', indexes: [{ schema: 'public', name: 'x' }], tableOids: ['1'] };
    const steps: Step[] = [
      { id: 'check', title: 'Find the index and check free space', rollback: 'DROP INDEX CONCURRENTLY IF EXISTS leftovers of public.x', values: { resolved: index, sizeBefore: 8192 } },
      { id: 'reindex', title: 'REINDEX CONCURRENTLY', rollback: 'DROP INDEX CONCURRENTLY IF EXISTS leftovers of public.x', values: { sizeAfter: 8192 } },
    ];
    const done = journalRun('reindex-concurrently', { index: 'public.x' }, steps);
    expect(attention()).toEqual([]);
    expect(journal.runs().map((r) => r.run)).toEqual([done]);
    const failed = journalRun('reindex-concurrently', { index: 'public.x' }, steps.slice(0, 1), 'failed', '2026-12-02T11:00:00.000Z');
    expect(attention().map((r) => r.run)).toEqual([failed]);
  });

  it('backup: a failed one is listed, with its file and size', () => {
    journalRun('backup', {}, backupSteps(true).slice(0, 3), 'failed');
    const [r] = attention();
    expect(r.changed).toBe('unfinished dump /b/.shop-1.dump.partial (32.0 MB)');
    const done = journalRun('backup', {}, backupSteps(true), 'succeeded', '2026-12-02T11:00:00.000Z');
    expect(attention().map((x) => x.run)).not.toContain(done);
  });

  it('a journal written before these values (no values, no new fields) still lists, with a sensible line', () => {
    journalRun('set-setting', { name: 'work_mem', value: '64kB' }, settingSteps());
    journalRun('backup', {}, backupSteps(false), 'failed', '2026-12-02T09:00:00.000Z');
    journalRun('no-such-task', {}, [{ id: 'a', title: 'Do a', rollback: 'undo a' }], 'failed', '2026-12-02T08:00:00.000Z');
    const runs = attention();
    expect(runs.map((r) => r.task)).toEqual(['set-setting', 'backup', 'no-such-task']);
    expect(runs[0].changed).toBe('done: Read the current value, ALTER SYSTEM and reload');
    expect(runs[2].changed).toBe('done: Do a');
    for (const r of runs) expect(() => describeRun(r)).not.toThrow();
    // without the task definitions (an older caller): listed, never a crash
    expect(runsNeedingAttention(journal).length).toBe(3);
  });
});
