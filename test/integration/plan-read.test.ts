// Plans read before they act (issue 13 §1), and the undo shown is the undo that runs (§5), on a
// throwaway cluster of this file's own: ALTER SYSTEM changes server settings, which the shared
// server must never see. postgresql.auto.conf starts with work_mem = '4MB' (the cluster's own
// settings are written there), every statement is logged (log_statement = all) so the SQL a
// rollback runs can be read back from the server log, and autovacuum is off so dead rows stay.
// The built `ops` is run as an operator runs it; the console's way in is the TaskService.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import type { TaskDef } from '../../src/tasks/model';
import { readPlan } from '../../src/tasks/plan-read';
import { TaskService } from '../../src/tasks/service';
import { BUILTIN_TASKS } from '../../tasks/index';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { waitFor } from '../support/pg';

let cluster: Cluster;
let state: string;
let conf: ReturnType<typeof tempConfigDir>;
let admin: pg.Client;
let savedState: string | undefined;

const url = (db = 'appdb') => `postgres://postgres@127.0.0.1:${cluster.port}/${db}`;
const env = (configDir = conf.dir) => cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: configDir, DATABASE_URL: url() });
const ops = (args: string[], configDir?: string) => runOps(args, { env: env(configDir), timeoutMs: 30_000 });
const service = (configDir = conf.dir) => new TaskService(resolveSettings({ database: url() }, { ...process.env, OPS_CONFIG_DIR: configDir }), BUILTIN_TASKS);
const history = async () => JSON.parse((await ops(['history', '--json'])).stdout) as { run: string; task: string; outcome: string }[];

async function connect(db = 'appdb'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url(db), application_name: 'ops-test-plans' });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** SHOW name, in a new session (one that has seen every reload). */
async function show(name: string): Promise<string> {
  const c = await connect();
  try {
    return String((await c.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v);
  } finally {
    await c.end();
  }
}

const logFile = () => join(cluster.dir, 'server.log');
const logSize = () => statSync(logFile()).size;
/** The statements the server logged since `from` (a byte offset), in order. */
function statementsSince(from: number): string[] {
  const text = readFileSync(logFile()).subarray(from).toString('utf8');
  return [...text.matchAll(/ LOG: {2}statement: (.*)$/gm)].map((m) => m[1].trim());
}

beforeAll(async () => {
  cluster = await startCluster({
    prefix: 'ops-plans-',
    settings: { work_mem: "'4MB'", log_statement: "'all'", log_line_prefix: "'%m [%p] '", autovacuum: 'off' },
  });
  const postgres = await connect('postgres');
  await postgres.query('CREATE DATABASE appdb');
  await postgres.end();
  admin = await connect();
  state = mkdtempSync(join(tmpdir(), 'ops-plans-state-'));
  conf = tempConfigDir({});
  savedState = process.env.OPS_STATE_DIR;
  process.env.OPS_STATE_DIR = state;
});
afterAll(async () => {
  if (savedState === undefined) delete process.env.OPS_STATE_DIR;
  else process.env.OPS_STATE_DIR = savedState;
  await admin?.end().catch(() => undefined);
  cluster?.stop();
  if (state) rmSync(state, { recursive: true, force: true });
  conf?.cleanup();
});

describe('set-setting reads the setting before it acts', () => {
  it('on work_mem the plan shows 4MB → 64MB, with the undo that puts 4MB back; the run says 64MB, with its unit', async () => {
    expect(await show('work_mem')).toBe('4MB');
    const dry = await ops(['run', 'set-setting', '--dry-run', '--param', 'name=work_mem', '--param', 'value=64MB']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('  work_mem 4MB → 64MB\n');
    expect(dry.stdout).toContain(`undo: ALTER SYSTEM SET "work_mem" = '4MB'; SELECT pg_reload_conf()`);
    expect(await show('work_mem')).toBe('4MB');

    // the console's plan comes the same way
    const preview = await service().preview('set-setting', { name: 'work_mem', value: '64MB' });
    expect(preview.findings?.lines[0]).toBe('work_mem 4MB → 64MB');
    expect(preview.findings?.refusal).toBeUndefined();
    expect(preview.steps[1].rollback).toBe(`ALTER SYSTEM SET "work_mem" = '4MB'; SELECT pg_reload_conf()`);

    const run = await ops(['run', 'set-setting', '--yes', '--param', 'name=work_mem', '--param', 'value=64MB']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('plan: work_mem 4MB → 64MB\n');
    expect(run.stdout).toContain('work_mem is now 64MB\n');
    expect(await show('work_mem')).toBe('64MB');
    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];
    const undo = await ops(['rollback', runId, '--yes']);
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain('work_mem is back to 4MB\n');
    expect(await show('work_mem')).toBe('4MB');
  });

  it('the undo ops show and ops rollback list is exactly the SQL the server log shows when the rollback runs', async () => {
    const run = await ops(['run', 'set-setting', '--yes', '--param', 'name=work_mem', '--param', 'value=32MB']);
    expect(run.code).toBe(0);
    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];
    const expected = `ALTER SYSTEM SET "work_mem" = '4MB'; SELECT pg_reload_conf()`;

    const shown = await ops(['show', runId]);
    expect(shown.stdout).toContain(`  undo ALTER SYSTEM and reload: ${expected}\n`);
    const listed = await ops(['rollback']);
    expect(listed.stdout).toContain(`    undo ALTER SYSTEM and reload: ${expected}\n`);
    const svc = service();
    const reopened = await svc.openForRollback(runId);
    expect(reopened.runner.rollbackPlan().map((p) => p.detail)).toEqual([expected]);
    await reopened.close();

    const from = logSize();
    const undo = await ops(['rollback', runId, '--yes']);
    expect(undo.stderr).toBe('');
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain(`  1. undo ALTER SYSTEM and reload: ${expected}\n`);
    await waitFor(async () => (await show('work_mem')) === '4MB', { timeoutMs: 5000 });
    const ran = statementsSince(from);
    const listedStatements = expected.split('; ');
    const at = ran.indexOf(listedStatements[0]);
    expect(at, `the server log: ${ran.join(' | ')}`).toBeGreaterThanOrEqual(0);
    expect(ran.slice(at, at + listedStatements.length)).toEqual(listedStatements);
    // everything else the rollback's sessions sent only reads (the run lock, the reload's polls)
    const others = [...ran.slice(0, at), ...ran.slice(at + listedStatements.length)];
    expect(others.filter((s) => !/^SELECT /.test(s) || /ALTER|RESET|pg_reload_conf/.test(s))).toEqual([]);
  });

  it('on shared_buffers it is marked as taking effect after a restart, and never reported as applied', async () => {
    const before = await show('shared_buffers');
    expect(before).toBe('32MB');
    const dry = await ops(['run', 'set-setting', '--dry-run', '--param', 'name=shared_buffers', '--param', 'value=64MB']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('  shared_buffers 32MB → 64MB  [takes effect after a restart (context postmaster): ops does not restart the server]\n');

    const run = await ops(['run', 'set-setting', '--yes', '--param', 'name=shared_buffers', '--param', 'value=64MB']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('! shared_buffers is still 32MB: 64MB is written to postgresql.auto.conf and takes effect after a server restart (pending_restart); not applied yet\n');
    expect(run.stdout).not.toMatch(/shared_buffers is now/);
    expect(await show('shared_buffers')).toBe('32MB');
    expect((await admin.query(`SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'`)).rows[0].pending_restart).toBe(true);

    const runId = /run (\S+) succeeded/.exec(run.stdout)![1];
    const undo = await ops(['rollback', runId, '--yes']);
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain(`ALTER SYSTEM SET "shared_buffers" = '32MB'; SELECT pg_reload_conf()`);
    expect(undo.stdout).toContain('shared_buffers is back to 32MB\n');
    await waitFor(async () => (await admin.query(`SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'`)).rows[0].pending_restart === false, { timeoutMs: 5000 });
  });

  it('a bad value is refused at plan time, in one line naming the setting and what it allows; nothing runs or is journaled', async () => {
    const runs = (await history()).length;
    const from = logSize();
    const banana = await ops(['run', 'set-setting', '--yes', '--param', 'name=work_mem', '--param', 'value=banana']);
    expect(banana.code).toBe(1);
    expect(banana.stderr).toBe('ops: set-setting: work_mem: "banana" is not a valid value; give a whole number of kB, or with a unit (TB, GB, MB, kB, B), from 64kB to 2147483647kB\n');
    const low = await ops(['run', 'set-setting', '--yes', '--param', 'name=work_mem', '--param', 'value=1']);
    expect(low.code).toBe(1);
    expect(low.stderr).toBe('ops: set-setting: work_mem: "1" is 1kB, below the minimum 64kB; allowed from 64kB to 2147483647kB\n');
    const dry = await ops(['run', 'set-setting', '--dry-run', '--param', 'name=work_mem', '--param', 'value=banana']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('refused: work_mem: "banana" is not a valid value');
    const internal = await ops(['run', 'set-setting', '--yes', '--param', 'name=block_size', '--param', 'value=4096']);
    expect(internal.stderr).toBe('ops: set-setting: block_size cannot be changed: it is fixed when the server is built or initialized (context internal)\n');
    const unknown = await ops(['run', 'set-setting', '--yes', '--param', 'name=no_such_setting_abc', '--param', 'value=1']);
    expect(unknown.stderr).toBe('ops: set-setting: no such setting: no_such_setting_abc\n');
    // the console's start is refused the same way, before a run exists
    await expect(service().start('set-setting', { name: 'work_mem', value: 'banana' })).rejects.toThrow(/^set-setting: work_mem: "banana" is not a valid value/);
    expect((await history()).length).toBe(runs);
    expect(statementsSince(from).filter((s) => /ALTER SYSTEM|pg_reload_conf/.test(s))).toEqual([]);
    expect(await show('work_mem')).toBe('4MB');
  });
});

describe('the plan reading is read-only', () => {
  it('runs on a connection where every statement is a READ ONLY transaction: a plan that writes is refused by the server', async () => {
    const sneaky: TaskDef = {
      id: 'sneaky',
      title: 'Writes while planning',
      description: '',
      risk: 'low',
      params: z.object({}).strict() as unknown as TaskDef['params'],
      steps: [],
      plan: async (io) => {
        await io.sql('CREATE TABLE planned_write (id int)');
        return { lines: ['wrote'] };
      },
    };
    const target = resolveSettings({ database: url() }, { ...process.env, OPS_CONFIG_DIR: conf.dir }).target;
    const findings = await readPlan(sneaky, {}, { target, config: DEFAULT_CONFIG, statementTimeoutMs: 5000, connect: () => connect() });
    expect(findings?.refusal).toMatch(/^the plan could not read postgres:\/\/postgres@127\.0\.0\.1:\d+\/appdb: cannot execute CREATE TABLE in a read-only transaction$/);
    expect((await admin.query(`SELECT to_regclass('planned_write') AS t`)).rows[0].t).toBeNull();
  });
});

describe('vacuum-analyze, drop-index, reindex-concurrently and backup read their plans', () => {
  beforeAll(async () => {
    await admin.query(`CREATE TABLE events (id int PRIMARY KEY, kind text, note text)`);
    await admin.query(`INSERT INTO events SELECT g, 'k' || (g % 7), md5(g::text) FROM generate_series(1, 5000) g`);
    await admin.query(`DELETE FROM events WHERE id % 5 <> 0`);
    await admin.query(`CREATE INDEX events_note_idx ON events (note)`);
    // a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index behind
    await admin.query(`CREATE UNIQUE INDEX CONCURRENTLY events_kind_key ON events (kind)`).catch(() => undefined);
    await waitFor(async () => Number((await admin.query(`SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'events'`)).rows[0]?.n_dead_tup) === 4000, {
      timeoutMs: 10_000,
      message: 'the dead rows of events counted',
    });
  });

  it('vacuum-analyze: the plan lists the tables it will vacuum with their dead rows', async () => {
    const picked = await ops(['run', 'vacuum-analyze', '--dry-run']);
    expect(picked.code).toBe(0);
    expect(picked.stdout).toContain('  1 table to vacuum (dead rows as pg_stat_user_tables counts them now):\n    public.events: 4000 dead rows, 1000 live (80% dead)\n');
    expect(picked.stdout).toContain('runs: VACUUM (VERBOSE, ANALYZE) "public"."events"');
    const named = await ops(['run', 'vacuum-analyze', '--dry-run', '--param', 'tables=events']);
    expect(named.stdout).toContain('    public.events: 4000 dead rows, 1000 live (80% dead)\n');
    // read, not vacuumed
    expect(Number((await admin.query(`SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'events'`)).rows[0].n_dead_tup)).toBe(4000);
    const missing = await ops(['run', 'vacuum-analyze', '--dry-run', '--param', 'tables=public.nope']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('refused: no such table: public.nope');
  });

  it('drop-index: a pick list of never-used and invalid indexes, with their real sizes; a constraint’s index refused at plan time', async () => {
    const size = String((await admin.query(`SELECT pg_size_pretty(pg_relation_size('events_note_idx')) AS s`)).rows[0].s);
    const dry = await ops(['run', 'drop-index', '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`  to choose from (--param index=…):\n    public.events_note_idx on public.events: ${size}, never used\n`);
    expect(dry.stdout).not.toContain('events_pkey');
    expect(dry.stdout).toContain('refused: name the index to drop: --param index=schema.name, one of those listed');
    const choices = await service().choices('drop-index', 'index');
    expect(choices).toEqual([{ value: 'public.events_note_idx', label: `public.events_note_idx on public.events: ${size}, never used` }]);

    const named = await ops(['run', 'drop-index', '--dry-run', '--param', 'index=public.events_note_idx']);
    expect(named.code).toBe(0);
    expect(named.stdout).toContain(`  public.events_note_idx on public.events: ${size}, never used since the statistics were reset\n`);
    expect(named.stdout).toContain('undo: CREATE INDEX CONCURRENTLY events_note_idx ON public.events USING btree (note)');
    const pkey = await ops(['run', 'drop-index', '--yes', '--param', 'index=public.events_pkey']);
    expect(pkey.code).toBe(1);
    expect(pkey.stderr).toBe('ops: drop-index: public.events_pkey backs a primary key, unique or exclusion constraint: not dropped\n');
    expect((await admin.query(`SELECT to_regclass('events_note_idx') AS i`)).rows[0].i).not.toBeNull();
  });

  it('reindex-concurrently: the pick list puts the invalid index first; the plan shows what a rebuild takes', async () => {
    const size = (name: string) => admin.query(`SELECT pg_size_pretty(pg_relation_size($1::regclass)) AS s`, [name]).then((r) => String(r.rows[0].s));
    const choices = await service().choices('reindex-concurrently', 'index');
    expect(choices[0]).toEqual({ value: 'public.events_kind_key', label: `public.events_kind_key on public.events: ${await size('events_kind_key')}, INVALID (left by a failed CREATE INDEX or REINDEX CONCURRENTLY), never used (backs a constraint)` });
    expect(choices.map((c) => c.value)).toContain('public.events_note_idx');
    const dry = await ops(['run', 'reindex-concurrently', '--dry-run', '--param', 'index=public.events_kind_key']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\n {2}public\.events_kind_key: [\d.]+ [kMG]?B \(INVALID now\), tablespace pg_default\n/);
    expect(dry.stdout).toContain('runs: REINDEX (VERBOSE) INDEX CONCURRENTLY "public"."events_kind_key"');
  });

  it('backup without a directory is refused in the plan, and the run refuses before it starts', async () => {
    const dry = await ops(['run', 'backup', '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('refused: no backup directory: give --param dir=<directory> or set backup.dir in the configuration\n');
    const runs = (await history()).length;
    const run = await ops(['run', 'backup', '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('ops: backup: no backup directory: give --param dir=<directory> or set backup.dir in the configuration\n');
    expect((await history()).length).toBe(runs);
    const missing = await ops(['run', 'backup', '--dry-run', '--param', `dir=${join(state, 'nope')}`]);
    expect(missing.stdout).toContain(`refused: backup directory ${join(state, 'nope')} does not exist\n`);
    const dir = join(state, 'backups');
    mkdirSync(dir);
    const ok = await ops(['run', 'backup', '--dry-run', '--param', `dir=${dir}`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`\\n {2}.* free in ${dir}; database appdb is .* on disk`));
  });

  it('each parameter’s default is in the core, for the console’s form', async () => {
    const withDir = tempConfigDir({ backup: { dir: '/var/backups/pg', glob: '*.dump' } });
    try {
      const svc = service(withDir.dir);
      expect(svc.paramDefaults('vacuum-analyze')).toEqual({ minDeadTuples: '1000', minDeadPct: '20' });
      expect(svc.paramDefaults('backup')).toEqual({ dir: '/var/backups/pg', database: 'appdb' });
      expect(svc.paramDefaults('set-setting')).toEqual({});
    } finally {
      withDir.cleanup();
    }
  });
});
