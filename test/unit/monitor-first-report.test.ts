// The console draws its first frame once the monitor's first round has published (issue 14):
// Monitor.firstReport resolves then, with the report in the state, and never later than asked,
// whatever a source does (here PostgreSQL on a port nobody listens on).
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema';
import { Monitor } from '../../src/monitor';

const monitors: Monitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(): Monitor {
  const m = new Monitor({
    config: ConfigSchema.parse({ probeTimeoutMs: 3000 }),
    refreshMs: 2000,
    target: {
      name: 'nowhere',
      source: 'flag',
      connection: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' },
      display: 'postgres://postgres@127.0.0.1:1/postgres',
      database: 'postgres',
      secrets: [],
    },
  });
  monitors.push(m);
  return m;
}

describe('Monitor.firstReport', () => {
  it('resolves once the first round has published, with its report', async () => {
    const m = monitor();
    const first = m.firstReport(10_000);
    m.start();
    await first;
    const report = m.getState().report;
    expect(report).not.toBeNull();
    expect(report!.checks.some((c) => c.group === 'postgres')).toBe(true);
    // once there is a report it resolves at once
    await m.firstReport(10_000);
  });

  it('gives up after its wait when no round runs', async () => {
    const m = monitor();
    await m.firstReport(30);
    expect(m.getState().report).toBeNull();
  });
});
