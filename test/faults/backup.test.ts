// Faults during a backup, on a throwaway cluster of this file's own: pg_dump failing at once (a
// table the dumping role cannot read: the 0-byte dump), and an immediate stop of the server in
// the middle of pg_dump (the truncated dump). Neither leaves anything the backup check counts,
// and `ops rollback` of both runs, with the server down, removes what they left: a backup's
// undo is file work only and needs no database.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPg } from '../../src/drill/cluster';
import { startCluster, type Cluster } from '../support/cluster';
import { assertBuilt, cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { waitFor } from '../support/pg';

const isRoot = process.getuid?.() === 0;

interface BackupCheck {
  id: string;
  status: string;
  summary: string;
  subject: string | null;
}

describe('a failed backup never counts as a fresh one', () => {
  let cluster: Cluster;
  let state: string;
  const confs: ReturnType<typeof tempConfigDir>[] = [];
  const dirs: string[] = [];
  /** the runs made here, and the URL each ran against */
  const runs: { id: string; url: string; dir: string }[] = [];

  /** the newest run in the journal */
  async function newestRun(env: NodeJS.ProcessEnv): Promise<{ run: string; task: string }> {
    const history = JSON.parse((await runOps(['history', '--json'], { env })).stdout) as { run: string; task: string }[];
    expect(history.length).toBeGreaterThan(0);
    return history[0];
  }

  const url = (user: string) => `postgresql://${user}@127.0.0.1:${cluster.port}/shop`;

  /** a backup directory and a config naming it (glob left at its default, *: it matches anything) */
  function setup(user: string) {
    const dir = mkdtempSync(join(tmpdir(), 'ops-fault-backups-'));
    dirs.push(dir);
    const conf = tempConfigDir({ backup: { dir } });
    confs.push(conf);
    return { dir, env: cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: url(user) }) };
  }

  async function backupCheck(env: NodeJS.ProcessEnv): Promise<BackupCheck> {
    const r = await runOps(['check', '--only', 'backup', '--json'], { env, timeoutMs: 30_000 });
    const report = JSON.parse(r.stdout) as { checks: BackupCheck[] };
    const c = report.checks.find((x) => x.id === 'backup.age');
    expect(c, r.stdout).toBeDefined();
    return c!;
  }

  /** files a backup glob could take for a backup: not hidden */
  const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));

  beforeAll(async () => {
    assertBuilt();
    state = mkdtempSync(join(tmpdir(), 'ops-fault-state-'));
    cluster = await startCluster();
    const admin = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query('CREATE DATABASE shop');
    await admin.query('CREATE ROLE dumper LOGIN');
    await admin.end();
    const shop = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'shop' });
    await shop.connect();
    // big enough that pg_dump takes seconds: the server is stopped in the middle of it
    await shop.query(`CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS pad FROM generate_series(1, 1200000) g`);
    // a table the dumper may not read: its pg_dump fails at once
    await shop.query('CREATE TABLE secret (x int); GRANT SELECT ON big TO dumper');
    await shop.end();
  }, 180_000);

  afterAll(() => {
    cluster?.stop();
    for (const c of confs) c.cleanup();
    for (const d of [...dirs, state]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('pg_dump fails at once: no file under a backup name, and ops check --only backup does not count what it left', async () => {
    const { dir, env } = setup('dumper');
    const r = await runOps(['run', 'backup', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/permission denied for table secret/);
    const run = await newestRun(env);
    expect(run.task).toBe('backup');
    expect(runs.some((x) => x.id === run.run)).toBe(false);
    runs.push({ id: run.run, url: url('dumper'), dir });
    const c = await backupCheck(env);
    expect(c.status).toBe('CRITICAL');
    expect(c.summary).toBe(`no backup matching * in ${dir}`);
    expect(visible(dir)).toEqual([]);
  }, 90_000);

  it('an immediate stop of the server during pg_dump: the truncated dump is not counted', async () => {
    const { dir, env } = setup('postgres');
    const running = runOps(['run', 'backup', '--yes'], { env, timeoutMs: 120_000 });
    // pg_dump is well into the data when the server goes
    const big = () => readdirSync(dir).some((n) => statSync(join(dir, n)).size > 4 * 1024 * 1024);
    await waitFor(big, { timeoutMs: 60_000, intervalMs: 20, message: 'pg_dump to have written 4 MB' });
    runPg(join(cluster.bin, 'pg_ctl'), ['stop', '-D', cluster.data, '-m', 'immediate', '-w', '-t', '30'], isRoot ? cluster.runAs : null);
    const r = await running;
    expect(r.code, `pg_dump finished before the server was stopped: the test database is too small\n${r.stdout}${r.stderr}`).not.toBe(0);
    const run = await newestRun(env);
    expect(run.task).toBe('backup');
    expect(runs.some((x) => x.id === run.run)).toBe(false);
    runs.push({ id: run.run, url: url('postgres'), dir });
    const left = readdirSync(dir);
    expect(left.length, 'what pg_dump wrote is still there, under some name').toBeGreaterThan(0);

    const c = await backupCheck(env);
    expect(c.status).toBe('CRITICAL');
    expect(c.summary).toBe(`no backup matching * in ${dir}`);
    expect(visible(dir), 'nothing left under a name a backup glob matches').toEqual([]);
  }, 150_000);

  // Needs the engine to open a connection only for a step that runs SQL (the lead's part of
  // issue 9 item 5, in src/tasks/engine.ts and src/cli/rollback.ts): until then the rollback
  // fails with "cannot connect".
  it('ops rollback of both runs, with the server stopped, succeeds and removes the unfinished files', async () => {
    expect(runs).toHaveLength(2);
    expect(existsSync(join(cluster.data, 'postmaster.pid')), 'the server is still stopped').toBe(false);
    for (const [i, run] of runs.entries()) {
      const env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: confs[i].dir, DATABASE_URL: run.url });
      const r = await runOps(['rollback', run.id, '--yes'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/cannot connect/);
    }
    for (const { dir } of runs) expect(readdirSync(dir), `${dir} after the rollbacks`).toEqual([]);
  }, 150_000);
});
