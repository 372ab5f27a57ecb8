// `ops check --all-targets` (issue 15 §1): three configured targets, one of them a stopped
// throwaway cluster. Each target answers for itself: two live results and one CRITICAL (its
// pg.up, with the reason), the host's checks once, and the exit code the worst of them. In
// JSON, in the plugin lines and as OpenMetrics (accepted by promtool where it is installed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePromtool } from '../support/ensure-tools';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const CALM = {
  cpuPct: { warning: 1000, critical: 1000 },
  memPct: { warning: 1000, critical: 1000 },
  diskPct: { warning: 1000, critical: 1000 },
  cacheHitPct: { warning: 0, critical: 0 },
};

describe('ops check --all-targets', () => {
  let live: Cluster;
  let gone: Cluster;
  const dbs: TestDatabase[] = [];
  let env: NodeJS.ProcessEnv;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    live = await startCluster({ prefix: 'ops-all-live-' });
    gone = await startCluster({ prefix: 'ops-all-gone-' });
    const server = { host: live.host, port: live.port, user: live.user, password: live.password, database: 'postgres' };
    dbs.push(await createTestDatabase('all_shop', server), await createTestDatabase('all_billing', server));
    const goneUrl = `postgres://${gone.user}@127.0.0.1:${gone.port}/postgres`;
    gone.stop();
    const conf = tempConfigDir({
      thresholds: CALM,
      targets: [
        { name: 'shop', url: dbs[0].url },
        { name: 'billing', url: dbs[1].url },
        { name: 'gone', url: goneUrl },
      ],
    });
    const state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    cleanups.push(conf.cleanup, () => rmSync(state, { recursive: true, force: true }));
    env = cleanEnv({ OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state });
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups) c();
    for (const db of dbs) await db.drop();
    live?.stop();
    gone?.stop();
  });

  it('--json: three results, two live and one CRITICAL, the host once, the exit code the worst', async () => {
    const r = await runOps(['check', '--all-targets', '--json'], { env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout);
    expect(res.results.map((x: { name: string }) => x.name)).toEqual(['shop', 'billing', 'gone']);
    const up = (x: { checks: { id: string; status: string; summary: string }[] }) => x.checks.find((c) => c.id === 'pg.up')!;
    expect(up(res.results[0]).status).toBe('OK');
    expect(up(res.results[1]).status).toBe('OK');
    expect(up(res.results[2]).status).toBe('CRITICAL');
    expect(up(res.results[2]).summary).toMatch(/refused|ECONNREFUSED|connect/i);
    // the other target's checks are UNKNOWN without their database, never OK
    expect(res.results[2].checks.filter((c: { id: string }) => c.id !== 'pg.up').every((c: { status: string }) => c.status === 'UNKNOWN')).toBe(true);
    // each target its own: no host check in a target's result, the host's checks once
    expect(res.results.every((x: { checks: { group: string }[] }) => x.checks.every((c) => ['postgres', 'sessions', 'tables'].includes(c.group)))).toBe(true);
    expect(res.host.checks.map((c: { id: string }) => c.id)).toContain('host.cpu');
    expect(res.status).toBe('CRITICAL');
    expect(r.code).toBe(2);
  });

  it('the plugin lines name each target; OpenMetrics gives each its verdict, and promtool accepts it', async () => {
    const r = await runOps(['check', '--all-targets'], { env, timeoutMs: 60_000 });
    expect(r.stdout.split('\n')[0]).toMatch(/^OPS CRITICAL - 3 targets: shop (OK|WARNING|UNKNOWN), billing (OK|WARNING|UNKNOWN), gone CRITICAL; host /);
    expect(r.stdout).toMatch(/^\[gone\] \[CRITICAL\] pg\.up: /m);
    expect(r.code).toBe(2);
    const m = await runOps(['check', '--all-targets', '--format', 'openmetrics'], { env, timeoutMs: 60_000 });
    expect(m.stdout).toMatch(/^ops_health_status\{target="gone"\} 2$/m);
    expect(m.stdout).toMatch(/^ops_check_status\{target="shop",check="pg\.up",[^}]*\} 0$/m);
    expect(m.stdout).toMatch(/^ops_check_status\{target="",check="host\.cpu",[^}]*\} \d$/m);
    const promtool = ensurePromtool();
    if (promtool) {
      const lint = spawnSync(promtool, ['check', 'metrics'], { input: m.stdout, encoding: 'utf8' });
      expect(`${lint.stdout}${lint.stderr}`).toBe('');
      expect(lint.status).toBe(0);
    }
  });

  it('with --target it is refused, one line, UNKNOWN', async () => {
    const r = await runOps(['check', '--all-targets', '--target', 'shop'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--all-targets checks every configured target/);
  });
});
