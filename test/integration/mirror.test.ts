// The shared journal (issue 15 §2), with the built ops on two throwaway clusters: one is the
// target (set-setting runs ALTER SYSTEM there), the other holds the mirror. Host A's events
// reach ops.journal_events, as its journal has them; the table refuses UPDATE and DELETE; a role
// with only docs/fleet.md's grants sends and reads. A second state directory, standing for
// another host, lists A's runs and, with A's state directory gone, rolls back A's set-setting
// from the mirror alone, journaling the rollback locally and in the mirror.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { journalEvents } from '../support/faults';
import { cleanEnv, ROOT, runOps } from '../support/ops';

/** The fenced block that follows `<!-- NAME: FILE -->` in docs/fleet.md. */
function docBlock(name: string, lang: string): string {
  const doc = readFileSync(join(ROOT, 'docs/fleet.md'), 'utf8');
  const m = new RegExp(`<!-- ${name}: [^>]+ -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/fleet.md: no ${name} block`);
  return m[1];
}

interface Host {
  state: string;
  env: NodeJS.ProcessEnv;
}

describe('the journal mirror', () => {
  let target: Cluster;
  let mirror: Cluster;
  const dirs: string[] = [];
  let admin: pg.Client;
  let targetUrl: string;
  let mirrorUrl: string;

  beforeAll(async () => {
    [target, mirror] = await Promise.all([startCluster({ prefix: 'ops-mir-t-' }), startCluster({ prefix: 'ops-mir-m-' })]);
    targetUrl = `postgres://${target.user}@127.0.0.1:${target.port}/postgres`;
    mirrorUrl = `postgres://${mirror.user}@127.0.0.1:${mirror.port}/postgres`;
    admin = new pg.Client({ connectionString: mirrorUrl });
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    target?.stop();
    mirror?.stop();
  });

  function host(name: string, config: Record<string, unknown>): Host {
    const root = mkdtempSync(join(tmpdir(), `ops-mir-${name}-`));
    dirs.push(root);
    writeFileSync(join(root, 'config.json'), JSON.stringify(config), { mode: 0o600 });
    const state = join(root, 'state');
    return { state, env: cleanEnv({ OPS_CONFIG_DIR: root, OPS_STATE_DIR: state, DATABASE_URL: targetUrl }) };
  }

  const rows = async (run: string) =>
    (await admin.query<{ source: string; host: string; run: string; seq: number; type: string; target: string; event: Record<string, unknown> }>('SELECT source, host, run, seq, type, target, event FROM ops.journal_events WHERE run = $1 ORDER BY id', [run])).rows;

  const workMem = async () => {
    const c = new pg.Client({ connectionString: targetUrl });
    await c.connect();
    try {
      return (await c.query('SHOW work_mem')).rows[0].work_mem as string;
    } finally {
      await c.end();
    }
  };

  it("host A's events reach the table as its journal has them; the table is insert-only", async () => {
    const a = host('a', { journal: { mirror: mirrorUrl } });
    const r = await runOps(['run', 'analyze', '--yes', '--json'], { env: a.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/journal mirror/);
    const run = JSON.parse(r.stdout).run as string;
    const local = journalEvents(a.state).filter((e) => e.run === run);
    const got = await rows(run);
    expect(got.map((x) => [x.seq, x.type])).toEqual(local.map((e) => [e.seq, e.type]));
    expect(got.map((x) => x.event)).toEqual(local);
    const source = readFileSync(join(a.state, 'journal.source'), 'utf8').trim();
    expect(new Set(got.map((x) => x.source))).toEqual(new Set([source]));
    expect(source.startsWith(`${hostname()}/`)).toBe(true);
    expect(new Set(got.map((x) => x.target))).toEqual(new Set([`postgres://${target.user}@127.0.0.1:${target.port}/postgres`]));
    await expect(admin.query('UPDATE ops.journal_events SET type = $1 WHERE run = $2', ['x', run])).rejects.toThrow(/insert-only/);
    await expect(admin.query('DELETE FROM ops.journal_events WHERE run = $1', [run])).rejects.toThrow(/insert-only/);
    await expect(admin.query('TRUNCATE ops.journal_events')).rejects.toThrow(/insert-only/);
    expect((await rows(run)).length).toBe(local.length);
  }, 90_000);

  it("a role with only docs/fleet.md's grants sends and reads, and may not change a row", async () => {
    await admin.query(docBlock('grants', 'sql'));
    const limited = `postgres://ops_journal@127.0.0.1:${mirror.port}/postgres`;
    const a = host('g', { journal: { mirror: limited } });
    const r = await runOps(['run', 'analyze', '--yes', '--json'], { env: a.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/journal mirror/);
    const run = JSON.parse(r.stdout).run as string;
    expect((await rows(run)).length).toBe(journalEvents(a.state).length);
    const h = await runOps(['history', '--all-hosts', '--json'], { env: a.env, timeoutMs: 30_000 });
    expect(h.code, h.stderr).toBe(0);
    expect((JSON.parse(h.stdout) as { run: string }[]).map((x) => x.run)).toContain(run);
    const c = new pg.Client({ connectionString: limited });
    await c.connect();
    try {
      await expect(c.query(`UPDATE ops.journal_events SET type = 'x' WHERE false`)).rejects.toThrow(/permission denied/);
      await expect(c.query('DELETE FROM ops.journal_events WHERE false')).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  }, 90_000);

  it("a second state directory lists host A's runs and rolls back A's set-setting from the mirror alone", async () => {
    const before = await workMem();
    const a = host('a2', { journal: { mirror: mirrorUrl } });
    const r = await runOps(['run', 'set-setting', '--param', 'name=work_mem', '--param', 'value=7MB', '--yes', '--json'], { env: a.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).run as string;
    expect(await workMem()).toBe('7MB');
    const sourceA = readFileSync(join(a.state, 'journal.source'), 'utf8').trim();
    // host A is gone, its state directory with it
    rmSync(a.state, { recursive: true, force: true });

    const b = host('b', { journal: { mirror: mirrorUrl } });
    const listed = await runOps(['history', '--all-hosts', '--json'], { env: b.env, timeoutMs: 30_000 });
    expect(listed.code, listed.stderr).toBe(0);
    const mine = (JSON.parse(listed.stdout) as { run: string; task: string; source: string; host: string; outcome: string; pendingRollbacks: number }[]).find((x) => x.run === run);
    expect(mine).toMatchObject({ task: 'set-setting', source: sourceA, host: hostname(), outcome: 'succeeded' });
    expect(mine!.pendingRollbacks).toBeGreaterThan(0);
    const table = await runOps(['history', '--all-hosts'], { env: b.env, timeoutMs: 30_000 });
    expect(table.stdout).toMatch(/RUN\s+STARTED\s+HOST\s+TASK/);
    expect(table.stdout).toContain(run);

    // what host A left to undo, as B sees it
    const left = await runOps(['rollback', '--all-hosts'], { env: b.env, timeoutMs: 30_000 });
    expect(left.code, left.stderr).toBe(0);
    expect(left.stdout).toContain(`${run}  set-setting on`);
    expect(left.stdout).toContain(`from ${sourceA}`);
    expect(left.stdout).toMatch(/undo .*work_mem/i);

    // a prefix of the id is enough, as with a local run
    const rb = await runOps(['rollback', run.slice(0, -2), '--yes'], { env: b.env, timeoutMs: 60_000 });
    expect(rb.code, `${rb.stdout}\n${rb.stderr}`).toBe(0);
    expect(rb.stdout).toMatch(new RegExp(`events? copied from the journal's mirror \\(it ran from ${sourceA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    expect(rb.stdout).toMatch(/rolled back/);
    expect(await workMem()).toBe(before);
    expect(existsSync(a.state)).toBe(false);

    // journaled on both sides: B's own journal, and the mirror under B's source
    const sourceB = readFileSync(join(b.state, 'journal.source'), 'utf8').trim();
    const local = journalEvents(b.state).filter((e) => e.run === run);
    expect(local.filter((e) => e.mirroredFrom === sourceA).map((e) => e.type)).toContain('run.start');
    const own = local.filter((e) => e.mirroredFrom === undefined);
    expect(own.map((e) => e.type)).toEqual(expect.arrayContaining(['rollback.start', 'rollback.finish', 'run.end']));
    const inMirror = await rows(run);
    expect(inMirror.filter((x) => x.source === sourceB).map((x) => [x.seq, x.type])).toEqual(own.map((e) => [e.seq, e.type]));
    // the copies were not sent back
    expect(inMirror.filter((x) => x.source === sourceB && x.type === 'run.start')).toEqual([]);

    // every host now reads it as rolled back, with nothing left to undo
    const after = await runOps(['history', '--all-hosts', '--json'], { env: b.env, timeoutMs: 30_000 });
    const done = (JSON.parse(after.stdout) as { run: string; outcome: string; pendingRollbacks: number; hosts: string[] }[]).find((x) => x.run === run);
    expect(done).toMatchObject({ outcome: 'rolled back', pendingRollbacks: 0 });
    const again = await runOps(['rollback', run, '--yes'], { env: b.env, timeoutMs: 60_000 });
    expect(again.stdout).toMatch(/nothing left to roll back/);
    const none = await runOps(['rollback', '--all-hosts', '--json'], { env: b.env, timeoutMs: 30_000 });
    expect((JSON.parse(none.stdout) as { run: string }[]).map((x) => x.run)).not.toContain(run);
  }, 120_000);

  it('a role that may not create the schema: the run completes, and one line says what to do', async () => {
    await admin.query('DROP DATABASE IF EXISTS mirror_nocreate');
    await admin.query('CREATE DATABASE mirror_nocreate');
    await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ops_journal') THEN CREATE ROLE ops_journal LOGIN; END IF; END $$`);
    const a = host('nc', { journal: { mirror: `postgres://ops_journal@127.0.0.1:${mirror.port}/mirror_nocreate` } });
    const r = await runOps(['run', 'analyze', '--yes'], { env: a.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /journal mirror/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/may not create it.*docs\/fleet\.md/);
    expect(journalEvents(a.state).some((e) => e.type === 'run.end')).toBe(true);
  }, 60_000);

  it('mirror "target": the runs on a target go to the ops schema of its own database', async () => {
    const t = host('t', { journal: { mirror: 'target' }, targets: [{ name: 'main', url: targetUrl }] });
    const env = { ...t.env, DATABASE_URL: undefined };
    const r = await runOps(['run', 'analyze', '--yes', '--json'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).run as string;
    const c = new pg.Client({ connectionString: targetUrl });
    await c.connect();
    try {
      const got = (await c.query('SELECT seq, type FROM ops.journal_events WHERE run = $1 ORDER BY id', [run])).rows;
      expect(got.map((x) => x.type)).toEqual(journalEvents(t.state).map((e) => e.type));
    } finally {
      await c.end();
    }
    expect((await rows(run)).length).toBe(0);
  }, 90_000);

  it('a bad journal.mirror is one line naming the key, and no run starts', async () => {
    const bad = host('bad', { journal: { mirror: 'mysql://x@y/z' } });
    const r = await runOps(['run', 'analyze', '--yes'], { env: bad.env, timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/journal\.mirror/);
    expect(journalEvents(bad.state)).toEqual([]);
  }, 30_000);
});
