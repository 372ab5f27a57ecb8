// The one policy for a running step's progress (src/tasks/progress.ts): percent, ETA, an unknown
// total, the poll's statement on PostgreSQL 12 (no pg_stat_progress_analyze) and 13+, the rows
// of each view, the lock-wait line, and the headless line's pace (src/cli/run.ts printProgress).
import { describe, expect, test } from 'vitest';
import { printProgress } from '../../src/cli/run';
import { lockLine, progressFigures, progressOfRow, progressSql, type StepProgress } from '../../src/tasks/progress';
import type { RunState } from '../../src/tasks/run-state';

const p = (over: Partial<StepProgress> = {}): StepProgress => ({ source: 'vacuum', phase: 'scanning heap', done: 250, total: 1000, unit: 'blocks', extra: [], at: 0, waitingFor: null, ...over });

describe('progressFigures', () => {
  test('percent and ETA from the rate since the step started', () => {
    const f = progressFigures(p(), 0, 10_000);
    expect(f.percent).toBe(25);
    expect(f.etaSec).toBeCloseTo(30);
    expect(f.text).toBe('vacuum · scanning heap · 250 of 1,000 blocks · 25% · 10s elapsed · ETA 30s');
  });

  test('an unknown total: no percent, no ETA, the count alone', () => {
    const f = progressFigures(p({ total: null, done: 12, unit: 'tables', source: 'pg_dump', phase: 'dumping' }), 0, 3_000);
    expect(f.percent).toBeNull();
    expect(f.etaSec).toBeNull();
    expect(f.text).toBe('pg_dump · dumping · 12 tables · 3.0s elapsed · ETA ?');
    expect(progressFigures(p({ total: 0, done: 0 }), 0, 1000).percent).toBeNull();
  });

  test('nothing done yet: no ETA; all done: ETA 0', () => {
    expect(progressFigures(p({ done: 0 }), 0, 5000).etaSec).toBeNull();
    expect(progressFigures(p({ done: 1000 }), 0, 5000)).toMatchObject({ percent: 100, etaSec: 0 });
  });

  test('the lock wait, sanitized, with the query head cut', () => {
    const f = progressFigures(p({ waitingFor: { pid: 7, user: 'bob', state: 'idle in transaction', query: `UPDATE t\nSET x = 1 \x1b[31m${'y'.repeat(100)}` } }), 0, 1000);
    expect(f.lockLine).toMatch(/^waiting for a lock held by pid 7 \(bob, idle in transaction, UPDATE t SET x = 1 y+…\)$/);
    expect(f.lockLine).not.toContain('\x1b');
    expect(lockLine({ pid: 1, user: '', state: '', query: '' })).toBe('waiting for a lock held by pid 1 (?, ?, -)');
  });
});

describe('the poll statement and its rows', () => {
  test('PG12 has no pg_stat_progress_analyze: the statement never names it; 13+ does', () => {
    expect(progressSql(120016)).not.toContain('pg_stat_progress_analyze');
    expect(progressSql(130000)).toContain('pg_stat_progress_analyze');
    // never a column PG17 renamed (max_dead_tuples, num_dead_tuples)
    for (const v of [120000, 170000]) expect(progressSql(v)).not.toMatch(/dead_tuple/);
  });

  test('PG12 without the analyze view: an ANALYZE shows no bar', () => {
    expect(progressOfRow({ wait: null, vacuum: null, create_index: null, analyze: null, blocker: null }, 0)).toBeNull();
  });

  test('a vacuum row (PG17 columns too), a create-index row by blocks or tuples with lockers, an analyze row', () => {
    const vac = progressOfRow({ vacuum: { phase: 'scanning heap', heap_blks_scanned: 10, heap_blks_total: 40, index_vacuum_count: 2, max_dead_tuple_bytes: 1 } }, 5);
    expect(vac).toMatchObject({ source: 'vacuum', done: 10, total: 40, unit: 'blocks', extra: ['2 index passes'], at: 5 });
    const ci = progressOfRow({ create_index: { phase: 'building index', blocks_done: 0, blocks_total: 0, tuples_done: 5, tuples_total: 50, lockers_done: 1, lockers_total: 3, current_locker_pid: 99 } }, 0);
    expect(ci).toMatchObject({ source: 'create index', done: 5, total: 50, unit: 'tuples', extra: ['lockers 1 of 3 (waiting for pid 99)'] });
    expect(progressOfRow({ analyze: { phase: 'acquiring sample rows', sample_blks_scanned: 3, sample_blks_total: 6 } }, 0)).toMatchObject({ source: 'analyze', done: 3, total: 6 });
    const blocked = progressOfRow({ wait: 'Lock', create_index: { phase: 'waiting for old snapshots' }, blocker: { pid: 12, user: 'u', state: 'idle in transaction', query: 'SELECT 1' } }, 0);
    expect(blocked?.waitingFor).toEqual({ pid: 12, user: 'u', state: 'idle in transaction', query: 'SELECT 1' });
  });
});

describe('the headless progress line', () => {
  test('a line when progress first shows, then at most one every 5 s', () => {
    const listeners: (() => void)[] = [];
    const state = { current: 0, steps: [{ status: 'running', startedAt: 0, progress: p() }] } as unknown as RunState;
    const lines: string[] = [];
    let now = 1000;
    const stop = printProgress({ state, subscribe: (fn) => (listeners.push(fn), () => undefined) }, (s) => lines.push(s), 5000, () => now);
    const tick = (t: number) => {
      now = t;
      for (const l of listeners) l();
    };
    tick(1000);
    tick(2000);
    tick(5999);
    tick(6000);
    expect(lines).toEqual(['progress: step 1: vacuum · scanning heap · 250 of 1,000 blocks · 25% · 1.0s elapsed · ETA 3.0s\n', 'progress: step 1: vacuum · scanning heap · 250 of 1,000 blocks · 25% · 6.0s elapsed · ETA 18s\n']);
    stop();
  });
});
