// Faults around the fleet outputs (issue 15): `ops check --all-targets` with one target hung
// (SIGSTOP: it accepts connections and answers nothing) still answers for the others, the hung
// one CRITICAL with a timeout, within its probe timeout; `--output` on a full filesystem (a tmpfs
// of 16 KB, root only) is one line naming the file, exit 3, and the old file stays whole.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { hang } from '../support/faults';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

describe('fleet outputs under faults', () => {
  let live: Cluster;
  let hung: Cluster;
  let resume: (() => void) | null = null;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    live = await startCluster({ prefix: 'ops-fleet-live-' });
    hung = await startCluster({ prefix: 'ops-fleet-hung-' });
  }, 120_000);
  afterAll(() => {
    resume?.();
    for (const c of cleanups) c();
    live?.stop();
    hung?.stop();
  });

  function env(extra: Record<string, unknown> = {}) {
    const conf = tempConfigDir({
      probeTimeoutMs: 2000,
      targets: [
        { name: 'live', url: `postgres://${live.user}@127.0.0.1:${live.port}/postgres` },
        { name: 'hung', url: `postgres://${hung.user}@127.0.0.1:${hung.port}/postgres` },
      ],
      ...extra,
    });
    const state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    cleanups.push(conf.cleanup, () => rmSync(state, { recursive: true, force: true }));
    return cleanEnv({ OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state });
  }

  it('--all-targets with a hung target: the live one answers, the hung one is CRITICAL with its timeout', async () => {
    resume = hang(hung);
    try {
      const r = await runOps(['check', '--all-targets', '--json', '--only', 'postgres'], { env: env(), timeoutMs: 30_000 });
      const res = JSON.parse(r.stdout);
      const up = (name: string) => res.results.find((x: { name: string }) => x.name === name).checks.find((c: { id: string }) => c.id === 'pg.up');
      expect(up('live').status).toBe('OK');
      expect(up('hung').status).toBe('CRITICAL');
      expect(up('hung').summary).toMatch(/time|did not answer|timeout/i);
      expect(r.code).toBe(2);
    } finally {
      resume();
      resume = null;
    }
  });

  const isRoot = process.getuid?.() === 0;
  it.skipIf(!isRoot)('--output on a full filesystem: one line naming the file, exit 3, the old file whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-om-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
    cleanups.push(() => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'ops.prom');
    writeFileSync(file, '# the last good one\n# EOF\n');
    // fill what is left of it
    try {
      writeFileSync(join(dir, 'filler'), Buffer.alloc(64 * 1024));
    } catch {
      // ENOSPC: full, as wanted
    }
    const r = await runOps(['check', '--all-targets', '--format', 'openmetrics', '--output', file], { env: env(), timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--output ${file}: cannot write it (ENOSPC)`);
    expect(readFileSync(file, 'utf8')).toBe('# the last good one\n# EOF\n');
  });
});
