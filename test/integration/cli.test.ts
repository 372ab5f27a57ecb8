// The built `ops` as a real child process: exit codes, plugin output, JSON, configuration
// commands and every kind of bad input.
import { statSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPgBin, freePort as closedPort, startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

const oneLine = (s: string) => s.trim().split('\n').length === 1;

// The session checks judge the whole cluster (another database's idle transaction counts too),
// so these run on a throwaway cluster of their own.
describe('ops check against real PostgreSQL', () => {
  let own: Cluster;
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  beforeAll(async () => {
    own = await startCluster({ prefix: 'ops-cli-check-' });
    db = await createTestDatabase('cli', { host: own.host, port: own.port, user: own.user, password: own.password, database: 'postgres' });
    conf = tempConfigDir({ thresholds: { idleInTransactionSec: { warning: 1, critical: 2 } } });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    own?.stop();
    conf?.cleanup();
  });

  it('a healthy database: exit 0, plugin first line with perfdata', async () => {
    const r = await runOps(['check', '--only', 'sessions', '--database', db.url], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^OPS OK - 4 checks OK \| 'sessions\.long_query'=/);
  });

  it('an idle-in-transaction session past critical: exit 2, naming its pid, in text and JSON', async () => {
    const c: pg.Client = await db.client();
    await c.query('BEGIN');
    await c.query('SELECT 1 AS held_open');
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const env = cleanEnv({ OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url });
    await waitFor(async () => {
      const r = await runOps(['check', '--only', 'sessions', '--json'], { env });
      return JSON.parse(r.stdout).status === 'CRITICAL';
    }, { timeoutMs: 15000 });
    const text = await runOps(['check', '--only', 'sessions'], { env });
    expect(text.code).toBe(2);
    expect(text.stdout.split('\n')[0]).toMatch(new RegExp(`^OPS CRITICAL - pid ${pid} \\(.*\\) idle in transaction`));
    const json = await runOps(['check', '--only', 'sessions', '--json'], { env });
    expect(json.code).toBe(2);
    const out = JSON.parse(json.stdout);
    expect(out).toMatchObject({ status: 'CRITICAL', score: expect.any(Number) });
    const check = out.checks.find((x: { id: string }) => x.id === 'sessions.idle_in_transaction');
    expect(check).toMatchObject({
      group: 'sessions',
      status: 'CRITICAL',
      subject: `pid ${pid}`,
      thresholds: { warning: 1, critical: 2, direction: 'above' },
    });
    expect(check.value).toBeGreaterThanOrEqual(2);
    expect(Object.keys(check).sort()).toEqual(['findings', 'fix', 'group', 'id', 'status', 'subject', 'summary', 'thresholds', 'unit', 'value']);
    // the finding names the task that ends it, bound to that pid
    expect(check.fix).toEqual({ task: 'terminate-sessions', params: { pids: [pid] } });
    expect(check.findings).toEqual([expect.objectContaining({ subject: `pid ${pid}`, status: 'CRITICAL', fix: check.fix })]);
    await c.query('ROLLBACK');
  });

  it('--only with an unknown group is UNKNOWN (3) with the list of groups', async () => {
    const r = await runOps(['check', '--only', 'disks'], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ops: --only: unknown group "disks" \(groups: host, disk, postgres/);
    expect(oneLine(r.stderr)).toBe(true);
  });
});

describe('database gone', () => {
  it('a closed port: CRITICAL (2) with the reason, no crash, nothing on stderr', async () => {
    const port = await closedPort();
    const r = await runOps(['check', '--only', 'postgres', '--database', `postgres://ops@127.0.0.1:${port}/x`]);
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^OPS CRITICAL - PostgreSQL unavailable: .*127\\.0\\.0\\.1:${port}`));
    expect(r.stderr).toBe('');
  });

  it('an unresolvable host: CRITICAL with the reason, within the probe timeout', async () => {
    const conf = tempConfigDir({ probeTimeoutMs: 1500 });
    try {
      const r = await runOps(['check', '--only', 'postgres', '--database', 'postgres://ops@ops-test-no-such-host.invalid:5432/x'], {
        env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }),
      });
      expect(r.code).toBe(2);
      expect(r.stdout.split('\n')[0]).toMatch(/^OPS CRITICAL - PostgreSQL unavailable: .*(ops-test-no-such-host\.invalid|timed out)/);
    } finally {
      conf.cleanup();
    }
  });

  it('a password in the URL or PGPASSWORD never appears in any output', async () => {
    const port = await closedPort();
    const url = `postgres://ops:Sup3rSecretPw@127.0.0.1:${port}/x`;
    for (const args of [['check'], ['check', '--json'], ['check', '--only', 'postgres']]) {
      const r = await runOps([...args, '--database', url], { env: cleanEnv({ PGPASSWORD: 'An0therSecret' }) });
      expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
      expect(r.stdout + r.stderr).not.toContain('An0therSecret');
      expect(r.code).toBe(2);
    }
    const bad = await runOps(['check', '--database', 'postgres://ops:Sup3rSecretPw@[bad/x']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).not.toContain('Sup3rSecretPw');
    expect(oneLine(bad.stderr)).toBe(true);
  });
});

describe('bad input: one line, non-zero, no stack trace', () => {
  it('an unknown flag', async () => {
    const r = await runOps(['check', '--bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('ops: unknown option --bogus (see "ops --help")\n');
  });

  it('an unknown command', async () => {
    const r = await runOps(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ops: unknown command "frobnicate" (see "ops --help")\n');
  });

  it('a bad --refresh', async () => {
    const r = await runOps(['--refresh', '0.1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('ops: --refresh: expected seconds between 1 and 3600, got "0.1"\n');
  });

  it('a malformed config file names file, line and column', async () => {
    const conf = tempConfigDir('{\n  "refreshSec": 2,\n  "thresholds": {\n    "cpuPct": { "warning": 50 \n  }\n}\n');
    try {
      const r = await runOps(['check'], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`ops: ${conf.file}:7:1: not valid JSON: expected "," or "}" after the value of "thresholds", found end of file\n`);
      const v = await runOps(['config', 'validate'], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(v.code).toBe(1);
      expect(oneLine(v.stderr)).toBe(true);
    } finally {
      conf.cleanup();
    }
  });

  it('a bad value names its key path and line', async () => {
    const conf = tempConfigDir('{\n  "refreshSec": 2,\n  "thresholds": {\n    "diskPct": { "warning": 95, "critical": 90 }\n  },\n  "targets": [ { "name": "prod", "url": "http://db:pw@x" } ]\n}\n');
    try {
      const r = await runOps(['config', 'validate'], { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('line 4: thresholds.diskPct: warning must be at or below critical');
      expect(r.stderr).toContain('line 6: targets[0].url: must be a postgres:// or postgresql:// URL');
      expect(r.stderr).not.toContain(':pw@');
      expect(oneLine(r.stderr)).toBe(true);
    } finally {
      conf.cleanup();
    }
  });

  it('the console refuses a stdin that is not a terminal, pointing to ops check', async () => {
    const r = await runOps([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: the console needs an interactive terminal; for scripts and monitoring use "ops check"/);
    expect(oneLine(r.stderr)).toBe(true);
  });

  it('--debug adds the stack trace', async () => {
    const r = await runOps(['--debug', 'frobnicate']);
    expect(r.stderr.split('\n').length).toBeGreaterThan(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('ops config', () => {
  it('set validates, writes 0600, and get/show read it back with secrets redacted', async () => {
    const conf = tempConfigDir();
    const env = cleanEnv({ OPS_CONFIG_DIR: conf.dir });
    try {
      expect((await runOps(['config', 'path'], { env })).stdout).toBe(`${conf.file}\n`);
      const set = await runOps(['config', 'set', 'thresholds.cpuPct.warning', '70'], { env });
      expect(set.code).toBe(0);
      expect(statSync(conf.file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(conf.file, 'utf8'))).toEqual({ thresholds: { cpuPct: { warning: 70 } } });
      expect((await runOps(['config', 'get', 'thresholds.cpuPct'], { env })).stdout).toBe('{\n  "warning": 70,\n  "critical": 80\n}\n');

      const t = await runOps(['config', 'set', 'targets', '[{"name":"prod","url":"postgres://app:Hidd3nPw@db1/prod"}]'], { env });
      expect(t.code).toBe(0);
      expect(t.stdout).not.toContain('Hidd3nPw');
      const show = await runOps(['config', 'show'], { env });
      expect(show.stdout).toContain('postgres://app:***@db1/prod');
      expect(show.stdout).not.toContain('Hidd3nPw');
      expect((await runOps(['config', 'get', 'targets[0].url'], { env })).stdout).toBe('postgres://app:***@db1/prod\n');

      const before = readFileSync(conf.file, 'utf8');
      const bad = await runOps(['config', 'set', 'thresholds.cpuPct.warning', '95'], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('ops: config set: thresholds.cpuPct: warning must be at or below critical\n');
      expect(readFileSync(conf.file, 'utf8')).toBe(before);
      const unknownKey = await runOps(['config', 'set', 'refresh', '5'], { env });
      expect(unknownKey.code).toBe(1);
      expect(unknownKey.stderr).toMatch(/^ops: config set: .*refresh/);
    } finally {
      conf.cleanup();
    }
  });
});

describe('a wrong password', () => {
  let cluster: Cluster | null = null;
  beforeAll(async () => {
    if (!findPgBin()) return;
    cluster = await startCluster({ hostAuth: 'scram-sha-256', superuserPassword: 'Right-Pass-42' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('is CRITICAL with the server\'s reason, and the password is redacted everywhere', async (ctx) => {
    if (!cluster) ctx.skip(); // no PostgreSQL binaries to start a password-checking server
    const url = `postgres://postgres:Wrong-Pass-77@127.0.0.1:${cluster!.port}/postgres`;
    const r = await runOps(['check', '--only', 'postgres', '--database', url]);
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n')[0]).toMatch(/^OPS CRITICAL - PostgreSQL unavailable: password authentication failed for user "postgres"/);
    expect(r.stdout + r.stderr).not.toContain('Wrong-Pass-77');
    const viaEnv = await runOps(['check', '--only', 'postgres', '--json'], {
      env: cleanEnv({ PGHOST: '127.0.0.1', PGPORT: String(cluster!.port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: 'Wrong-Pass-77' }),
    });
    expect(viaEnv.code).toBe(2);
    expect(JSON.parse(viaEnv.stdout).checks[0].summary).toContain('password authentication failed');
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain('Wrong-Pass-77');
    const right = await runOps(['check', '--only', 'postgres', '--database', url.replace('Wrong-Pass-77', 'Right-Pass-42')]);
    expect(right.stdout.split('\n')[0]).not.toContain('unavailable');
  });
});
