// Fault (issue 15 §1): one of the overview's targets stops answering (SIGSTOP on its server)
// and another is restarted. Each target is its own monitor: the live target's line goes on
// refreshing while the hung one is marked old and then judged at its deadline; after SIGCONT it
// comes back; the restarted one reconnects. No line waits for another, nothing throws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema';
import { resolveTarget } from '../../src/config/load';
import { OverviewMonitor, type OverviewLine } from '../../src/overview';
import { startCluster, type Cluster } from '../support/cluster';
import { hang, restart } from '../support/faults';

describe('the overview with a hung and a restarted target', () => {
  let a: Cluster;
  let b: Cluster;
  let c: Cluster;
  let overview: OverviewMonitor;
  let resume: (() => void) | null = null;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startCluster({ prefix: 'ops-ovh-a-' }), startCluster({ prefix: 'ops-ovh-b-' }), startCluster({ prefix: 'ops-ovh-c-' })]);
  }, 120_000);
  afterAll(async () => {
    resume?.();
    await overview?.stop();
    for (const x of [a, b, c]) x?.stop();
  });

  const until = async (what: string, test: (lines: Record<string, OverviewLine>) => boolean, timeoutMs = 20_000) => {
    const t0 = Date.now();
    for (;;) {
      const lines = Object.fromEntries(overview.getState().lines.map((l) => [l.name, l]));
      if (test(lines)) return lines;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('the live target refreshes while the hung one is old, then judged; both recover', async () => {
    const url = (x: Cluster) => `postgres://${x.user}@127.0.0.1:${x.port}/postgres`;
    const config = ConfigSchema.parse({ probeTimeoutMs: 1500, targets: [{ name: 'live', url: url(a) }, { name: 'hung', url: url(b) }, { name: 'restarted', url: url(c) }] });
    const targets = config.targets.map((t) => resolveTarget(config, { target: t.name }, {}));
    overview = new OverviewMonitor({ config, targets, refreshMs: 1000 });
    overview.start();
    await until('three live lines', (l) => ['live', 'hung', 'restarted'].every((n) => l[n].connections !== null));

    resume = hang(b);
    restart(c);
    const liveAt = overview.getState().lines[0].at!;
    // the hung target: its figures old, then judged (its checks UNKNOWN or pg.up CRITICAL)
    await until('the hung line marked old and judged', (l) => l.hung.stale || l.hung.status === 'UNKNOWN' || l.hung.status === 'CRITICAL');
    // meanwhile the live one kept refreshing
    await until('the live line refreshed', (l) => l.live.at! > liveAt && l.live.status !== null);
    // the restarted one reconnects on its own
    await until('the restarted target back', (l) => l.restarted.connections !== null && l.restarted.status !== null && !l.restarted.stale);

    // a few more live rounds: the hung line never shows figures as if fresh (old, or none)
    const later = await until('a few more live rounds', (l) => l.live.at! > liveAt + 2000);
    expect(later.hung.stale || (later.hung.connections === null && later.hung.status !== 'OK')).toBe(true);
    expect(later.live.stale).toBe(false);

    const resumedAt = Date.now();
    resume();
    resume = null;
    await until('the hung target back, with new figures', (l) => !l.hung.stale && l.hung.at !== null && l.hung.at >= resumedAt && l.hung.connections !== null, 30_000);
  }, 90_000);
});
