// Fault: PostgreSQL stops answering (SIGSTOP on the postmaster and every backend) under a running
// monitor. Each source publishes when it answers, so the host keeps its refresh interval while
// the database hangs; the PostgreSQL probe gives up at its deadline with the reason, is never
// started twice at once, and the monitor recovers after SIGCONT.
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../src/config/schema';
import { Monitor } from '../../src/monitor';
import { PostgresProbe } from '../../src/probes/postgres';
import type { MonitorState } from '../../src/types';
import { findPgBin, startCluster, type Cluster } from '../support/cluster';

/** The postmaster (postmaster.pid's first line) and its children: every backend and helper. */
function serverPids(cluster: Cluster): number[] {
  const postmaster = Number(readFileSync(`${cluster.data}/postmaster.pid`, 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/** Every state the monitor publishes, and a wait for one that satisfies a condition. */
function recorder(monitor: Monitor) {
  const states: MonitorState[] = [];
  const waiters = new Set<() => void>();
  monitor.subscribe(() => {
    states.push(monitor.getState());
    for (const w of [...waiters]) w();
  });
  function until<T>(what: string, test: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v: T | null | undefined | false;
        try {
          v = test();
        } catch (err) {
          cleanup();
          reject(err);
          return;
        }
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }
  return { states, until };
}

const PROBE_TIMEOUT_MS = 1000;
const REFRESH_MS = 200;

describe.skipIf(!findPgBin())('the monitor while PostgreSQL is stopped (SIGSTOP)', () => {
  let cluster: Cluster | undefined;
  let monitor: Monitor | undefined;
  let stopped: number[] = [];
  const admin: pg.Client[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    // whatever happened: the server runs again before it is stopped
    signal(stopped, 'SIGCONT');
    await monitor?.stop();
    await Promise.all(admin.map((c) => c.end().catch(() => undefined)));
    cluster?.stop();
    vi.restoreAllMocks();
  });

  it('keeps the host on its interval, gives PostgreSQL up at its deadline with the reason, never piles up probes, and recovers', { timeout: 60_000 }, async () => {
    const c = cluster!;
    // how many PostgreSQL probes are unanswered at once, at most
    let inFlight = 0;
    let maxInFlight = 0;
    const original = PostgresProbe.prototype.probe;
    vi.spyOn(PostgresProbe.prototype, 'probe').mockImplementation(function (this: PostgresProbe) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return original.call(this).finally(() => {
        inFlight -= 1;
      });
    });

    const config = ConfigSchema.parse({ probeTimeoutMs: PROBE_TIMEOUT_MS });
    monitor = new Monitor({
      config,
      target: {
        name: 'fault',
        source: 'flag',
        connection: { host: c.host, port: c.port, user: c.user, database: 'postgres' },
        display: `postgres://${c.user}@${c.host}:${c.port}/postgres`,
        database: 'postgres',
        secrets: [],
      },
      refreshMs: REFRESH_MS,
    });
    const { states, until } = recorder(monitor);
    monitor.start();

    // 1. healthy: both sources answer
    await until('a round with host and PostgreSQL data', () => {
      const s = monitor!.getState().snapshot;
      return s?.host.ok && s.postgres?.ok;
    }, 15_000);

    // 2. the server stops answering
    stopped = serverPids(c);
    expect(stopped.length).toBeGreaterThan(1);
    signal(stopped, 'SIGSTOP');
    const stoppedAt = Date.now();
    const from = states.length;

    // The host keeps publishing while one PostgreSQL probe hangs: three host answers or more
    // are published while PostgreSQL's last answer stays the same and a probe of it is waited for.
    await until('3 host answers published while one PostgreSQL probe hangs', () => {
      const byPgAnswer = new Map<number, Set<number>>();
      for (const s of states.slice(from)) {
        const snap = s.snapshot!;
        const waiting = s.waiting?.some((w) => w.id === 'postgres' && w.since >= stoppedAt);
        if (!waiting || !snap.host.ok || !snap.postgres) continue;
        const hosts = byPgAnswer.get(snap.postgres.at) ?? new Set<number>();
        hosts.add(snap.host.at);
        byPgAnswer.set(snap.postgres.at, hosts);
      }
      return [...byPgAnswer.values()].some((h) => h.size >= 3);
    }, 15_000);
    // meanwhile the panel is told what is waited for, and since when
    const wait = monitor.getState().waiting?.find((w) => w.id === 'postgres');
    expect(wait).toMatchObject({ kind: 'postgres', label: 'PostgreSQL' });
    expect(wait!.lastAnswerAt).not.toBeNull();

    // Past its deadline PostgreSQL is not judged from its last answer: pg.up says why it is
    // down, every other PostgreSQL check is UNKNOWN, and the verdict is not OK.
    const given = await until('PostgreSQL given up on', () => {
      const s = monitor!.getState();
      const p = s.snapshot?.postgres;
      return p && !p.ok && p.at >= stoppedAt ? s : null;
    }, 15_000);
    const pgError = given.snapshot!.postgres!;
    expect(pgError.ok).toBe(false);
    if (!pgError.ok) {
      expect(pgError.error).toMatch(/^timed out after 1000 ms/);
      expect(pgError.error).not.toContain('\n');
    }
    const pgChecks = given.report!.checks.filter((ch) => ['postgres', 'sessions', 'tables'].includes(ch.group));
    expect(pgChecks.find((ch) => ch.id === 'pg.up')).toMatchObject({ status: 'CRITICAL', summary: expect.stringContaining('timed out after 1000 ms') });
    const others = pgChecks.filter((ch) => ch.id !== 'pg.up');
    expect(others.length).toBeGreaterThan(0);
    for (const ch of others) expect(ch.status, ch.id).toBe('UNKNOWN');
    expect(given.report!.status).not.toBe('OK');

    // The host stays on its interval while PostgreSQL goes on failing (reconnects time out too).
    const hostBefore = new Set(states.filter((s) => s.snapshot?.host.ok).map((s) => (s.snapshot!.host.ok ? s.snapshot!.host.at : 0)));
    await until('3 more host answers while PostgreSQL is stopped', () => {
      let fresh = 0;
      for (const s of states) if (s.snapshot?.host.ok && !hostBefore.has(s.snapshot.host.at)) fresh++;
      return fresh >= 3;
    }, 10_000);
    // no state since the stop judged PostgreSQL's checks OK from an answer older than its deadline
    for (const s of states.slice(from)) {
      const snap = s.snapshot!;
      if (snap.postgres && snap.postgres.ok && s.snapshot!.at - snap.postgres.at > PROBE_TIMEOUT_MS + 1000) {
        const ok = s.report!.checks.filter((ch) => ['postgres', 'sessions', 'tables'].includes(ch.group) && ch.status === 'OK');
        expect(ok.map((ch) => ch.id)).toEqual([]);
      }
    }
    // one probe at a time, never a second one against the hung server
    expect(maxInFlight).toBe(1);

    // 3. the server answers again: PostgreSQL recovers on its own
    signal(stopped, 'SIGCONT');
    const resumedAt = Date.now();
    stopped = [];
    await until('PostgreSQL data again after SIGCONT', () => {
      const s = monitor!.getState();
      const p = s.snapshot?.postgres;
      return p?.ok && p.at >= resumedAt && s.report!.checks.find((ch) => ch.id === 'pg.up')?.status === 'OK';
    }, 20_000);
    expect(maxInFlight).toBe(1);

    // the abandoned connections are gone: the probe holds exactly one
    const observer = new pg.Client({ host: c.host, port: c.port, user: c.user, database: 'postgres', application_name: 'fault-observer' });
    admin.push(observer);
    await observer.connect();
    const probeBackends = async () =>
      (await observer.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'ops-console'`)).rows[0].n;
    let n = await probeBackends();
    for (let i = 0; i < 50 && n !== 1; i++) {
      // backends for the connections the probe gave up on end once they see the closed socket:
      // look again after the next round
      const seen = states.length;
      await until('the next publish', () => states.length > seen, 5_000);
      n = await probeBackends();
    }
    expect(n).toBe(1);
  });
});
