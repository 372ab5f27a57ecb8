// Fault: `ops sessions` and `ops locks` against a server that stops answering (SIGSTOP), that
// was stopped, and that restarted: each gives up at the probe timeout in one line and exits 1,
// and works again once the server is back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { hang, opsHome, startAgain, startOps, stopNow, restart, type OpsHome } from '../support/faults';
import { runOps } from '../support/ops';

let cluster: Cluster;
let home: OpsHome;
let resume: (() => void) | null = null;

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-fault-sessions-' });
  home = opsHome(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`, { probeTimeoutMs: 1500 });
}, 120_000);

afterEach(() => {
  resume?.();
  resume = null;
});

afterAll(() => {
  cluster?.stop();
  home?.cleanup();
});

describe('ops sessions and ops locks on a faulty server', () => {
  it('a hung server: each command gives up in one line, exit 1, naming that no answer came', async () => {
    resume = hang(cluster);
    for (const cmd of ['sessions', 'locks']) {
      const r = await startOps([cmd, '--json'], home.env(), 20_000).done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ops: cannot (connect to|read the sessions of) /);
    }
  });

  it('a stopped server, then the same server started again: exit 1, then the list', async () => {
    stopNow(cluster);
    const down = await runOps(['sessions'], { env: home.env() });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^ops: cannot connect to /);
    startAgain(cluster);
    const up = await runOps(['sessions', '--json'], { env: home.env() });
    expect(up.code, up.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(up.stdout))).toBe(true);
  });

  it('a restart between two calls leaves nothing stuck', async () => {
    restart(cluster);
    const r = await runOps(['locks', '--json'], { env: home.env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
