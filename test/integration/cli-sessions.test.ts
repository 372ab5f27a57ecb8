// `ops sessions` and `ops locks` as the built `ops`: what a script sees. The sessions are the
// test's own, in a database of its own on the shared server; other people's sessions may be
// listed too, so the assertions look only for this test's pids.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

interface JsonLock {
  session: { pid: number; database: string | null };
  heldUp: number;
  children: JsonLock[];
}

describe('ops sessions and ops locks, the built command', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  const clients: pg.Client[] = [];
  let a: number;
  let b: number;

  beforeAll(async () => {
    db = await createTestDatabase('cli_sessions');
    conf = tempConfigDir({});
    const open = async (app: string) => {
      const c = await db.client();
      c.on('error', () => {}); // terminated at the end
      await c.query(`SET application_name = '${app}'`);
      clients.push(c);
      return c;
    };
    const ca = await open('cli-sessions-a');
    const cb = await open('cli-sessions-b');
    a = (await ca.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    b = (await cb.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const key = 700_000 + (process.pid % 100_000);
    await ca.query('SELECT pg_advisory_lock($1)', [key]);
    void cb.query('SELECT pg_advisory_lock($1)', [key]).catch(() => {});
    // B waits on A's lock
    await waitFor(async () => {
      const r = await ca.query('SELECT cardinality(pg_blocking_pids($1)) AS n', [b]);
      return r.rows[0].n === 1;
    }, { timeoutMs: 10_000 });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
    conf?.cleanup();
  });

  const env = () => cleanEnv({ OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });

  it('ops sessions --json lists the client sessions with their database, and --db keeps one database', async () => {
    const r = await runOps(['sessions', '--json', '--db', db.name], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { pid: number; database: string; application: string; state: string }[];
    const mine = rows.filter((x) => x.pid === a || x.pid === b);
    expect(mine.map((x) => x.pid).sort()).toEqual([a, b].sort());
    for (const x of mine) expect(x.database).toBe(db.name);
    expect(rows.every((x) => x.database === db.name)).toBe(true);
    expect(mine.find((x) => x.pid === b)?.application).toBe('cli-sessions-b');
  });

  it("a client merely named like ours (ops-console-…) is not taken for the console's own; 'ops-console: …' is", async () => {
    const lookalike = await db.client({ application_name: 'ops-console-lookalike' });
    const ours = await db.client({ application_name: 'ops-console: cli-sessions-test' });
    clients.push(lookalike, ours);
    const pidOf = async (c: pg.Client) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const [lp, op] = [await pidOf(lookalike), await pidOf(ours)];
    const r = await runOps(['sessions', '--json', '--db', db.name], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { pid: number; own: boolean }[];
    expect(rows.find((x) => x.pid === lp)?.own).toBe(false);
    expect(rows.find((x) => x.pid === op)?.own).toBe(true);
  });

  it('ops sessions prints a table naming the sessions, and --filter narrows it by application', async () => {
    const r = await runOps(['sessions', '--filter', '^cli-sessions-b$'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${b}\\s`, 'm'));
    expect(r.stdout).not.toMatch(new RegExp(`^${a}\\s`, 'm'));
  });

  it('ops locks --json nests the waiting session under its blocker', async () => {
    const r = await runOps(['locks', '--json'], { env: env() });
    expect(r.code).toBe(0);
    const tree = JSON.parse(r.stdout) as JsonLock[];
    const root = tree.find((n) => n.session.pid === a);
    expect(root).toBeDefined();
    expect(root!.heldUp).toBe(1);
    expect(root!.children.map((c) => c.session.pid)).toEqual([b]);
    // B is not a root of its own
    expect(tree.some((n) => n.session.pid === b)).toBe(false);
  });

  it('bad input: a bad regex or state is one line, exit 2, before connecting', async () => {
    const bad = await runOps(['sessions', '--filter', '(unclosed'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^ops: --filter: .*not a valid regular expression/);
    const state = await runOps(['sessions', '--state', 'sleeping'], { env: env() });
    expect(state.code).toBe(2);
    expect(state.stderr).toMatch(/^ops: --state: unknown state "sleeping"/);
  });

  it('a server that is not there: one line naming it, exit 1, no stack', async () => {
    const port = await freePort();
    for (const cmd of ['sessions', 'locks']) {
      const r = await runOps([cmd, '--database', `postgres://u:s3cret@127.0.0.1:${port}/x`], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ops: /);
      expect(r.stderr).not.toContain('s3cret');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
