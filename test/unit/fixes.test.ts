// The binding of findings to the built-in tasks that fix them (src/health/fixes.ts): by the
// row's object, never its position; OK rows get none; the check carries its lead row's fix.
import { describe, expect, it } from 'vitest';
import { attachFixes, fixForRow } from '../../src/health/fixes';
import type { Check, CheckRow } from '../../src/types';

function check(id: string, status: Check['status'], rows: CheckRow[], subject: string | null = rows[0]?.subject ?? null): Check {
  return { id, group: 'tables', label: id, status, summary: '', value: null, unit: '', thresholds: null, subject, rows };
}

describe('fixForRow', () => {
  it('maps each kind of finding to its task and parameters', () => {
    const r = (object: CheckRow['object']): CheckRow => ({ subject: 'x', status: 'CRITICAL', value: null, object });
    expect(fixForRow('tables.dead_tuples', r({ kind: 'table', schema: 'public', table: 'orders' }))).toEqual({ task: 'vacuum-analyze', params: { tables: ['public.orders'] } });
    expect(fixForRow('tables.never_analyzed', r({ kind: 'table', schema: 'app', table: 'a.b' }))).toEqual({ task: 'analyze', params: { tables: ['app."a.b"'] } });
    expect(fixForRow('tables.unused_indexes', r({ kind: 'index', schema: 'public', table: 't', index: 't_idx' }))).toEqual({ task: 'drop-index', params: { index: 'public.t_idx' } });
    expect(fixForRow('indexes.invalid', r({ kind: 'index', schema: 'public', table: 't', index: 't_idx_ccnew1' }))).toEqual({ task: 'drop-index', params: { index: 'public.t_idx_ccnew1' } });
    expect(fixForRow('indexes.invalid', r({ kind: 'index', schema: 'public', table: 't', index: 't_key' }))).toEqual({ task: 'reindex-concurrently', params: { index: 'public.t_key' } });
    const session = { kind: 'session' as const, pid: 4242, backendStart: null, database: 'app', user: 'u' };
    expect(fixForRow('sessions.idle_in_transaction', r(session))).toEqual({ task: 'terminate-sessions', params: { pids: [4242] } });
    expect(fixForRow('pg.xmin_horizon', r(session))).toEqual({ task: 'terminate-sessions', params: { pids: [4242] } });
    expect(fixForRow('pg.replication_slots', r({ kind: 'slot', slot: 'old_standby', slotType: 'physical', database: null }))).toEqual({ task: 'drop-replication-slot', params: { slot: 'old_standby' } });
    expect(fixForRow('pg.prepared_xacts', r({ kind: 'prepared', gid: "it's", database: 'app', owner: 'u' }))).toEqual({ task: 'rollback-prepared', params: { gid: "it's" } });
    // no built-in task: a hint instead
    expect(fixForRow('pg.autovacuum', r({ kind: 'setting', name: 'autovacuum' }))).toBeNull();
    expect(fixForRow('pg.archiver', r({ kind: 'archiver', wal: null }))).toBeNull();
    // a long query is not terminated by a fix: it may be legitimate work
    expect(fixForRow('sessions.long_query', r(session))).toBeNull();
    // drop-index takes plain identifiers only
    expect(fixForRow('tables.unused_indexes', r({ kind: 'index', schema: 'public', table: 't', index: 'Odd Name' }))).toBeNull();
  });
});

describe('attachFixes', () => {
  it('binds problem rows only, and gives the check the fix of the row its summary leads with', () => {
    const rows: CheckRow[] = [
      { subject: 'public.a', status: 'WARNING', value: 30, object: { kind: 'table', schema: 'public', table: 'a' } },
      { subject: 'public.b', status: 'CRITICAL', value: 80, object: { kind: 'table', schema: 'public', table: 'b' } },
      { subject: 'public.c', status: 'OK', value: 1, object: { kind: 'table', schema: 'public', table: 'c' } },
    ];
    const c = check('tables.dead_tuples', 'CRITICAL', rows, 'public.b');
    attachFixes([c]);
    expect(rows.map((r) => r.fix?.params)).toEqual([{ tables: ['public.a'] }, { tables: ['public.b'] }, undefined]);
    expect(c.fix).toEqual({ task: 'vacuum-analyze', params: { tables: ['public.b'] } });
  });

  it('an OK check carries no fix', () => {
    const c = check('tables.dead_tuples', 'OK', [{ subject: 'public.c', status: 'OK', value: 1, object: { kind: 'table', schema: 'public', table: 'c' } }]);
    attachFixes([c]);
    expect(c.fix).toBeUndefined();
  });
});
