// Live progress on real PostgreSQL (issue 13 §2, §3): a VACUUM slowed by the database's
// vacuum_cost_delay reports increasing heap blocks scanned; a REINDEX CONCURRENTLY blocked by a
// transaction open in another connection names that transaction's pid; headless `ops run
// vacuum-analyze --yes` prints a progress line. The poll uses one connection of its own, closed
// at the run's end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { StepProgress } from '../../src/tasks/progress';
import type { TaskDef } from '../../src/tasks/model';
import { vacuumAnalyze } from '../../tasks/analyze';
import { reindexConcurrently } from '../../tasks/reindex';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A database with a table of ~3,000 pages, half its rows deleted, and manual VACUUM slowed down. */
async function slowVacuumDb(): Promise<TestDatabase> {
  const db = await createTestDatabase('progress');
  cleanups.push(() => db.drop());
  const c = await db.client();
  await c.query(`CREATE TABLE big (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off);
    INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
    DELETE FROM big WHERE id % 2 = 0;
    ALTER DATABASE ${db.name} SET vacuum_cost_delay = '10ms';
    ALTER DATABASE ${db.name} SET vacuum_cost_limit = 10`);
  return db;
}

function runnerOn(db: TestDatabase, task: TaskDef, params: unknown) {
  const opened: pg.Client[] = [];
  const connect = async () => {
    const c = new pg.Client({ ...db.connection, application_name: 'ops-console: test' });
    c.on('error', () => undefined);
    await c.connect();
    opened.push(c);
    return c;
  };
  cleanups.push(() => Promise.all(opened.map((c) => c.end().catch(() => undefined))).then(() => undefined));
  const journal: JournalSink = { append: () => undefined };
  const log: LogSink = { write: () => undefined, flush: () => undefined, close: () => undefined };
  const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  const r = new TaskRunner({ task, params, runId: `t-${task.id}`, target, config: DEFAULT_CONFIG, journal, log, connect });
  const seen: StepProgress[] = [];
  r.subscribe(() => {
    const i = r.state.current;
    const p = i === null ? null : r.state.steps[i].progress;
    if (p && seen[seen.length - 1] !== p) seen.push(p);
  });
  return { r, seen, opened };
}

describe('task progress on real PostgreSQL', () => {
  it('a slow VACUUM reports increasing heap blocks scanned, on one poll connection closed at the end', async () => {
    const db = await slowVacuumDb();
    const { r, seen, opened } = runnerOn(db, vacuumAnalyze, { tables: 'public.big', minDeadPct: 0, minDeadTuples: 0 });
    const state = await r.run();
    expect(state.outcome).toBe('succeeded');
    const vac = seen.filter((p) => p.source === 'vacuum' && p.done !== null && p.total);
    expect(vac.length).toBeGreaterThanOrEqual(2);
    // within a phase the blocks done only grow, and at least once they grew between two polls
    const grew = vac.some((p, i) => i > 0 && p.phase === vac[i - 1].phase && p.done! > vac[i - 1].done!);
    for (let i = 1; i < vac.length; i++) if (vac[i].phase === vac[i - 1].phase) expect(vac[i].done!).toBeGreaterThanOrEqual(vac[i - 1].done!);
    expect(grew, JSON.stringify(vac.map((p) => [p.phase, p.done]))).toBe(true);
    expect(vac[0].total).toBeGreaterThan(1000);
    // the task's connection and one poll connection, no more
    expect(opened.length).toBeLessThanOrEqual(2);
    r.end();
    await waitFor(async () => {
      const c = await db.client();
      const n = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ops-console: test'`, [db.name]);
      return n.rows[0].n === 0 ? true : null;
    });
  }, 60_000);

  it('a REINDEX CONCURRENTLY blocked by an open transaction names its pid', async () => {
    const db = await createTestDatabase('progress_lock');
    cleanups.push(() => db.drop());
    const c = await db.client();
    await c.query('CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g; CREATE INDEX t_v ON t (v)');
    const holder = await db.client();
    const holderPid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await holder.query("BEGIN; UPDATE t SET v = v + 1 WHERE id = 1; SELECT 'held by the test'");
    const { r } = runnerOn(db, reindexConcurrently, { index: 'public.t_v' });
    const done = r.run();
    const waiting = await waitFor(() => {
      const i = r.state.current;
      return i === null ? null : (r.state.steps[i].progress?.waitingFor ?? null);
    }, { timeoutMs: 15_000 });
    expect(waiting.pid).toBe(holderPid);
    expect(waiting.state).toBe('idle in transaction');
    expect(waiting.query).toContain('held by the test');
    await holder.query('COMMIT');
    expect((await done).outcome).toBe('succeeded');
    r.end();
  }, 60_000);

  it('headless ops run vacuum-analyze --yes prints a progress line', async () => {
    const db = await slowVacuumDb();
    const state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    const conf = tempConfigDir({});
    cleanups.push(() => {
      rmSync(state, { recursive: true, force: true });
      conf.cleanup();
    });
    const env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });
    const res = await runOps(['run', 'vacuum-analyze', '--param', 'tables=public.big', '--param', 'minDeadPct=0', '--param', 'minDeadTuples=0', '--yes'], { env, timeoutMs: 50_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^progress: step \d+: vacuum · .* of [\d,]+ blocks · .*\d+% · .* elapsed · ETA/m);
  }, 60_000);
});
