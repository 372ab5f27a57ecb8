// A command step's progress on real PostgreSQL with the real pg_dump / pg_restore (issue 13 §2):
// a backup of a database of 30 tables with data (27 tables and 3 partitions; a partitioned
// parent, a view, a matview and a sequence have none) reports tables done rising to the 30 its
// check step counted, and the bytes of the file written; pg_dump's --verbose lines are logged as
// info, not errors. A restore of that dump reports the same for its safety backup and for
// pg_restore (the archive's 30 TABLE DATA entries).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG, type Config } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';
import type { StepProgress } from '../../src/tasks/progress';
import { backup } from '../../tasks/backup';
import { restore } from '../../tasks/restore';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function thirtyTables(): Promise<{ db: TestDatabase; dir: string; target: ResolvedTarget; config: Config }> {
  const db = await createTestDatabase('cmdprog');
  const dir = mkdtempSync(join(tmpdir(), 'ops-cmdprog-'));
  cleanups.push(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await db.client();
  const ddl: string[] = [];
  for (let i = 1; i <= 27; i++) ddl.push(`CREATE TABLE t${i} (id int PRIMARY KEY, pad text); INSERT INTO t${i} SELECT g, md5(g::text) FROM generate_series(1, ${i === 1 ? 50000 : 200}) g;`);
  ddl.push(`CREATE TABLE parted (x int) PARTITION BY RANGE (x);
    CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
    CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (10) TO (20);
    CREATE TABLE parted_3 PARTITION OF parted FOR VALUES FROM (20) TO (30);
    INSERT INTO parted SELECT generate_series(0, 29);
    CREATE VIEW v AS SELECT 1 AS one;
    CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t2;
    CREATE SEQUENCE s;`);
  await c.query(ddl.join('\n'));
  const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
  return { db, dir, target, config: { ...DEFAULT_CONFIG, backup: { dir, glob: '*' } } };
}

function runner(db: TestDatabase, target: ResolvedTarget, config: Config, task: TaskDef, params: Record<string, unknown>) {
  const opened: pg.Client[] = [];
  const connect = async () => {
    const c = new pg.Client({ ...db.connection, application_name: 'ops-console: test' });
    c.on('error', () => undefined);
    await c.connect();
    opened.push(c);
    return c;
  };
  cleanups.push(() => Promise.all(opened.map((c) => c.end().catch(() => undefined))).then(() => undefined));
  const events: Parameters<JournalSink['append']>[0][] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  const r = new TaskRunner({ task, params, runId: `t-${task.id}`, target, config, journal, log, connect });
  // every progress each step reports, by step id
  const seen: Record<string, StepProgress[]> = {};
  r.subscribe(() => {
    const i = r.state.current;
    const p = i === null ? null : r.state.steps[i].progress;
    if (!p) return;
    const list = (seen[task.steps[i!]!.id] ??= []);
    if (list.at(-1) !== p) list.push(p);
  });
  const values = (step: string) => (events.find((e) => e.type === 'step.finish' && e.step === step)?.values ?? {}) as Record<string, unknown>;
  return { r, seen, lines, values };
}

const bytesOf = (p: StepProgress) => {
  const m = /^([\d.]+) (B|KB|MB|GB) written$/.exec(p.extra.find((e) => e.endsWith('written')) ?? '');
  return m ? Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB'].indexOf(m[2]!) : null;
};

/** Tables done never go back, and rise from below the total to the total, which stays 30. */
function expectRisingToThirty(list: StepProgress[] | undefined): void {
  expect(list?.length).toBeGreaterThan(2);
  const done = list!.map((p) => p.done!);
  for (let i = 1; i < done.length; i++) expect(done[i]).toBeGreaterThanOrEqual(done[i - 1]!);
  expect(done[0]).toBeLessThan(30);
  expect(done.at(-1)).toBe(30);
  expect(new Set(list!.map((p) => p.total))).toEqual(new Set([30]));
  expect(new Set(list!.map((p) => p.unit))).toEqual(new Set(['tables']));
  // every count on the way is seen (one report per table at least)
  for (let n = 0; n <= 30; n++) expect(done).toContain(n);
}

describe('command progress (pg_dump, pg_restore --verbose)', () => {
  it('a backup reports tables done rising to the 30 counted, and the bytes written; a restore the same', async () => {
    const { db, target, config } = await thirtyTables();
    const b = runner(db, target, config, backup, {});
    expect((await b.r.run()).outcome).toBe('succeeded');
    expect(b.values('check').tables).toBe(30);
    const dump = b.seen.dump;
    expectRisingToThirty(dump);
    expect(new Set(dump!.map((p) => p.source))).toEqual(new Set(['pg_dump']));
    const last = dump!.at(-1)!;
    const file = String(b.values('check').file);
    // the last figures: the partial file's size as it was when pg_dump exited (now renamed)
    expect(bytesOf(last)).toBeGreaterThan(0);
    expect(Math.abs(bytesOf(last)! - statSync(file).size)).toBeLessThan(0.06 * statSync(file).size);
    expect(b.r.state.steps[1].progress ?? null).toBeNull(); // cleared once the step ended
    // pg_dump's verbose lines are kept, as info: one per table; no chatter counted as an error
    const tableLines = b.lines.filter((l) => /^pg_dump: dumping contents of table "/.test(l.line));
    expect(tableLines).toHaveLength(30);
    expect(new Set(tableLines.map((l) => l.stream))).toEqual(new Set(['info']));
    expect(b.lines.filter((l) => l.stream === 'err' && l.line.startsWith('pg_dump:'))).toEqual([]);

    const rs = runner(db, target, config, restore, { file });
    expect((await rs.r.run()).outcome).toBe('succeeded');
    expect(rs.values('check')).toMatchObject({ tables: 30, archiveTables: 30 });
    expectRisingToThirty(rs.seen['safety-backup']);
    expect(bytesOf(rs.seen['safety-backup']!.at(-1)!)).toBeGreaterThan(0);
    expectRisingToThirty(rs.seen.restore);
    expect(new Set(rs.seen.restore!.map((p) => p.source))).toEqual(new Set(['pg_restore']));
    expect(rs.lines.filter((l) => /^pg_restore: processing data for table "/.test(l.line) && l.stream === 'info')).toHaveLength(30);
    expect(rs.lines.filter((l) => l.stream === 'err' && l.line.startsWith('pg_restore:'))).toEqual([]);
  }, 120_000);
});
