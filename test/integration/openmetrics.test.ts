// `ops check --format openmetrics` as Prometheus reads it: `promtool check metrics` (Debian's
// prometheus package, installed by the test set-up where it can be) accepts the output of the
// built `ops` on a healthy database and on an unhealthy one, and --output writes the same text
// to a file for node_exporter's textfile collector. A cluster of its own: the checks judge the
// whole cluster (sessions, settings), which the shared server's other users could change.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePromtool } from '../support/ensure-tools';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

const CALM = {
  cpuPct: { warning: 1000, critical: 1000 },
  memPct: { warning: 1000, critical: 1000 },
  diskPct: { warning: 1000, critical: 1000 },
  cacheHitPct: { warning: 0, critical: 0 },
  longQuerySec: { warning: 3600, critical: 7200 },
  idleInTransactionSec: { warning: 3600, critical: 7200 },
  blockedSec: { warning: 3600, critical: 7200 },
};

function promtool(bin: string, text: string): { code: number | null; out: string } {
  const r = spawnSync(bin, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('ops check --format openmetrics, read by promtool', () => {
  let own: Cluster;
  let db: TestDatabase;
  let dir: string;
  const promtoolBin = ensurePromtool();
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    own = await startCluster({ prefix: 'ops-openmetrics-' });
    db = await createTestDatabase('openmetrics', { host: own.host, port: own.port, user: own.user, password: own.password, database: 'postgres' });
    dir = mkdtempSync(join(tmpdir(), 'ops-om-'));
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups) c();
    await db?.drop();
    own?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function env(thresholds: Record<string, unknown>) {
    const conf = tempConfigDir({ thresholds: { ...CALM, ...thresholds } });
    const state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    cleanups.push(conf.cleanup, () => rmSync(state, { recursive: true, force: true }));
    return cleanEnv({ OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state, DATABASE_URL: db.url });
  }

  it('a healthy database: exit 0, every check 0, and promtool accepts it', async (ctx) => {
    if (!promtoolBin) ctx.skip(); // said by the set-up: promtool could not be installed here
    const r = await runOps(['check', '--format', 'openmetrics'], { env: env({}), timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ops_health_status\{target="[^"]+"\} 0$/m);
    expect(r.stdout).toMatch(/^ops_check_status\{[^}]*check="pg\.up"[^}]*\} 0$/m);
    expect(r.stdout).toMatch(/^ops_check_value\{[^}]*check="pg\.connections"[^}]*\} \d/m);
    const lint = promtool(promtoolBin!, r.stdout);
    expect(lint.out).toBe('');
    expect(lint.code).toBe(0);
    expect(r.code).toBe(0);
  });

  it('an unhealthy database (a transaction left idle): CRITICAL in the gauges and the exit code; promtool accepts it; --output writes the same', async (ctx) => {
    if (!promtoolBin) ctx.skip();
    const holder = await db.client();
    await holder.query('BEGIN; SELECT 1');
    try {
      const admin = await db.client();
      await waitFor(async () => (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND now() - state_change > interval '2.5 seconds'")).rows[0].n >= 1, { timeoutMs: 15_000 });
      const e = env({ idleInTransactionSec: { warning: 1, critical: 2 } });
      const r = await runOps(['check', '--format', 'openmetrics'], { env: e, timeoutMs: 60_000 });
      expect(r.stdout).toMatch(/^ops_health_status\{target="[^"]+"\} 2$/m);
      expect(r.stdout).toMatch(/^ops_check_status\{[^}]*check="sessions\.idle_in_transaction"[^}]*\} 2$/m);
      expect(r.code).toBe(2);
      const lint = promtool(promtoolBin!, r.stdout);
      expect(lint.out).toBe('');
      expect(lint.code).toBe(0);

      const file = join(dir, 'ops.prom');
      const w = await runOps(['check', '--format', 'openmetrics', '--output', file], { env: e, timeoutMs: 60_000 });
      expect(w.stdout).toBe('');
      expect(w.code).toBe(2);
      const written = readFileSync(file, 'utf8');
      expect(written).toMatch(/^ops_check_status\{[^}]*check="sessions\.idle_in_transaction"[^}]*\} 2$/m);
      expect(promtool(promtoolBin!, written).code).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('bad input: an unknown format, or --json with another, is one line and UNKNOWN (3)', async () => {
    const bad = await runOps(['check', '--format', 'prometheus'], { env: env({}) });
    expect(bad.code).toBe(3);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--format: unknown format "prometheus" \(formats: nagios, json, openmetrics\)/);
    const both = await runOps(['check', '--json', '--format', 'openmetrics'], { env: env({}) });
    expect(both.code).toBe(3);
    expect(both.stderr).toMatch(/--json and --format openmetrics: give one of them/);
  });
});
