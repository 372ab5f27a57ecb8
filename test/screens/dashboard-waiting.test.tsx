// The dashboard while a source has not answered: the host panel goes on updating, the PostgreSQL
// panel says what it is waiting for and how old the figures it still shows are, and past the
// deadline those figures are marked unknown, never shown as OK.
import net from 'node:net';
import { cleanup, render } from 'ink-testing-library';
import { act } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import { Dashboard } from '../../screens/App';
import { ConfigSchema } from '../../src/config/schema';
import { Monitor } from '../../src/monitor';
import type { Check, MonitorState, SourceWait } from '../../src/types';
import { healthyState } from '../support/fixtures';
import { renderDashboard, stripAnsi, titleOf } from './render';

const teardown: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
  for (const f of teardown.splice(0).reverse()) await f();
});

const PG_GROUPS = ['postgres', 'sessions', 'tables'];

/** healthyState with new host figures, and PostgreSQL's last answer `ageMs` old and still waited for. */
function waitingOnPg(opts: { cpuPct: number; waitedMs: number; ageMs: number; overdue: boolean }): MonitorState {
  const base = healthyState({ cpuPct: opts.cpuPct });
  const now = Date.now();
  const snap = base.snapshot!;
  const pgAt = now - opts.ageMs;
  const wait: SourceWait = {
    id: 'postgres',
    kind: 'postgres',
    label: 'PostgreSQL',
    since: now - opts.waitedMs,
    deadline: now - opts.waitedMs + 4000,
    overdue: opts.overdue,
    lastAnswerAt: pgAt,
  };
  const reason = `no answer from PostgreSQL for ${Math.round(opts.waitedMs / 1000)}s`;
  const checks: Check[] = base.report!.checks.map((c) =>
    opts.overdue && PG_GROUPS.includes(c.group) ? { ...c, status: 'UNKNOWN', summary: reason, value: null, thresholds: null } : c,
  );
  return {
    ...base,
    snapshot: { ...snap, at: now, host: { ...snap.host, at: now }, postgres: { ...snap.postgres!, at: pgAt } },
    report: { ...base.report!, status: opts.overdue ? 'UNKNOWN' : base.report!.status, checks },
    waiting: [wait],
  };
}

describe('a source still waited for', () => {
  test('the host panel updates while PostgreSQL is pending; the PostgreSQL panel says so and keeps its figures, with their age', async () => {
    const d = await renderDashboard(healthyState({ cpuPct: 12.5 }), { columns: 80, rows: 50 });
    expect(titleOf(d.lines(), 'Host')).toContain('cpu 12.5%');
    await act(async () => {
      d.monitor.set(waitingOnPg({ cpuPct: 33.3, waitedMs: 2500, ageMs: 4200, overdue: false }));
    });
    const lines = d.lines();
    expect(titleOf(lines, 'Host')).toContain('cpu 33.3%');
    // the last figures stay on screen, said to be waited on, with their age
    expect(titleOf(lines, 'PostgreSQL')).toMatch(/^..PostgreSQL · waiting 3s · 16\.4 · conns 23/);
    expect(lines.some((l) => /^waiting for PostgreSQL 3s · showing \d\d:\d\d:\d\d, 4s old/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('conns 23/100 23%'))).toBe(true);
    expect(titleOf(lines, 'Sessions')).toMatch(/^..Sessions · waiting 3s · none need attention/);
  });

  test('past the deadline the stale figures are marked unknown, and nothing about PostgreSQL says OK', async () => {
    const d = await renderDashboard(waitingOnPg({ cpuPct: 20, waitedMs: 6000, ageMs: 7000, overdue: true }), { columns: 80, rows: 50 });
    const lines = d.lines();
    expect(lines[0]).toContain('UNKNOWN');
    expect(titleOf(lines, 'PostgreSQL')).toMatch(/^..PostgreSQL \? · no answer for 6s · 16\.4 · conns 23/);
    expect(lines.some((l) => /^no answer from PostgreSQL for 6s · showing \d\d:\d\d:\d\d, 7s old/.test(l))).toBe(true);
    // each stale figure carries the unknown marker, not its old judgement
    expect(lines.some((l) => l.startsWith('conns 23/100 23%?'))).toBe(true);
    for (const t of ['Sessions', 'Tables']) {
      const title = titleOf(lines, t)!;
      // what the last answer said, and when: not a current "none need attention"
      expect(title).toMatch(new RegExp(`^..${t} \\? · no answer for 6s · none needed attention at \\d\\d:\\d\\d:\\d\\d`));
    }
    // the host is unaffected
    expect(titleOf(lines, 'Host')).toContain('cpu 20.0%');
  });

  test('a source that never answered yet: the panel waits for its first answer', async () => {
    const base = healthyState();
    const now = Date.now();
    const state: MonitorState = {
      ...base,
      snapshot: { ...base.snapshot!, postgres: undefined },
      report: {
        ...base.report!,
        checks: [
          ...base.report!.checks.filter((c) => !PG_GROUPS.includes(c.group)),
          { id: 'pg.up', group: 'postgres', label: 'PostgreSQL', status: 'UNKNOWN', summary: 'waiting for the first answer from PostgreSQL (2s)', value: null, unit: '', thresholds: null, subject: null },
        ],
      },
      waiting: [{ id: 'postgres', kind: 'postgres', label: 'PostgreSQL', since: now - 2000, deadline: now + 2000, overdue: false, lastAnswerAt: null }],
    };
    const d = await renderDashboard(state, { columns: 80, rows: 50 });
    const lines = d.lines();
    expect(titleOf(lines, 'PostgreSQL')).toMatch(/^..PostgreSQL \? · no answer yet \(2s\)/);
    expect(lines.some((l) => /^waiting for the first answer from PostgreSQL \(2s\)$/.test(l.trimEnd()))).toBe(true);
    expect(titleOf(lines, 'Host')).toContain('cpu 12.5%');
  });
});

describe('a filesystem that does not answer statfs', () => {
  test('is named in the Disks panel as not answering, with how long, and counted on its title', async () => {
    const base = healthyState();
    const snap = base.snapshot!;
    const host = snap.host.ok ? snap.host.data : null;
    const now = Date.now();
    const state: MonitorState = {
      ...base,
      snapshot: { ...snap, host: { ...snap.host, ok: true, data: { ...host!, stalledMounts: [{ mount: '/mnt/nas', device: 'nas:/export', fstype: 'nfs4', since: now - 12_000 }] } } },
      report: {
        ...base.report!,
        status: 'UNKNOWN',
        checks: [
          ...base.report!.checks,
          { id: 'disk:/mnt/nas', group: 'disk', label: '/mnt/nas', status: 'UNKNOWN', summary: '/mnt/nas (nfs4) is not answering', value: null, unit: '%', thresholds: null, subject: '/mnt/nas' },
        ],
      },
    };
    const d = await renderDashboard(state, { columns: 80, rows: 50 });
    const lines = d.lines();
    expect(titleOf(lines, 'Disks')).toMatch(/^..Disks \? · 3 filesystems · fullest \/var 55% · 1 not answering\?/);
    const row = lines.find((l) => l.includes('/mnt/nas'));
    expect(row).toMatch(/^\? +\/mnt\/nas +not answering for 12s \(statfs\) +nfs4 nas:\/export/);
    // after the filesystems in trouble, before the healthy ones
    expect(lines.indexOf(row!)).toBeLessThan(lines.findIndex((l) => /^ +\/var /.test(l)));
  });
});

describe('the real monitor, with a PostgreSQL that accepts connections and never answers', () => {
  test('the host panel shows and updates its figures while the PostgreSQL probe is still pending', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume(); // read the startup packet, say nothing
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    teardown.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });
    const port = (server.address() as net.AddressInfo).port;
    const monitor = new Monitor({
      // the probe would give up after 20 s: far beyond this test
      config: ConfigSchema.parse({ probeTimeoutMs: 20_000 }),
      target: {
        name: 'silent',
        source: 'flag',
        connection: { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' },
        display: `postgres://postgres@127.0.0.1:${port}/postgres`,
        database: 'postgres',
        secrets: [],
      },
      refreshMs: 150,
    });
    teardown.push(() => monitor.stop());

    let r!: ReturnType<typeof render>;
    await act(async () => {
      r = render(<Dashboard monitor={monitor} onQuit={() => undefined} columns={80} rows={50} />);
    });
    // host answers published while PostgreSQL has not answered once
    const hostAnswers = new Set<number>();
    await act(async () => {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out waiting for two host answers while PostgreSQL is pending (saw ${hostAnswers.size})`));
        }, 10_000);
        const off = monitor.subscribe(() => {
          const s = monitor.getState();
          const pgPending = s.waiting?.some((w) => w.id === 'postgres' && w.lastAnswerAt === null) && !s.snapshot?.postgres;
          if (pgPending && s.snapshot?.host.ok) hostAnswers.add(s.snapshot.host.at);
          if (hostAnswers.size >= 2) {
            clearTimeout(timer);
            off();
            resolve();
          }
        });
        monitor.start();
      });
      // stopped here, so no publish lands outside act() from now on
      await monitor.stop();
    });
    const lines = stripAnsi(r.lastFrame() ?? '').split('\n');
    expect(lines[0]).not.toContain('collecting…');
    expect(titleOf(lines, 'Host')).toMatch(/cpu \d+\.\d%.* · mem \d+\.\d%/);
    expect(titleOf(lines, 'PostgreSQL')).toMatch(/^..PostgreSQL \? · no answer yet \(\d+s\)/);
    expect(lines.some((l) => /^waiting for the first answer from PostgreSQL \(\d+s\)/.test(l))).toBe(true);
    // the verdict says PostgreSQL is not known, never OK for it
    const up = monitor.getState().report!.checks.find((c) => c.id === 'pg.up');
    expect(hostAnswers.size).toBeGreaterThanOrEqual(2);
    expect(up).toMatchObject({ status: 'UNKNOWN', summary: expect.stringMatching(/^waiting for the first answer from PostgreSQL/) });
  });
});
