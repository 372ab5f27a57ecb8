// Faults under a running task, on a throwaway cluster of the test's own: a server that stops
// answering (SIGSTOP), restarts, terminates the task's session or goes away for good while a
// step runs, and ops itself killed with SIGKILL mid-step. In every case the command returns
// within its limits, says why in one line, journals what it knows and releases the lock.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { hang, journalEvents, lockFiles, opsHome, restart, startAgain, startOps, stopNow, type OpsHome } from '../support/faults';
import { runOps } from '../support/ops';

let cluster: Cluster;
let url: string;
let home: OpsHome;
let resume: (() => void) | null = null;

const TIMEOUT_MS = 2000;

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-fault-tasks-' });
  url = `postgres://postgres@127.0.0.1:${cluster.port}/postgres`;
  home = opsHome(url, { taskConnectTimeoutMs: TIMEOUT_MS });
  home.task(
    'slow-sql',
    `
id: slow-sql
title: A slow statement
risk: low
steps:
  - id: sleep
    title: Sleep in SQL
    sql: "SELECT pg_sleep(60)"
    readOnly: true
    timeout: 2
`,
  );
  home.task(
    'wait-flag',
    `
id: wait-flag
title: SQL, a shell step that waits for a flag file, SQL again
risk: low
params:
  flag: { type: string }
steps:
  - id: first
    title: First statement
    sql: "SELECT 1"
    readOnly: true
  - id: wait
    title: Wait for the flag
    shell: 'while [ ! -e "$OPS_PARAM_FLAG" ]; do sleep 0.1; done'
    readOnly: true
    timeout: 60
  - id: second
    title: Second statement
    sql: "SELECT 2"
    readOnly: true
`,
  );
  home.task(
    'quiet-change',
    `
id: quiet-change
title: A quiet change to a file
risk: low
params:
  go: { type: string }
  file: { type: string }
steps:
  - id: change
    title: Make the change
    shell: 'while [ ! -e "$OPS_PARAM_GO" ]; do sleep 0.1; done; touch "$OPS_PARAM_FILE"'
    timeout: 60
    rollback:
      shell: 'rm -f "$OPS_PARAM_FILE"'
`,
  );
}, 120_000);

afterEach(async () => {
  if (!resume) return;
  resume();
  resume = null;
  // a backend given up on mid-statement runs on (and holds the run lock) once the server
  // resumes: what the timeout's message says; end it before the next test
  await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ops-console:%'`).catch(() => undefined);
});

afterAll(() => {
  resume?.();
  cluster?.stop();
  home?.cleanup();
});

const runs = () => journalEvents(home.stateDir);
const eventsOf = (run: string) => runs().filter((e) => e.run === run);
const runIdOf = (out: string) => /run (\d{8}-\d{6}-[a-z0-9_.-]+-[0-9a-f]{4})/.exec(out)?.[1] ?? '';

async function adminQuery(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await c.query(sql, values);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a server that stops answering (SIGSTOP)', () => {
  it('ops run gives up connecting within taskConnectTimeoutMs, in one line, and leaves no lock', async () => {
    resume = hang(cluster);
    const r = await startOps(['run', 'analyze', '--yes'], home.env()).done;
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot connect to .*no answer within 2 s/);
    expect(lockFiles(home.stateDir)).toEqual([]);
  });

  it('a step with timeout: 2 whose server stops mid-statement ends as a timeout naming the backend that may still run it', async () => {
    const ops = startOps(['run', 'slow-sql', '--yes'], home.env());
    await ops.waitFor(/Sleep in SQL: SELECT pg_sleep/);
    await until('the statement to be running', async () => (await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'`)).rowCount === 1);
    resume = hang(cluster);
    const r = await ops.done;
    expect(r.code).toBe(1);
    const run = runIdOf(r.stdout);
    const fin = eventsOf(run).find((e) => e.type === 'step.finish');
    expect(fin?.outcome).toBe('timeout');
    expect(String(fin?.error)).toMatch(/^timed out after 2 s: the server did not answer; the statement may still be running as pid \d+$/);
    const start = eventsOf(run).find((e) => e.type === 'step.start');
    expect(start?.backendPid).toEqual(expect.any(Number));
    expect(String(fin?.error)).toContain(`pid ${start?.backendPid}`);
    expect(eventsOf(run).at(-1)?.type).toBe('run.end');
    expect(lockFiles(home.stateDir)).toEqual([]);
  });

  it('ops rollback of an undo that only touches files needs no answer from the server', async () => {
    const file = join(home.root, 'rollback-me');
    const go = join(home.root, 'go-now');
    writeFileSync(go, '');
    const ok = await runOps(['run', 'quiet-change', '--yes', '--param', `go=${go}`, '--param', `file=${file}`], { env: home.env() });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const run = runIdOf(ok.stdout);
    resume = hang(cluster);
    const r = await startOps(['rollback', run, '--yes'], home.env()).done;
    expect(r.stdout).toMatch(/no database connection/);
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(eventsOf(run).filter((e) => e.type === 'rollback.finish').map((e) => e.outcome)).toEqual(['ok']);
    expect(lockFiles(home.stateDir)).toEqual([]);
  });
});

describe('the task connection breaks while a shell step runs', () => {
  async function underFault(fault: () => void | Promise<void>): Promise<{ code: number | null; stdout: string; run: string }> {
    const flag = join(home.root, `flag-${Math.random().toString(16).slice(2)}`);
    const ops = startOps(['run', 'wait-flag', '--yes', '--param', `flag=${flag}`], home.env());
    await ops.waitFor(/Wait for the flag/);
    await fault();
    writeFileSync(flag, '');
    const r = await ops.done;
    return { ...r, run: runIdOf(r.stdout) };
  }

  it('a restart: the loss is said and journaled, the next step reconnects and retakes the lock, the run succeeds', async () => {
    const r = await underFault(() => restart(cluster));
    expect(r.stdout).not.toMatch(/Unhandled|internal error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the database connection was lost/);
    expect(r.stdout).toMatch(/reconnected to .* and took the run lock again/);
    const ev = eventsOf(r.run);
    expect(ev.some((e) => e.type === 'note' && /connection was lost/.test(String(e.text)))).toBe(true);
    expect(ev.at(-1)).toMatchObject({ type: 'run.end', outcome: 'succeeded' });
    expect(lockFiles(home.stateDir)).toEqual([]);
  });

  it("pg_terminate_backend on the task's session: the same", async () => {
    const r = await underFault(async () => {
      const t = await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ops-console: wait-flag %'`);
      expect(t.rowCount).toBe(1);
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the database connection was lost/);
    expect(eventsOf(r.run).at(-1)).toMatchObject({ type: 'run.end', outcome: 'succeeded' });
    expect(lockFiles(home.stateDir)).toEqual([]);
  });

  it('an immediate stop that lasts: the next step fails in one line, the run ends failed, the lock is released', async () => {
    try {
      const r = await underFault(() => stopNow(cluster));
      expect(r.code).toBe(1);
      const ev = eventsOf(r.run);
      const second = ev.find((e) => e.type === 'step.finish' && e.step === 'second');
      expect(second).toMatchObject({ outcome: 'failed' });
      expect(String(second?.error)).toMatch(/run lock went with the lost connection.*cannot be reached again/);
      expect(ev.some((e) => e.type === 'step.start' && e.step === 'second')).toBe(false);
      expect(ev.at(-1)).toMatchObject({ type: 'run.end', outcome: 'failed' });
      expect(lockFiles(home.stateDir)).toEqual([]);
    } finally {
      startAgain(cluster);
    }
  });
});

describe('ops killed with SIGKILL mid-step', () => {
  it('the next start knows the step may have run, whether its processes live, offers its undo, and a resume asks', async () => {
    const go = join(home.root, 'go-later');
    const file = join(home.root, 'changed-quietly');
    const ops = startOps(['run', 'quiet-change', '--yes', '--param', `go=${go}`, '--param', `file=${file}`], home.env());
    await ops.waitFor(/Make the change/);
    const run = runIdOf(ops.stdout);
    await until('the step start to be journaled', () => eventsOf(run).some((e) => e.type === 'step.start'));
    ops.child.kill('SIGKILL');
    await ops.done;
    const start = eventsOf(run).find((e) => e.type === 'step.start');
    expect(start?.pgid).toEqual(expect.any(Number));
    const pgid = start!.pgid as number;
    try {
      // the orphaned step still runs: said, and never started twice
      const listed = await runOps(['rollback'], { env: home.env() });
      expect(listed.stdout).toContain(run);
      expect(listed.stdout).toMatch(new RegExp(`process group ${pgid} is still running`));
      const again = await runOps(['run', '--resume', run, '--yes'], { env: home.env() });
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/still running as process group/);

      // it finishes its change with nobody watching
      writeFileSync(go, '');
      await until('the orphaned step to finish', () => existsSync(file));
      await until('its process group to end', async () => !(await runOps(['rollback'], { env: home.env() })).stdout.includes('is still running'));

      const listedAfter = await runOps(['rollback'], { env: home.env() });
      expect(listedAfter.stdout).toMatch(new RegExp(`process group ${pgid} has ended`));
      expect(listedAfter.stdout).toMatch(/may have run: undo/);
      const resumeHeadless = await runOps(['run', '--resume', run, '--yes'], { env: home.env() });
      expect(resumeHeadless.code).toBe(2);
      expect(resumeHeadless.stderr).toMatch(/may have run .*ops rollback/);

      const undo = await runOps(['rollback', run, '--yes'], { env: home.env() });
      expect(undo.stdout).toMatch(/may have run/);
      expect(undo.code).toBe(0);
      expect(existsSync(file)).toBe(false);
      expect(lockFiles(home.stateDir)).toEqual([]);
    } finally {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
});
