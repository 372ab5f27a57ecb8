// analyze and vacuum-analyze against real PostgreSQL: the bloated table is picked by its dead
// tuples and vacuumed (VERBOSE messages in the log), and a table with an awkward name is
// analyzed with its identifiers quoted.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';
import { analyze, vacuumAnalyze } from '../../tasks/analyze';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

type Ev = Parameters<JournalSink['append']>[0];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function fixture(): Promise<{ db: TestDatabase; admin: pg.Client; run: (task: TaskDef, params?: unknown) => ReturnType<typeof makeRunner> }> {
  const db = await createTestDatabase('analyze');
  const clients: pg.Client[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.drop();
  });
  const connect = async () => {
    const c = new pg.Client({ ...db.connection, application_name: 'ops-console/task' });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  const admin = await db.client();
  return { db, admin, run: (task, params = {}) => makeRunner(task, params, target, connect) };
}

function makeRunner(task: TaskDef, params: unknown, target: ResolvedTarget, connect: () => Promise<pg.Client>) {
  const events: Ev[] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  const r = new TaskRunner({ task, params, runId: `t-${task.id}`, target, config: DEFAULT_CONFIG, journal, log, connect });
  const values = (step: string) => (events.find((e) => e.type === 'step.finish' && e.step === step)?.values ?? {}) as Record<string, unknown>;
  return { r, events, lines, values };
}

async function flushStats(c: pg.Client): Promise<void> {
  const v = Number((await c.query(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v);
  if (v >= 150000) await c.query('SELECT pg_stat_force_next_flush()');
}

async function deadTuples(c: pg.Client, table: string): Promise<number> {
  const r = await c.query('SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = $1', [table]);
  return Number(r.rows[0]?.n_dead_tup ?? -1);
}

describe('vacuum-analyze', () => {
  it('picks the bloated table by its dead tuples, vacuums it with VERBOSE messages, and leaves ~0 dead tuples', async () => {
    const { admin, run } = await fixture();
    await admin.query(`
      CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = off);
      INSERT INTO bloated SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
      CREATE TABLE healthy (id int) WITH (autovacuum_enabled = off);
      INSERT INTO healthy SELECT generate_series(1, 5000);
      DELETE FROM healthy WHERE id <= 100;
      DELETE FROM bloated WHERE id % 10 <> 0;
    `);
    await flushStats(admin);
    await waitFor(async () => (await deadTuples(admin, 'bloated')) >= 15000 && (await deadTuples(admin, 'healthy')) >= 100, {
      timeoutMs: 10_000,
      message: 'dead tuples visible in pg_stat_user_tables',
    });

    const { r, lines, values } = run(vacuumAnalyze);
    expect(r.plan()[0].detail).toBe('tables in pg_stat_user_tables with at least 1000 dead tuples and 20% dead');
    const state = await r.run();
    expect(state.outcome, lines.map((l) => l.line).join('\n')).toBe('succeeded');
    expect(values('pick').tables).toEqual([{ schema: 'public', table: 'bloated' }]);
    expect(state.steps[1].detail).toBe('VACUUM (VERBOSE, ANALYZE) "public"."bloated"');
    expect(lines.some((l) => l.stream === 'notice' && /vacuuming "[^"]*\bbloated"/i.test(l.line))).toBe(true);
    expect(lines.some((l) => l.stream === 'notice' && /healthy/.test(l.line))).toBe(false);
    expect(lines.some((l) => /^public\.bloated: \d{5} dead, \d+ live \(\d+(\.\d)?% dead\)$/.test(l.line))).toBe(true);
    await waitFor(async () => (await deadTuples(admin, 'bloated')) <= 10, { timeoutMs: 10_000, message: 'n_dead_tup back to ~0' });
    expect(await deadTuples(admin, 'healthy')).toBeGreaterThanOrEqual(100);
    // nothing to roll back: it changes no data
    expect(r.rollbackPlan()).toEqual([]);
  });

  it('with nothing over the thresholds, does nothing and succeeds', async () => {
    const { admin, run } = await fixture();
    await admin.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
    const { r, lines, values } = run(vacuumAnalyze, { minDeadTuples: 5000 });
    const state = await r.run();
    expect(state.outcome).toBe('succeeded');
    expect(values('pick').tables).toEqual([]);
    expect(lines.some((l) => l.line === 'no table has at least 5000 dead tuples and 20% dead: nothing to vacuum')).toBe(true);
  });
});

describe('analyze', () => {
  it('analyzes an explicitly named table with an awkward name, its identifiers quoted', async () => {
    const { admin, run } = await fixture();
    await admin.query(`
      CREATE SCHEMA "My.Schema";
      CREATE TABLE "My.Schema"."Odd Name" (id int);
      INSERT INTO "My.Schema"."Odd Name" SELECT generate_series(1, 500);
      CREATE TABLE public."Odd Name" (id int);
      CREATE TABLE other (id int);
    `);
    const { r, lines, values } = run(analyze, { tables: ['"My.Schema"."Odd Name"', 'public.Odd Name'] });
    expect(r.plan()[1].detail).toBe('ANALYZE VERBOSE "My.Schema"."Odd Name"; ANALYZE VERBOSE "public"."Odd Name"');
    const state = await r.run();
    expect(state.outcome, lines.map((l) => l.line).join('\n')).toBe('succeeded');
    expect(values('tables').tables).toEqual([
      { schema: 'My.Schema', table: 'Odd Name' },
      { schema: 'public', table: 'Odd Name' },
    ]);
    expect(lines.some((l) => l.stream === 'notice' && l.line.includes('analyzing "My.Schema.Odd Name"'))).toBe(true);
    expect(lines.some((l) => l.stream === 'notice' && /analyzing "public.other"/.test(l.line))).toBe(false);
    const stats = await admin.query(
      `SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE schemaname = 'My.Schema'`,
    );
    expect(stats.rows).toEqual([{ relname: 'Odd Name', analyzed: true }]);
    expect(r.rollbackPlan()).toEqual([]);
  });

  it('without tables analyzes every user table; an unknown or hostile name fails before any SQL runs with it', async () => {
    const { admin, run } = await fixture();
    await admin.query('CREATE TABLE a (id int); CREATE TABLE b (id int)');
    const all = run(analyze);
    expect((await all.r.run()).outcome).toBe('succeeded');
    expect(all.values('tables').tables).toEqual([
      { schema: 'public', table: 'a' },
      { schema: 'public', table: 'b' },
    ]);

    const bad = run(analyze, { tables: ['public.a', 'public.b"; DROP TABLE a; --'] });
    const state = await bad.r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps[0].error).toBe('no such table: public.b"; DROP TABLE a; --');
    expect((await admin.query("SELECT 1 FROM pg_class WHERE relname = 'a'")).rowCount).toBe(1);
  });
});
