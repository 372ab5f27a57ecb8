// Fault: a filesystem whose statfs never returns (an NFS server that stopped answering). The host
// probe still answers, with CPU, memory and the other disks; the hung mount is named as not
// answering, judged UNKNOWN, and not asked again (one stuck thread, not one per round) until its
// call returns, when it is reported as usual.
import { mkdtempSync, rmSync, writeFileSync, type StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema';
import { Collector } from '../../src/monitor';
import { HostProbe } from '../../src/probes/host';
import type { HostData, ProbeResult } from '../../src/types';

let proc: string;

beforeAll(() => {
  proc = mkdtempSync(join(tmpdir(), 'ops-proc-'));
  writeFileSync(join(proc, 'stat'), 'cpu  100 0 0 100 0 0 0 0 0 0\n');
  writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemAvailable: 500 kB\n');
  writeFileSync(join(proc, 'loadavg'), '0.10 0.20 0.30 1/100 1\n');
  writeFileSync(join(proc, 'uptime'), '100.0 50.0\n');
  writeFileSync(join(proc, 'mounts'), '/dev/sda1 / ext4 rw 0 0\nnas:/export /mnt/nas nfs4 rw 0 0\n');
});

afterAll(() => {
  rmSync(proc, { recursive: true, force: true });
});

/** The probe's answer, or 'no answer' past the test's own bound. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'no answer'>((r) => (timer = setTimeout(() => r('no answer'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function data(r: ProbeResult<HostData> | 'no answer'): HostData {
  if (r === 'no answer') throw new Error('the host probe did not answer');
  if (!r.ok) throw new Error(r.error);
  return r.data;
}

describe('host probe with a filesystem that does not answer', () => {
  it('answers without it, names it, asks it once until it returns, then reports it again', async () => {
    const calls = new Map<string, number>();
    let release: (() => void) | null = null;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const real = await statfs('/');
    let stuck: Promise<StatsFs> | null = null;
    const fakeStatfs = (path: string): Promise<StatsFs> => {
      calls.set(path, (calls.get(path) ?? 0) + 1);
      if (path === '/mnt/nas' && !stuck) return (stuck = hung.then(() => real));
      return Promise.resolve(real);
    };
    const probe = new HostProbe({ timeoutMs: 400, procRoot: proc, statfs: fakeStatfs });

    const first = data(await within(probe.probe(), 5000));
    expect(first.memUsedPct).toBe(50);
    expect(first.filesystems.map((f) => f.mount)).toEqual(['/']);
    expect(first.stalledMounts).toEqual([{ mount: '/mnt/nas', device: 'nas:/export', fstype: 'nfs4', since: expect.any(Number) }]);
    const since = first.stalledMounts![0].since;

    // judged UNKNOWN, with the reason, by the collector that ops check and the console share
    const collector = new Collector({ config: ConfigSchema.parse({}), target: null, only: new Set(['host', 'disk']) });
    const report = collector.evaluate({ at: Date.now(), host: { ok: true, data: first, at: Date.now(), ms: 1 }, http: [], tls: [] });
    expect(report.checks.find((c) => c.id === 'disk:/mnt/nas')).toMatchObject({
      status: 'UNKNOWN',
      summary: expect.stringMatching(/^\/mnt\/nas \(nfs4\) is not answering: statfs waited on for \d+s$/),
    });
    expect(report.checks.find((c) => c.id === 'disk:/')?.status).toBe('OK');
    expect(report.status).toBe('UNKNOWN');

    // the next rounds answer at once and do not ask the hung mount again
    const second = data(await within(probe.probe(), 5000));
    const third = data(await within(probe.probe(), 5000));
    expect(calls.get('/mnt/nas')).toBe(1);
    expect(calls.get('/')).toBe(3);
    expect(second.stalledMounts).toEqual(first.stalledMounts);
    expect(third.stalledMounts?.[0].since).toBe(since);

    // its call returns: the next round asks it again and reports it
    release!();
    await stuck;
    await new Promise((r) => setImmediate(r)); // the probe's own handler of that call runs first
    const back = data(await within(probe.probe(), 5000));
    expect(back.filesystems.map((f) => f.mount).sort()).toEqual(['/', '/mnt/nas']);
    expect(back.stalledMounts).toBeUndefined();
    expect(calls.get('/mnt/nas')).toBe(2);
  });
});
