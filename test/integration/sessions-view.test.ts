// The sessions view's core on real PostgreSQL, on a cluster of its own (the list and the lock
// tree judge the whole cluster, so no one else's sessions may be in it): an advisory-lock chain
// A blocks B blocks C, a row-lock pair, and a session in a second database. The one query's
// rows, the lock tree and the root blocker of C, `ops sessions --json` and `ops locks --json`
// (the commands called with an output stream), the monitor asked for the list in its round, and
// the tasks bound to pid and backend start: terminating the root blocker chosen from C's row
// ends A alone, and cancelling a session idle in a transaction says it does nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locksCommand, sessionsCommand } from '../../src/cli/sessions';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG, type Config } from '../../src/config/schema';
import { Monitor } from '../../src/monitor';
import { PostgresProbe } from '../../src/probes/postgres';
import { lockTree, rootBlockersOf, sessionKey, type LockNode, type SessionRow } from '../../src/sessions/model';
import { readSessions, readTargetSessions } from '../../src/sessions/read';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';
import { cancelQuery, terminateSessions } from '../../tasks/sessions';
import { startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

let cluster: Cluster;
let db: TestDatabase;
let other: TestDatabase;
let observer: pg.Client;
let target: ResolvedTarget;
let config: Config;
const settings = () => ({ config, target });

interface Held {
  c: pg.Client;
  pid: number;
  /** the statement still waiting, settled as it ends: 'ok' or the error */
  pending?: Promise<string>;
}
const s: Record<'A' | 'B' | 'C' | 'R1' | 'R2' | 'O', Held> = {} as never;

async function open(d: TestDatabase, application: string): Promise<Held> {
  const c = await d.client({ application_name: application });
  const pid = Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  return { c, pid };
}

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: Error) => err.message,
  );

async function activity(pid: number): Promise<{ state: string; wait: string | null; blockers: number[] } | null> {
  const { rows } = await observer.query('SELECT state, wait_event_type AS wait, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE pid = $1', [pid]);
  return rows[0] ? { state: rows[0].state, wait: rows[0].wait, blockers: rows[0].blockers.map(Number) } : null;
}

const lockWait = async (pid: number, by: number) => {
  const a = await activity(pid);
  return a?.wait === 'Lock' && a.blockers.includes(by);
};

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-sessview-' });
  const server = { host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' };
  db = await createTestDatabase('sessview', server);
  other = await createTestDatabase('sessview_other', server);
  observer = await db.client({ application_name: 'ops-console-test observer' });
  target = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  config = { ...DEFAULT_CONFIG, probeTimeoutMs: 5000 };
  await observer.query('CREATE TABLE items (id int PRIMARY KEY, v int); INSERT INTO items VALUES (1, 0), (2, 0)');

  // the chain: A holds 1; B holds 2 and waits on 1; C waits on 2
  s.A = await open(db, 'chain-a');
  s.B = await open(db, 'chain-b');
  s.C = await open(db, 'chain-c');
  await s.A.c.query('SELECT pg_advisory_lock(1)');
  await s.B.c.query('SELECT pg_advisory_lock(2)');
  s.B.pending = settle(s.B.c.query('SELECT pg_advisory_lock(1) AS b_waits_on_1'));
  await waitFor(() => lockWait(s.B.pid, s.A.pid), { message: 'B waits on A' });
  s.C.pending = settle(s.C.c.query('SELECT pg_advisory_lock(2) AS c_waits_on_2'));
  await waitFor(() => lockWait(s.C.pid, s.B.pid), { message: 'C waits on B' });

  // the row-lock pair: R1 updates a row and stays in its transaction; R2 updates the same row
  s.R1 = await open(db, 'row-holder');
  s.R2 = await open(db, 'row-waiter');
  await s.R1.c.query('BEGIN');
  await s.R1.c.query('UPDATE items SET v = 1 WHERE id = 1');
  s.R2.pending = settle(s.R2.c.query('UPDATE items SET v = 2 WHERE id = 1'));
  await waitFor(() => lockWait(s.R2.pid, s.R1.pid), { message: 'R2 waits on R1' });

  // and someone in another database, doing nothing
  s.O = await open(other, 'elsewhere');
}, 120_000);

afterAll(async () => {
  await db?.drop().catch(() => undefined);
  await other?.drop().catch(() => undefined);
  cluster?.stop();
});

const byPid = (rows: SessionRow[], pid: number) => {
  const r = rows.find((x) => x.pid === pid);
  if (!r) throw new Error(`no row for pid ${pid}`);
  return r;
};

/** pid(heldUp)[children], compact */
const shape = (nodes: readonly LockNode[]): string =>
  nodes.map((n) => `${n.pid}(${n.heldUp})${n.children.length ? `[${shape(n.children)}]` : ''}`).join(' ');

function runner(task: TaskDef, params: unknown) {
  const lines: { line: string; stream: string }[] = [];
  const events: Parameters<JournalSink['append']>[0][] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  const clients: pg.Client[] = [];
  const r = new TaskRunner({
    task,
    params,
    runId: `t-${task.id}`,
    target,
    config,
    journal,
    log,
    connect: async () => {
      const c = new pg.Client({ ...db.connection, application_name: 'ops-console: test-run' });
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
      return c;
    },
    graceMs: 400,
  });
  const values = (step: string) => (events.find((e) => e.type === 'step.finish' && e.step === step)?.values ?? {}) as Record<string, unknown>;
  const out = () => lines.map((l) => l.line).join('\n');
  const end = async () => {
    r.end();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  };
  return { r, lines, values, out, end };
}

describe('the sessions of a cluster, and who blocks whom', () => {
  it('one query lists every client session with its database, identity, wait and locks', async () => {
    const rows = await readTargetSessions(settings());
    const { rows: truth } = await observer.query(`SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'client backend'`);
    // the reader's own session is marked (and may still be closing as the observer looks)
    const mine = rows.filter((r) => r.self);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ own: true, application: 'ops-console: sessions', database: db.name });
    const seen = rows.filter((r) => !r.self).map((r) => `${r.pid} ${r.database}`);
    expect(seen.sort()).toEqual(truth.filter((t) => t.pid !== mine[0].pid).map((t) => `${t.pid} ${t.datname}`).sort());
    expect(seen).toHaveLength(7); // A, B, C, R1, R2, the other database's, the observer
    expect(byPid(rows, s.O.pid)).toMatchObject({ database: other.name, application: 'elsewhere', state: 'idle', own: false });

    const a = byPid(rows, s.A.pid);
    const { rows: aStart } = await observer.query(`SELECT backend_start = $2::timestamptz AS same FROM pg_stat_activity WHERE pid = $1`, [s.A.pid, a.backendStart]);
    expect(a.backendStart).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(aStart[0].same).toBe(true);
    expect(a).toMatchObject({ application: 'chain-a', state: 'idle', blockedBy: [], lockWaitSec: null, xactSec: null, user: cluster.user });
    expect(a.backendSec).toBeGreaterThan(0);
    expect(a.locks).toContainEqual({ locktype: 'advisory', mode: 'ExclusiveLock', granted: true, database: db.name, relation: null, object: '1' });

    const b = byPid(rows, s.B.pid);
    expect(b).toMatchObject({ state: 'active', waitEventType: 'Lock', waitEvent: 'advisory', blockedBy: [s.A.pid], query: 'SELECT pg_advisory_lock(1) AS b_waits_on_1' });
    expect(b.lockWaitSec).toBeGreaterThanOrEqual(0);
    expect(b.querySec).toBeGreaterThanOrEqual(b.lockWaitSec!);
    // the lock it waits for first, then those it holds
    expect(b.locks[0]).toEqual({ locktype: 'advisory', mode: 'ExclusiveLock', granted: false, database: db.name, relation: null, object: '1' });
    expect(b.locks).toContainEqual({ locktype: 'advisory', mode: 'ExclusiveLock', granted: true, database: db.name, relation: null, object: '2' });
    expect(byPid(rows, s.C.pid)).toMatchObject({ blockedBy: [s.B.pid], waitEventType: 'Lock' });

    const r1 = byPid(rows, s.R1.pid);
    expect(r1).toMatchObject({ state: 'idle in transaction', query: 'UPDATE items SET v = 1 WHERE id = 1' });
    expect(r1.xactSec).toBeGreaterThan(0);
    // read committed, between statements: no snapshot held, so no xmin (B, running a query, has one)
    expect(r1.xminAge).toBeNull();
    expect(b.xminAge).toBeGreaterThanOrEqual(0);
    expect(r1.locks).toContainEqual({ locktype: 'relation', mode: 'RowExclusiveLock', granted: true, database: db.name, relation: 'items', object: null });
    const r2 = byPid(rows, s.R2.pid);
    expect(r2).toMatchObject({ blockedBy: [s.R1.pid], waitEventType: 'Lock', waitEvent: 'transactionid' });
    expect(r2.locks[0]).toMatchObject({ locktype: 'transactionid', granted: false });
    expect(r2.locks).toContainEqual({ locktype: 'relation', mode: 'RowExclusiveLock', granted: true, database: db.name, relation: 'items', object: null });
  });

  it('the lock tree: A at the root with B under it and C under B (A holds up 2); the row pair beside it; C’s root blocker is A', async () => {
    const rows = await readTargetSessions(settings());
    const tree = lockTree(rows);
    expect(shape(tree)).toBe(`${s.A.pid}(2)[${s.B.pid}(1)[${s.C.pid}(0)]] ${s.R1.pid}(1)[${s.R2.pid}(0)]`);
    expect(tree[0].waitSec).toBeNull();
    expect(tree[0].children[0].waitSec).toBeGreaterThanOrEqual(0);
    const roots = rootBlockersOf(rows, s.C.pid);
    expect(roots.map((r) => r.pid)).toEqual([s.A.pid]);
    expect(roots[0].session?.application).toBe('chain-a');
    expect(rootBlockersOf(rows, s.R2.pid).map((r) => r.pid)).toEqual([s.R1.pid]);
  });

  it('ops sessions --json lists every client session with its database; --db and --filter narrow it; the text is a table', async () => {
    let out = '';
    const w = { write: (t: string) => (out += t) };
    expect(await sessionsCommand(settings(), { json: true }, w)).toBe(0);
    const list = JSON.parse(out) as SessionRow[];
    const { rows: truth } = await observer.query(`SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'client backend'`);
    const reader = list.find((r) => r.self)!;
    expect(reader.application).toBe('ops-console: sessions');
    const expected = truth.filter((t) => Number(t.pid) !== reader.pid).map((t) => ({ pid: Number(t.pid), database: t.datname }));
    expect(list.filter((r) => !r.self).map((r) => ({ pid: r.pid, database: r.database }))).toEqual(expected.sort((x, y) => x.pid - y.pid));
    for (const h of Object.values(s)) expect(list.map((r) => r.pid)).toContain(h.pid);

    out = '';
    await sessionsCommand(settings(), { json: true, database: other.name }, w);
    expect((JSON.parse(out) as SessionRow[]).map((r) => r.pid)).toEqual([s.O.pid]);
    out = '';
    await sessionsCommand(settings(), { json: true, filter: '^chain-' }, w);
    expect((JSON.parse(out) as SessionRow[]).map((r) => r.pid)).toEqual([s.A.pid, s.B.pid, s.C.pid].sort((x, y) => x - y));
    out = '';
    await sessionsCommand(settings(), { json: true, state: 'idle-in-transaction' }, w);
    expect((JSON.parse(out) as SessionRow[]).map((r) => r.pid)).toEqual([s.R1.pid]);

    out = '';
    await sessionsCommand(settings(), {}, w);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d+ client sessions: \d+ active, 1 idle in transaction, 3 waiting on a lock \(and \d+ of the console's own, marked \*, not counted\)$/);
    expect(lines[1]).toMatch(/^PID +DATABASE +USER +APPLICATION +CLIENT +STATE +WAIT +QUERY AGE +XACT AGE +QUERY$/);
    expect(lines.find((l) => l.startsWith(`${s.B.pid} `))).toMatch(new RegExp(`^${s.B.pid} +${db.name} +${cluster.user} +chain-b .* active +Lock:advisory .*SELECT pg_advisory_lock\\(1\\) AS b_waits_on_1$`));
  });

  it('ops locks --json gives the nested tree, root blockers at the top; the text is indented', async () => {
    let out = '';
    const w = { write: (t: string) => (out += t) };
    expect(await locksCommand(settings(), { json: true }, w)).toBe(0);
    const tree = JSON.parse(out) as LockNode[];
    expect(tree.map((n) => n.pid)).toEqual([s.A.pid, s.R1.pid]);
    expect(tree[0]).toMatchObject({ pid: s.A.pid, heldUp: 2, waitSec: null, session: { application: 'chain-a', database: db.name } });
    expect(tree[0].children).toHaveLength(1);
    expect(tree[0].children[0]).toMatchObject({ pid: s.B.pid, heldUp: 1, session: { application: 'chain-b' } });
    expect(tree[0].children[0].children).toHaveLength(1);
    expect(tree[0].children[0].children[0]).toMatchObject({ pid: s.C.pid, heldUp: 0, children: [], session: { application: 'chain-c' } });
    expect(tree[1]).toMatchObject({ pid: s.R1.pid, heldUp: 1, children: [{ pid: s.R2.pid, heldUp: 0 }] });

    out = '';
    await locksCommand(settings(), {}, w);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('2 root blockers holding up 3 sessions');
    expect(lines[1]).toMatch(new RegExp(`^pid ${s.A.pid} ${cluster.user}@${db.name} \\[chain-a\\] idle, holds up 2: SELECT pg_advisory_lock\\(1\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^└─ pid ${s.B.pid} .*\\[chain-b\\] active, waiting \\d+s, holds up 1: SELECT pg_advisory_lock\\(1\\) AS b_waits_on_1$`));
    expect(lines[3]).toMatch(new RegExp(`^   └─ pid ${s.C.pid} .*\\[chain-c\\] active, waiting \\d+s: SELECT pg_advisory_lock\\(2\\) AS c_waits_on_2$`));
    expect(lines[4]).toMatch(new RegExp(`^pid ${s.R1.pid} .*\\[row-holder\\] idle in transaction, holds up 1: UPDATE items`));
    expect(lines[5]).toMatch(new RegExp(`^└─ pid ${s.R2.pid} .*\\[row-waiter\\] active, waiting \\d+s: UPDATE items SET v = 2`));
  });

  it('the probe reads the list in its round, on its own connection, only while asked; the monitor publishes it', async () => {
    const probe = new PostgresProbe({ connection: db.connection, timeoutMs: 5000 });
    try {
      const first = await probe.probe();
      if (!first.ok) throw new Error(first.error);
      expect(first.data.sessions).toBeUndefined();
      expect(first.data.blocked.map((b) => b.pid).sort()).toEqual([s.B.pid, s.C.pid, s.R2.pid].sort());
      probe.watchSessions(true);
      const r = await probe.probe();
      if (!r.ok) throw new Error(r.error);
      const rows = r.data.sessions!;
      // read by the probe's own backend, in its batch: that row is the reading one
      const self = rows.filter((x) => x.self);
      expect(self).toHaveLength(1);
      expect(self[0]).toMatchObject({ application: 'ops-console', own: true });
      expect(self[0].query).toContain('/*ops-console:probe*/');
      expect(shape(lockTree(rows))).toBe(`${s.A.pid}(2)[${s.B.pid}(1)[${s.C.pid}(0)]] ${s.R1.pid}(1)[${s.R2.pid}(0)]`);
      // the dashboard's figures are as they were
      expect(r.data.blocked.map((b) => b.pid).sort()).toEqual(first.data.blocked.map((b) => b.pid).sort());
      probe.watchSessions(false);
      const off = await probe.probe();
      expect(off.ok && off.data.sessions).toBeUndefined();
    } finally {
      await probe.close();
    }

    const monitor = new Monitor({ config: { ...config, http: [], tls: [] }, target, refreshMs: 60_000, only: new Set(['postgres', 'sessions']) });
    try {
      monitor.start();
      await waitFor(() => monitor.getState().snapshot?.postgres?.ok, { message: 'a first round' });
      expect(monitor.getState().snapshot?.sessions).toBeUndefined();
      // asked for the list, it starts a round now rather than in a minute
      monitor.watchSessions(true);
      const sessions = await waitFor(() => monitor.getState().snapshot?.sessions, { message: 'the list published', timeoutMs: 10_000 });
      expect(sessions.map((x) => x.pid)).toEqual(expect.arrayContaining([s.A.pid, s.B.pid, s.C.pid, s.R1.pid, s.R2.pid, s.O.pid]));
      expect(rootBlockersOf(sessions, s.C.pid).map((x) => x.pid)).toEqual([s.A.pid]);
    } finally {
      await monitor.stop();
    }
  });

  it('cancelling the session idle in its transaction says it does nothing and offers terminate; it is not counted as cancelled', async () => {
    const rows = await readTargetSessions(settings());
    const r1 = byPid(rows, s.R1.pid);
    const t = runner(cancelQuery, { sessions: sessionKey(r1) });
    expect(t.r.plan()[0].detail).toMatch(/a session idle, or idle in a transaction, runs no query: it is listed as such, not cancelled \(terminate-sessions ends it\)$/);
    const state = await t.r.run();
    expect(state.steps.map((x) => x.status)).toEqual(['failed', 'pending']);
    expect(state.steps[0].error).toBe(
      `nothing to cancel: none of pid ${s.R1.pid} can be chosen: it runs no query (idle in transaction); terminate-sessions ends it`,
    );
    expect(t.lines).toContainEqual({
      line: expect.stringMatching(
        new RegExp(`^pid ${s.R1.pid}: not cancelled, it is idle in transaction: cancelling does nothing \\(no query runs; its transaction stays open, holding its locks\\)\\. Terminate it to end the transaction \\(ops run terminate-sessions --param sessions=${s.R1.pid}@\\S+\\)$`),
      ),
      stream: 'err',
    });
    expect(t.lines.find((l) => new RegExp(`^pid ${s.R1.pid} \\S+ db ${db.name} \\[row-holder\\] idle in transaction \\d+s: UPDATE items SET v = 1 WHERE id = 1$`).test(l.line))).toBeDefined();
    expect(t.out()).not.toMatch(/\b1 cancelled/);
    await t.end();
    // nothing happened: it still holds the row, and R2 still waits
    expect((await activity(s.R1.pid))?.state).toBe('idle in transaction');
    expect(await lockWait(s.R2.pid, s.R1.pid)).toBe(true);
  });

  it('a session named by pid and a backend start that is no longer its own is refused, not signalled', async () => {
    const t = runner(terminateSessions, { sessions: `${s.B.pid}@2001-02-03T04:05:06.789Z` });
    const state = await t.r.run();
    expect(state.steps.map((x) => x.status)).toEqual(['failed', 'pending']);
    expect(t.lines).toContainEqual({
      line: expect.stringMatching(new RegExp(`^pid ${s.B.pid}: refused, it is no longer the session chosen: backend start .+, not 2001-02-03T04:05:06\\.789Z`)),
      stream: 'err',
    });
    await t.end();
    expect(await lockWait(s.B.pid, s.A.pid)).toBe(true);
  });

  it("terminating the root blocker chosen from C's row ends A, and A alone: B then gets its lock, C waits on B", async () => {
    const rows = await readTargetSessions(settings());
    const [root] = rootBlockersOf(rows, s.C.pid);
    expect(root.pid).toBe(s.A.pid);
    const t = runner(terminateSessions, { sessions: sessionKey(root.session!) });
    const state = await t.r.run();
    expect(state.outcome, t.out()).toBe('succeeded');
    expect(t.values('list').sessions).toEqual([{ pid: s.A.pid, backendStart: expect.any(String) }]);
    expect(t.values('terminate')).toEqual({ signalled: [s.A.pid], skipped: [] });
    expect(t.out()).toContain(`pid ${s.A.pid}: terminated`);
    await t.end();

    await expect(s.A.c.query('SELECT 1')).rejects.toThrow();
    // B had waited on A: it has its lock now; C still waits, on B
    expect(await s.B.pending).toBe('ok');
    expect((await s.B.c.query('SELECT 1 AS alive')).rows[0].alive).toBe(1);
    expect(await lockWait(s.C.pid, s.B.pid)).toBe(true);
    for (const h of [s.B, s.C, s.R1, s.R2, s.O]) expect(await activity(h.pid)).not.toBeNull();
    const after = lockTree(await readSessions(observer));
    expect(shape(after)).toBe(`${s.B.pid}(1)[${s.C.pid}(0)] ${s.R1.pid}(1)[${s.R2.pid}(0)]`);
  });

  it('cancel-query on the idle holder and the running waiter cancels the waiter alone, and says so', async () => {
    const t = runner(cancelQuery, { pids: [s.R1.pid, s.R2.pid] });
    const state = await t.r.run();
    expect(state.outcome, t.out()).toBe('succeeded');
    expect(t.values('list').sessions).toEqual([{ pid: s.R2.pid, backendStart: expect.any(String) }]);
    expect(t.values('list').notCancelled).toEqual([{ pid: s.R1.pid, backendStart: expect.any(String), state: 'idle in transaction' }]);
    expect(t.values('cancel')).toEqual({ signalled: [s.R2.pid], skipped: [] });
    expect(t.out()).toContain('1 cancelled, 0 skipped');
    await t.end();
    expect(await s.R2.pending).toBe('canceling statement due to user request');
    expect((await activity(s.R1.pid))?.state).toBe('idle in transaction');
  });
});
