// `ops run`, `ops history` and `ops show` as a user runs them: the built `ops`, a real
// database, a private state directory for the journal.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunLock } from '../../src/tasks/lock';
import { cleanEnv, OPS_BIN, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

describe('ops run', () => {
  let db: TestDatabase;
  let state: string;
  let backups: string;
  let conf: ReturnType<typeof tempConfigDir>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase('run');
    const c = await db.client();
    await c.query('CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g');
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    backups = mkdtempSync(join(tmpdir(), 'ops-backups-'));
    conf = tempConfigDir({ backup: { dir: backups, glob: '*.dump' } });
    env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(state, { recursive: true, force: true });
    rmSync(backups, { recursive: true, force: true });
    conf?.cleanup();
  });

  const history = async () => JSON.parse((await runOps(['history', '--json'], { env })).stdout) as { run: string; task: string; outcome: string }[];

  it('lists the tasks, and names the known ones for an unknown task', async () => {
    const list = await runOps(['run'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^backup\s+medium\s+/m);
    expect(list.stdout).toMatch(/^set-setting\s+high\s+/m);
    const r = await runOps(['run', 'nope'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: run: unknown task "nope" \(tasks: backup, verify-backup, analyze, vacuum-analyze, set-setting[,)]/);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('without a terminal and without --yes, a task that asks is refused and nothing runs', async () => {
    const r = await runOps(['run', 'set-setting', '--param', 'name=work_mem', '--param', 'value=8MB'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: run set-setting: a high-risk task asks for confirmation; run it at a terminal, or pass --yes/);
    expect(await history()).toEqual([]);
  });

  it('--dry-run prints the plan, with the exact SQL, and changes nothing', async () => {
    const ok = await runOps(['run', 'set-setting', '--dry-run', '--param', 'name=work_mem', '--param', 'value=8MB'], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`ALTER SYSTEM SET "work_mem" = '8MB'; SELECT pg_reload_conf()`);
    expect(ok.stdout).toContain('dry run: nothing was changed');
    // a hostile value is shown quoted, and refused at plan time (not a value work_mem takes)
    const r = await runOps(['run', 'set-setting', '--dry-run', '--param', 'name=work_mem', '--param', "value=8MB'; DROP TABLE orders; --"], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ALTER SYSTEM SET "work_mem" = '8MB''; DROP TABLE orders; --'`);
    expect(r.stdout).toContain(`refused: work_mem: "8MB'; DROP TABLE orders; --" is not a valid value`);
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await history()).toEqual([]);
  });

  it('--read-only refuses to run a task (and to roll one back), but still shows the plan', async () => {
    const before = (await history()).length;
    const r = await runOps(['run', 'analyze', '--yes', '--read-only'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ops: run analyze: refused under --read-only (it would change the target); drop --read-only to run it, or see the plan with --dry-run\n');
    const plan = await runOps(['run', 'analyze', '--dry-run', '--read-only'], { env });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/dry run: nothing was changed/);
    const rb = await runOps(['rollback', 'anything', '--yes', '--read-only'], { env });
    expect(rb.code).toBe(2);
    expect(rb.stderr).toMatch(/^ops: rollback anything: refused under --read-only/);
    expect((await history()).length).toBe(before);
  });

  it('bad parameters name the parameter', async () => {
    const r = await runOps(['run', 'set-setting', '--yes', '--param', 'name=Bad Name', '--param', 'value=1'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^ops: set-setting: --param name: a setting name/);
    expect((await runOps(['run', 'analyze', '--param', 'oops'], { env })).stderr).toBe('ops: --param: expected KEY=VALUE, got "oops"\n');
  });

  it('runs headless with --yes, streams VACUUM VERBOSE, and journals it for history and show', async () => {
    const r = await runOps(['run', 'vacuum-analyze', '--yes', '--param', 'tables=public.orders'], { env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/INFO: (vacuuming|finished vacuuming) .*orders/);
    // VACUUM VERBOSE's report as its lines, and no command tag (VACUUM, SELECT 1) as output
    expect(r.stdout).toMatch(/^.*INFO: finished vacuuming .*orders.*\n.*  pages: \d+ removed/m);
    expect(r.stdout).not.toMatch(/^\W*(VACUUM|SELECT \d+|ANALYZE)\s*$/m);
    const runs = await history();
    expect(runs[0]).toMatchObject({ task: 'vacuum-analyze', outcome: 'succeeded' });
    const show = await runOps(['show', runs[0].run.slice(0, 24)], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('vacuum-analyze');
    expect(show.stdout).toMatch(/\[notice\] INFO: .*orders/);
  });

  it('backup, then verify-backup, from the command line', async () => {
    const b = await runOps(['run', 'backup', '--yes'], { env, timeoutMs: 120_000 });
    expect(b.code).toBe(0);
    const files = readdirSync(backups).sort();
    expect(files.filter((f) => f.endsWith('.dump'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.dump.sha256'))).toHaveLength(1);
    // a dump holds every row: readable by its owner only
    expect(statSync(join(backups, files.find((f) => f.endsWith('.dump'))!)).mode & 0o777).toBe(0o600);
    const v = await runOps(['run', 'verify-backup'], { env, timeoutMs: 120_000 });
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('public.orders 500 = 500');
    // a succeeded backup's only undo would delete its dump: it needs no attention, and stays in history
    const run = (await history()).find((x) => x.task === 'backup')!.run;
    const list = await runOps(['rollback'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(run);
    expect((await runOps(['show', run], { env })).stdout).toContain('backup');
  });

  it('a failing run exits 1 and is journaled as failed', async () => {
    // (an unknown setting is refused at plan time now, before any run: analyze has no plan reading)
    const r = await runOps(['run', 'analyze', '--yes', '--param', 'tables=public.no_such_table_abc'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('no such table: public.no_such_table_abc');
    expect((await history())[0]).toMatchObject({ task: 'analyze', outcome: 'failed' });
  });

  it('a second run on the same target is refused and names the holder', async () => {
    const holderClient = await db.client();
    const lock = await acquireRunLock({
      client: holderClient,
      lockDir: join(state, 'locks'),
      targetKey: db.url,
      holder: { user: 'alice', sshClient: '10.0.0.7', host: 'db-maint-01', pid: process.pid, task: 'backup', runId: '20261123-000000-backup-abcd', since: new Date().toISOString() },
    });
    try {
      const r = await runOps(['run', 'analyze', '--yes'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ops: target is busy: .*backup.*20261123-000000-backup-abcd/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // --json (a playbook colliding with another): still refused, and the result says so
      const j = await runOps(['run', 'analyze', '--yes', '--json'], { env });
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject({ run: null, task: 'analyze', outcome: 'not started', changed: false, exitCode: 1, error: expect.stringMatching(/^target is busy: .*20261123-000000-backup-abcd/) });
    } finally {
      await lock.release();
    }
  });

  it('--json: one result on standard output (the run, changed, its steps, the undos left), the human lines on standard error', async () => {
    const c = await db.client();
    await c.query('CREATE TABLE json_t (id int); CREATE INDEX json_t_idx ON json_t (id)');
    const r = await runOps(['run', 'drop-index', '--param', 'index=public.json_t_idx', '--yes', '--json'], { env });
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ task: 'drop-index', outcome: 'succeeded', changed: true, exitCode: 0 });
    expect(res.steps.every((s: { status: string }) => s.status === 'ok')).toBe(true);
    expect(res.rollbacksLeft).toHaveLength(1);
    expect(res.rollbacksLeft[0].undo).toMatch(/CREATE INDEX .*json_t_idx/);
    expect(r.stderr).toContain(`run ${res.run}: `);
    const back = await runOps(['rollback', res.run, '--yes', '--json'], { env });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ run: res.run, outcome: 'rolled back', changed: true, undone: [res.rollbacksLeft[0].step], rollbacksLeft: [] });
    expect((await c.query("SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'json_t_idx'")).rows[0].n).toBe(1);
    // nothing left: a second rollback changes nothing
    const again = JSON.parse((await runOps(['rollback', res.run, '--yes', '--json'], { env })).stdout);
    expect(again).toMatchObject({ changed: false, undone: [] });
  });
});

describe('ops rollback: the emergency rollback session', () => {
  let db: TestDatabase;
  let state: string;
  let env: NodeJS.ProcessEnv;
  // each test file changes its own setting: files run in parallel against one server
  const setting = 'log_autovacuum_min_duration';
  beforeAll(async () => {
    db = await createTestDatabase('rb');
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    env = cleanEnv({ OPS_STATE_DIR: state, DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(state, { recursive: true, force: true });
  });
  const current = async () => {
    const c = await db.client();
    return String((await c.query('SELECT setting FROM pg_settings WHERE name = $1', [setting])).rows[0].setting);
  };

  it('lists what ran and how to undo it, then undoes it, from the journal alone', async () => {
    const before = await current();
    const value = before === '7777' ? '7778' : '7777';
    const run = await runOps(['run', 'set-setting', '--yes', '--param', `name=${setting}`, '--param', `value=${value}`], { env });
    expect(run.code).toBe(0);
    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];

    const list = await runOps(['rollback'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${runId}  set-setting on ${db.url.replace(/^postgres:\/\/([^@]*)@/, 'postgres://$1@')}`.slice(0, 40));
    expect(list.stdout).toMatch(new RegExp(`undo ALTER SYSTEM and reload: ALTER SYSTEM (RESET "${setting}"|SET "${setting}")`));

    const refused = await runOps(['rollback', runId], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/asks for confirmation; run it at a terminal, or pass --yes/);

    const undo = await runOps(['rollback', runId.slice(0, 22), '--yes'], { env });
    expect(undo.stderr).toBe('');
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain(`run ${runId} rolled back`);
    await waitFor(async () => (await current()) === before, { timeoutMs: 5000 });

    const again = await runOps(['rollback', runId, '--yes'], { env });
    expect(again.stdout).toBe(`run ${runId}: nothing left to roll back\n`);
    expect((await runOps(['rollback'], { env })).stdout).toContain('nothing to roll back');
    const runs = JSON.parse((await runOps(['history', '--json'], { env })).stdout);
    expect(runs[0]).toMatchObject({ run: runId, outcome: 'rolled back', pendingRollbacks: 0 });
  });

  it('refuses to undo a run on another target', async () => {
    const run = await runOps(['run', 'analyze', '--yes'], { env });
    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];
    const r = await runOps(['rollback', runId, '--yes', '--database', 'postgres://someone@127.0.0.1:1/elsewhere'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: rollback: run .* ran on .*, not on postgres:\/\/someone@127\.0\.0\.1:1\/elsewhere; pass --database or --target for it\n$/);
  });
});

describe('an SSH drop mid-run (SIGHUP)', () => {
  let db: TestDatabase;
  let state: string;
  let backups: string;
  let conf: ReturnType<typeof tempConfigDir>;
  beforeAll(async () => {
    db = await createTestDatabase('hup');
    const c = await db.client();
    await c.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)');
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    backups = mkdtempSync(join(tmpdir(), 'ops-backups-'));
    conf = tempConfigDir({ backup: { dir: backups, glob: '*.dump' } });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(state, { recursive: true, force: true });
    rmSync(backups, { recursive: true, force: true });
    conf?.cleanup();
  });

  it('the running step is not killed: it finishes, is recorded, and the run is marked interrupted', async () => {
    const env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });
    // hold a lock that pg_dump must wait for, so the dump step is mid-flight when the terminal goes
    const locker = await db.client();
    await locker.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const child = spawn(process.execPath, [OPS_BIN, 'run', 'backup', '--yes'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const admin = await db.client();
    const dumpWaiting = async () =>
      (await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ops-console/task' AND wait_event_type = 'Lock'", [db.name])).rows[0]?.pid as number | undefined;
    const dumpPid = await waitFor(dumpWaiting, { timeoutMs: 15000 });
    child.kill('SIGHUP');
    // pg_dump is still there, still waiting: the hang-up did not kill the step
    expect(await dumpWaiting()).toBe(dumpPid);
    await locker.query('COMMIT');
    expect(await exited).toBe(1);

    const runs = JSON.parse((await runOps(['history', '--json'], { env })).stdout);
    expect(runs[0]).toMatchObject({ task: 'backup', outcome: 'interrupted' });
    expect(runs[0].steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ['check', 'ok'],
      ['dump', 'ok'],
      ['checksum', 'pending'],
      ['list', 'pending'],
      ['rename', 'pending'],
    ]);
    // the dump is there, under its unfinished name only: not a backup yet
    expect(readdirSync(backups).filter((f) => f.endsWith('.dump'))).toHaveLength(0);
    expect(readdirSync(backups).filter((f) => f.endsWith('.dump.partial'))).toHaveLength(1);
    // the next start says so, and the rollback session offers to undo what ran
    const next = await runOps(['run', 'analyze', '--yes'], { env });
    expect(next.stdout).toContain(`note: run ${runs[0].run} (backup) was interrupted at "`);
    const list = await runOps(['rollback'], { env });
    expect(list.stdout).toContain(runs[0].run);

    // or go on with it: from the first step not done
    const refused = await runOps(['run', '--resume', runs[0].run], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/asks for confirmation; run it at a terminal, or pass --yes/);
    const resumed = await runOps(['run', '--resume', runs[0].run, '--yes'], { env });
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toContain('Going on from step 3: ');
    // the plan is read again before the resume runs: the backup directory and its free space
    expect(resumed.stdout).toMatch(new RegExp(`^plan: .*${backups.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    expect(resumed.code).toBe(0);
    const after = JSON.parse((await runOps(['history', '--json'], { env })).stdout).find((r: { run: string }) => r.run === runs[0].run);
    expect(after.outcome).toBe('succeeded');
    expect(after.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(readdirSync(backups).filter((f) => f.endsWith('.dump.sha256'))).toHaveLength(1);
    expect(readdirSync(backups).filter((f) => f.endsWith('.dump'))).toHaveLength(1);
    expect(readdirSync(backups).filter((f) => f.endsWith('.partial'))).toHaveLength(0);
    expect((await runOps(['run', '--resume', runs[0].run, '--yes'], { env })).stdout).toContain('nothing to resume');
  });
});

describe("the operator's own tasks", () => {
  let db: TestDatabase;
  let state: string;
  let work: string;
  let conf: ReturnType<typeof tempConfigDir>;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase('user');
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    work = mkdtempSync(join(tmpdir(), 'ops-work-'));
    conf = tempConfigDir();
    mkdirSync(join(conf.dir, 'tasks'), { mode: 0o755 });
    writeFileSync(
      join(conf.dir, 'tasks', 'marker.yaml'),
      [
        'id: make-marker',
        'title: Make a marker file',
        'description: Creates a file; its rollback removes it.',
        'risk: medium',
        'params:',
        '  name: { type: string, pattern: "^[a-z ]+$" }',
        'steps:',
        '  - id: touch',
        '    title: Create the marker',
        `    run: [touch, "${work}/{{name}}"]`,
        '    rollback:',
        `      run: [rm, "${work}/{{name}}"]`,
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    writeFileSync(join(conf.dir, 'tasks', 'broken.yaml'), 'id: broken\ntitle: x\nrisk: extreme\nsteps: []\n', { mode: 0o644 });
    env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(state, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    conf?.cleanup();
  });

  it('are listed beside the built-ins, run, journaled and rolled back like them; a broken file is reported, not loaded', async () => {
    const list = await runOps(['run'], { env });
    expect(list.stdout).toMatch(/^make-marker\s+medium\s+Make a marker file\s+\(.*marker\.yaml\)$/m);
    expect(list.stdout).not.toContain('broken');
    expect(list.stderr).toMatch(/^ops: warning: .*broken\.yaml:3: risk: /m);

    const run = await runOps(['run', 'make-marker', '--yes', '--param', 'name=two words'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(existsSync(join(work, 'two words'))).toBe(true);
    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];

    const undo = await runOps(['rollback', runId, '--yes'], { env });
    expect(undo.code).toBe(0);
    expect(existsSync(join(work, 'two words'))).toBe(false);
  });
});
