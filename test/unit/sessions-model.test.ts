// The sessions view's model on fixed rows: the lock tree (chains to any depth, heldUp, a session
// behind two blockers, blockers that are not client sessions, cycles broken the same way every
// time), the root blockers of a session, sorting by every column, the filters, the counts that
// leave out the console's own, the cancel policy for idle sessions, and the headless printers
// (sanitized, the tree indented). The same model on real PostgreSQL: test/integration/sessions-view.test.ts.
import { describe, expect, it } from 'vitest';
import { locksText, sessionsCommand, sessionsFilter, sessionsText } from '../../src/cli/sessions';
import { UsageError, UserError } from '../../src/errors';
import { buildBatch } from '../../src/probes/postgres-sql';
import {
  cancelDoesNothing,
  filterSessions,
  flattenTree,
  lockTree,
  rootBlockersOf,
  sessionCounts,
  sessionKey,
  SORT_KEYS,
  sortSessions,
  type LockNode,
  type SessionRow,
} from '../../src/sessions/model';
import { toSessionRow } from '../../src/sessions/read';
import { UNSAFE } from '../../src/util/sanitize';
import { cancelQuery, parseSessionRef, terminateSessions } from '../../tasks/sessions';
import { parseParams } from '../../src/tasks/engine';

let n = 0;
function row(pid: number, over: Partial<SessionRow> = {}): SessionRow {
  n += 1;
  return {
    pid,
    backendStart: `2026-11-23T18:${String(n % 60).padStart(2, '0')}:00.000001Z`,
    database: 'app',
    user: 'alice',
    application: 'web',
    client: '10.0.0.1',
    clientAddr: '10.0.0.1',
    clientHostname: null,
    clientPort: 50000 + pid,
    state: 'active',
    waitEventType: null,
    waitEvent: null,
    xminAge: null,
    xactStart: null,
    queryStart: null,
    stateChange: null,
    querySec: 1,
    xactSec: null,
    backendSec: 100,
    query: `SELECT ${pid}`,
    blockedBy: [],
    lockWaitSec: null,
    locks: [],
    own: false,
    self: false,
    ...over,
  };
}

/** pid waits on `by` for `wait` seconds */
const waiting = (pid: number, by: number[], wait: number, over: Partial<SessionRow> = {}) =>
  row(pid, { blockedBy: by, lockWaitSec: wait, waitEventType: 'Lock', waitEvent: 'advisory', ...over });

/** the tree as `pid(heldUp)[children]` text, for compact assertions */
function shape(nodes: readonly LockNode[]): string {
  return nodes
    .map((n) => `${n.pid}(${n.heldUp})${n.cycle ? '!' : ''}${n.repeated ? '^' : ''}${n.children.length ? `[${shape(n.children)}]` : ''}`)
    .join(' ');
}

describe('lockTree', () => {
  it('a chain A blocks B blocks C: A at the root, B under it, C under B; A holds up 2', () => {
    const rows = [waiting(30, [20], 5), row(10, { state: 'idle in transaction' }), waiting(20, [10], 9), row(40)];
    const tree = lockTree(rows);
    expect(shape(tree)).toBe('10(2)[20(1)[30(0)]]');
    expect(tree[0].session?.pid).toBe(10);
    expect(tree[0].waitSec).toBeNull();
    expect(tree[0].children[0].waitSec).toBe(9);
    expect(tree[0].children[0].children[0].waitSec).toBe(5);
    // sessions in no lock wait are not in the tree
    expect(flattenTree(tree).map((e) => [e.node.pid, e.depth])).toEqual([
      [10, 0],
      [20, 1],
      [30, 2],
    ]);
  });

  it('goes to any depth, and heldUp counts every session beneath', () => {
    const rows = [row(1)];
    for (let p = 2; p <= 60; p++) rows.push(waiting(p, [p - 1], p));
    const tree = lockTree(rows);
    expect(tree).toHaveLength(1);
    const flat = flattenTree(tree);
    expect(flat).toHaveLength(60);
    expect(flat.map((e) => e.depth)).toEqual([...Array(60).keys()]);
    expect(flat.map((e) => e.node.heldUp)).toEqual([...Array(60).keys()].map((i) => 59 - i));
  });

  it('roots by sessions held up, then pid; children by longest wait, then pid', () => {
    const rows = [row(5), waiting(6, [5], 1), row(7), waiting(8, [7], 3), waiting(9, [7], 8), waiting(10, [7], 3)];
    expect(shape(lockTree(rows))).toBe('7(3)[9(0) 8(0) 10(0)] 5(1)[6(0)]');
  });

  it('a session behind two blockers is under both, written out once; heldUp counts it once each', () => {
    const rows = [row(1), row(2), waiting(3, [1, 2], 4), waiting(4, [3], 2), waiting(5, [1], 1)];
    const tree = lockTree(rows);
    expect(shape(tree)).toBe('1(3)[3(1)[4(0)] 5(0)] 2(2)[3(1)^]');
    expect(rootBlockersOf(rows, 4).map((r) => r.pid)).toEqual([1, 2]);
  });

  it('a blocker that is no client session (autovacuum, a prepared transaction as pid 0) is a root of its own, with no row', () => {
    const rows = [waiting(11, [0], 2), waiting(12, [999], 3), waiting(13, [12], 1)];
    const tree = lockTree(rows);
    expect(shape(tree)).toBe('999(2)[12(1)[13(0)]] 0(1)[11(0)]');
    expect(tree.map((t) => t.session)).toEqual([null, null]);
    expect(rootBlockersOf(rows, 13).map((r) => r.pid)).toEqual([999]);
    expect(locksText(tree)).toMatch(/^pid 999 \(not a client session\), holds up 2$/m);
    expect(locksText(tree)).toMatch(/^a prepared transaction \(pid 0\), holds up 1$/m);
  });

  it('a cycle has a root all the same: the member holding up the most, the lowest pid on a tie, whatever the row order', () => {
    // 21 <-> 22, and 23 waits on 22: 22 holds up 21 and 23, 21 holds up 22 and 23 (through 22):
    // a tie, so 21 leads; 22 beneath it still holds up 2 (21, above it, among them)
    const a = [waiting(21, [22], 1), waiting(22, [21], 2), waiting(23, [22], 3)];
    const b = [...a].reverse();
    expect(shape(lockTree(a))).toBe('21(2)![22(2)[23(0)]]');
    expect(shape(lockTree(b))).toBe(shape(lockTree(a)));
    // a bigger ring 31 -> 32 -> 33 -> 31 (each blocks the next), with a tail 33 -> 34 -> 35: each
    // member holds up the 4 others, the tail less; a tie, so the lowest pid leads
    const ring = [waiting(31, [33], 1), waiting(32, [31], 1), waiting(33, [32], 1), waiting(34, [33], 1), waiting(35, [34], 1)];
    const t = lockTree(ring);
    expect(shape(t)).toBe('31(4)![32(4)[33(4)[34(1)[35(0)]]]]');
    for (let i = 0; i < 5; i++) expect(lockTree([...ring.slice(i), ...ring.slice(0, i)])).toEqual(t);
    // every member's root blocker is the chosen one, itself included
    for (const p of [31, 32, 33, 34, 35]) expect(rootBlockersOf(ring, p).map((r) => r.pid)).toEqual([31]);
    // a ring whose tail leaves from one member: the tail's own member does not win by that alone
    const tail = [waiting(41, [42], 1), waiting(42, [41], 1), waiting(43, [42], 1)];
    expect(shape(lockTree(tail))).toBe('41(2)![42(2)[43(0)]]');
  });

  it('a cycle held up by a root outside it is under that root, not a root of its own', () => {
    const rows = [row(1), waiting(2, [1, 3], 1), waiting(3, [2], 1)];
    const tree = lockTree(rows);
    // 3 holds up 2 (its parent): the edge back up is not drawn again
    expect(shape(tree)).toBe('1(2)[2(1)[3(1)]]');
    expect(rootBlockersOf(rows, 3).map((r) => r.pid)).toEqual([1]);
  });

  it('rootBlockersOf: empty for a session that waits on no one, and for a root itself', () => {
    const rows = [row(1), waiting(2, [1], 1), waiting(3, [2], 1)];
    expect(rootBlockersOf(rows, 3).map((r) => r.pid)).toEqual([1]);
    expect(rootBlockersOf(rows, 3)[0].session?.backendStart).toBe(rows[0].backendStart);
    expect(rootBlockersOf(rows, 1)).toEqual([]);
    expect(rootBlockersOf(rows, 42)).toEqual([]);
  });
});

describe('sortSessions', () => {
  const rows = [
    row(3, { database: 'b', user: 'Carol', application: '', client: 'local', state: 'idle', querySec: 50, xactSec: null, backendSec: 10, query: 'update', xminAge: 5 }),
    row(1, { database: 'a', user: 'bob', application: 'api', client: '10.0.0.9', state: 'active', querySec: 5, xactSec: 5, backendSec: 30, query: 'SELECT', xminAge: null }),
    row(2, { database: null, user: 'alice', application: 'web', client: '10.0.0.10', state: 'idle in transaction', querySec: 20, xactSec: 90, backendSec: 20, query: 'insert', xminAge: 7, waitEventType: 'Client', waitEvent: 'ClientRead' }),
  ];
  const order = (key: (typeof SORT_KEYS)[number], dir: 'asc' | 'desc' = 'asc', duration?: 'query' | 'transaction' | 'backend') =>
    sortSessions(rows, key, dir, { duration }).map((r) => r.pid);

  it('by each column, both ways; a missing value last either way', () => {
    expect(order('pid')).toEqual([1, 2, 3]);
    expect(order('pid', 'desc')).toEqual([3, 2, 1]);
    expect(order('database')).toEqual([1, 3, 2]);
    expect(order('database', 'desc')).toEqual([3, 1, 2]);
    expect(order('user')).toEqual([2, 1, 3]); // case does not matter
    expect(order('application')).toEqual([1, 2, 3]); // '' is missing: last
    expect(order('client')).toEqual([1, 2, 3]); // numbers in text compare as numbers: 10.0.0.9 < 10.0.0.10
    expect(order('state')).toEqual([1, 3, 2]);
    expect(order('wait')).toEqual([2, 1, 3]); // the others wait on nothing: by pid after
    expect(order('query')).toEqual([2, 1, 3]);
    expect(order('querySec', 'desc')).toEqual([3, 2, 1]);
    expect(order('xactSec')).toEqual([1, 2, 3]);
    expect(order('xactSec', 'desc')).toEqual([2, 1, 3]);
    expect(order('backendSec')).toEqual([3, 2, 1]);
    expect(order('xminAge', 'desc')).toEqual([2, 3, 1]);
    expect(order('duration', 'desc')).toEqual([3, 2, 1]);
    expect(order('duration', 'desc', 'transaction')).toEqual([2, 1, 3]);
    expect(order('duration', 'asc', 'backend')).toEqual([3, 2, 1]);
  });

  it('every key sorts, and leaves the input alone', () => {
    const before = rows.map((r) => r.pid);
    for (const k of SORT_KEYS) {
      expect(sortSessions(rows, k, 'asc')).toHaveLength(3);
      expect(sortSessions(rows, k, 'desc')).toHaveLength(3);
    }
    expect(rows.map((r) => r.pid)).toEqual(before);
  });

  it('lockWaitSec and blocking (the sessions held up); ties by pid', () => {
    const locked = [row(9), waiting(4, [9], 3), waiting(5, [4], 7), row(1)];
    expect(sortSessions(locked, 'lockWaitSec', 'desc').map((r) => r.pid)).toEqual([5, 4, 1, 9]);
    expect(sortSessions(locked, 'blocking', 'desc').map((r) => r.pid)).toEqual([9, 4, 1, 5]);
  });
});

describe('filterSessions', () => {
  const rows = [
    row(1, { database: 'orders', user: 'web', application: 'checkout', query: 'SELECT * FROM carts', state: 'active' }),
    row(2, { database: 'billing', user: 'batch', application: 'nightly', query: 'UPDATE invoices SET paid = true', state: 'idle in transaction' }),
    row(3, { database: 'billing', user: 'report', application: '', query: 'SELECT 1', state: 'idle in transaction (aborted)' }),
    waiting(4, [2], 12, { database: 'orders', user: 'web', query: 'UPDATE invoices SET x = 1' }),
    row(5, { database: null, user: null, state: null, query: '' }),
  ];
  const pids = (f: Parameters<typeof filterSessions>[1]) => filterSessions(rows, f).map((r) => r.pid);

  it('the regex, case-insensitive, over database, user, application and query', () => {
    expect(pids({ regex: 'INVOICES' })).toEqual([2, 4]);
    expect(pids({ regex: '^bill' })).toEqual([2, 3]);
    expect(pids({ regex: 'nightly' })).toEqual([2]);
    expect(pids({ regex: '^report$' })).toEqual([3]);
    expect(pids({ regex: '' })).toEqual([1, 2, 3, 4, 5]);
    expect(pids({})).toEqual([1, 2, 3, 4, 5]);
  });

  it('state (spelled with - or _ too), database, the quick filters, combined', () => {
    expect(pids({ state: 'idle-in-transaction' })).toEqual([2]);
    expect(pids({ state: 'Idle In Transaction (aborted)' })).toEqual([3]);
    expect(pids({ database: 'orders' })).toEqual([1, 4]);
    expect(pids({ quick: 'active' })).toEqual([1, 4]);
    expect(pids({ quick: 'idle-in-transaction' })).toEqual([2, 3]);
    expect(pids({ quick: 'waiting' })).toEqual([4]);
    expect(pids({ database: 'orders', quick: 'waiting', regex: 'invoices' })).toEqual([4]);
    expect(pids({ database: 'billing', quick: 'active' })).toEqual([]);
  });

  it('a bad regex is a UserError naming it', () => {
    expect(() => filterSessions(rows, { regex: 'carts(' })).toThrow(UserError);
    expect(() => filterSessions(rows, { regex: 'carts(' })).toThrow(/^filter: "carts\(" is not a valid regular expression \(.+\)$/);
    // the CLI says it before connecting, as a usage error
    expect(() => sessionsFilter({ filter: '[a' })).toThrow(UsageError);
    expect(() => sessionsFilter({ filter: '[a' })).toThrow(/^--filter: "\[a" is not a valid regular expression/);
    expect(() => sessionsFilter({ state: 'sleeping' })).toThrow(/^--state: unknown state "sleeping" \(states: active, idle, idle in transaction/);
    expect(sessionsFilter({ state: 'idle_in_transaction', database: 'x', filter: 'a|b' })).toEqual({ state: 'idle_in_transaction', database: 'x', regex: 'a|b' });
  });
});

describe('keys and counts', () => {
  it('sessionKey is pid and backend start', () => {
    expect(sessionKey({ pid: 4242, backendStart: '2026-11-23T18:45:00.123456Z' })).toBe('4242@2026-11-23T18:45:00.123456Z');
    // it is what the cancel and terminate tasks take
    expect(parseSessionRef(sessionKey({ pid: 4242, backendStart: '2026-11-23T18:45:00.123456Z' }))).toEqual({ pid: 4242, backendStart: '2026-11-23T18:45:00.123456Z' });
  });

  it("the counts leave out the console's own sessions and the reading backend", () => {
    const rows = [
      row(1, { state: 'active' }),
      row(2, { state: 'idle in transaction' }),
      waiting(3, [2], 1),
      row(4, { application: 'ops-console', own: true, state: 'idle' }),
      row(5, { application: 'ops-console: reindex r1', own: true, state: 'idle in transaction' }),
      row(6, { self: true, own: true, state: 'active' }),
      waiting(7, [5], 1),
    ];
    expect(sessionCounts(rows)).toEqual({
      total: 4,
      own: 3,
      // a session waiting on a lock is active too (its state); `waiting` counts those
      byState: { active: 3, 'idle in transaction': 1 },
      active: 3,
      idleInTransaction: 1,
      waiting: 2,
      // 2 blocks 3; 5 (the console's own task run) blocks 7: not counted
      rootBlockers: 1,
    });
  });
});

describe('cancelling a session that runs no query', () => {
  it('the policy: idle in transaction (aborted or not) and idle are left as they are, and terminate is offered', () => {
    expect(cancelDoesNothing('idle in transaction')).toBe(
      'it is idle in transaction: cancelling does nothing (no query runs; its transaction stays open, holding its locks). Terminate it to end the transaction',
    );
    expect(cancelDoesNothing('idle in transaction (aborted)')).toMatch(/^it is idle in transaction \(aborted\): cancelling does nothing .* Terminate it/);
    expect(cancelDoesNothing('idle')).toBe('it is idle: cancelling does nothing (no query runs)');
    expect(cancelDoesNothing('active')).toBeNull();
    expect(cancelDoesNothing(null)).toBeNull();
  });

  it("cancel-query's plan says so; kind=idle-in-transaction is refused with terminate offered", () => {
    expect(() => parseParams(cancelQuery, { kind: 'idle-in-transaction' })).toThrow(
      /^cancel-query: parameters: a session idle in a transaction runs no query: cancelling does nothing to it. Terminate it instead \(terminate-sessions kind=idle-in-transaction\)$/,
    );
    expect(parseParams(terminateSessions, { kind: 'idle-in-transaction' })).toEqual({ kind: 'idle-in-transaction' });
    const list = cancelQuery.steps[0].action({ params: { pids: [7] }, values: {}, target: null as never, config: null as never });
    expect(list.kind === 'fn' && list.describe).toMatch(/a session idle, or idle in a transaction, runs no query: it is listed as such, not cancelled \(terminate-sessions ends it\)$/);
    const tlist = terminateSessions.steps[0].action({ params: { pids: [7] }, values: {}, target: null as never, config: null as never });
    expect(tlist.kind === 'fn' && tlist.describe).not.toMatch(/not cancelled/);
  });
});

describe('sessions=PID@BACKENDSTART', () => {
  it('takes the sessions view form and the server text, comma-separated or repeated; a time without its zone is refused', () => {
    expect(parseParams(terminateSessions, { sessions: '12@2026-11-23T18:45:00.123456Z,13@2026-11-23 18:45:00.5+02' })).toEqual({
      sessions: ['12@2026-11-23T18:45:00.123456Z', '13@2026-11-23 18:45:00.5+02'],
    });
    expect(parseParams(cancelQuery, { sessions: ['12@2026-11-23T18:45:00Z', '14@2026-11-23T18:45:00+05:30'] })).toEqual({
      sessions: ['12@2026-11-23T18:45:00Z', '14@2026-11-23T18:45:00+05:30'],
    });
    // what the journal holds is read back the same on resume
    const once = parseParams(terminateSessions, { sessions: '12@2026-11-23T18:45:00Z' });
    expect(parseParams(terminateSessions, once)).toEqual(once);
    for (const bad of ['12', '12@', '12@2026-11-23T18:45:00', '12@yesterday', 'x@2026-11-23T18:45:00Z', '0@2026-11-23T18:45:00Z', '12@2026-13-23T18:45:00Z']) {
      expect(() => parseParams(terminateSessions, { sessions: bad }), bad).toThrow(/--param sessions\.0: ".*" is not PID@BACKENDSTART/);
    }
    expect(() => parseParams(terminateSessions, { sessions: '12@2026-11-23T18:45:00Z', pids: '12' })).toThrow(/give either pids=<pid>/);
    expect(() => parseParams(terminateSessions, { sessions: '12@2026-11-23T18:45:00Z', olderThanSec: '3' })).toThrow(/olderThanSec goes with kind/);
    const list = terminateSessions.steps[0].action({ params: { sessions: ['12@2026-11-23T18:45:00Z'] }, values: {}, target: null as never, config: null as never });
    expect(list.kind === 'fn' && list.describe).toMatch(/^list the session pid 12 \(backend start 2026-11-23T18:45:00Z\) from pg_stat_activity/);
  });
});

describe('the rows and the probe batch', () => {
  it('maps a row of the query: the client, a Unix socket, locks as json text or parsed, durations never negative', () => {
    const r = toSessionRow({
      pid: 7,
      backend_start: '2026-11-23T18:45:00.123456Z',
      database: 'app',
      user: 'u',
      application: '',
      client_addr: null,
      client_hostname: null,
      client_port: -1,
      state: 'active',
      query_sec: -0.001,
      xact_sec: null,
      backend_sec: 3,
      query: 'SELECT 1',
      blocked_by: [9, 9, 8],
      lock_wait_sec: 2,
      locks: '[{"locktype":"advisory","mode":"ExclusiveLock","granted":false,"database":"app","relation":null,"object":"1"}]',
      own: false,
      self: false,
    });
    expect(r).toMatchObject({ pid: 7, client: 'local', clientPort: null, querySec: 0, xactSec: null, blockedBy: [9, 8], lockWaitSec: 2 });
    expect(r.locks).toEqual([{ locktype: 'advisory', mode: 'ExclusiveLock', granted: false, database: 'app', relation: null, object: '1' }]);
    expect(toSessionRow({ pid: 1, client_addr: '10.1.1.1', client_hostname: 'db-client', client_port: 5555 })).toMatchObject({ client: 'db-client', clientPort: 5555 });
  });

  it("the round's batch has the full list only when asked for", () => {
    const st = { available: false as const, reason: 'x' };
    expect(buildBatch(150000, st, false, []).parts).not.toContain('activity');
    const asked = buildBatch(150000, st, false, [], true);
    expect(asked.parts.at(-1)).toBe('activity');
    expect(asked.sql).toContain('pg_blocking_pids');
  });
});

describe('the headless printers', () => {
  const hostile = '\x1b]0;owned\x07\x1b[2J\u202eevil\nDROP';
  it('sanitize outside text in the table and the tree', () => {
    const rows = [row(1, { state: 'idle in transaction', query: `UPDATE t SET v = 1 -- ${hostile}`, application: hostile, database: hostile }), waiting(2, [1], 61, { user: hostile })];
    const table = sessionsText(rows, rows);
    const tree = locksText(lockTree(rows));
    for (const text of [table, tree]) {
      for (const line of text.split('\n')) expect(UNSAFE.test(line), line).toBe(false);
      expect(text).not.toContain('\x1b');
    }
    expect(table.split('\n')).toHaveLength(4);
    expect(tree.split('\n')).toEqual([
      '1 root blocker holding up 1 session',
      expect.stringMatching(/^pid 1 alice@.*idle in transaction, holds up 1: UPDATE t SET v = 1 -- /),
      expect.stringMatching(/^└─ pid 2 .*active, waiting 1m01s: SELECT 2$/),
    ]);
  });

  it('ops sessions redacts the target secrets from what it prints', async () => {
    const rows = [row(1, { query: "ALTER ROLE app PASSWORD 's3cret-pw'" })];
    for (const json of [true, false]) {
      let out = '';
      const code = await sessionsCommand(
        { config: null as never, target: { name: 't', source: 'flag', connection: {}, display: 'x', database: 'app', secrets: ['s3cret-pw'] } },
        { json },
        { write: (s: string) => (out += s) },
        async () => rows,
      );
      expect(code).toBe(0);
      expect(out).not.toContain('s3cret-pw');
      expect(out).toContain('ALTER ROLE app PASSWORD');
    }
  });
});
