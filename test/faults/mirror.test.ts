// Faults of the journal mirror (issue 15 §2), with the built ops: the mirror's server stopped,
// hung (SIGSTOP) and restarted, a cursor lost (a crash between the commit and its write), and
// rows in the table written by someone else. A run never waits on the mirror and always
// journals locally; what waited arrives once, in order, when the mirror is back.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { hang, journalEvents, startAgain, stopNow } from '../support/faults';
import { cleanEnv, runOps } from '../support/ops';
import { createTestDatabase, type TestDatabase } from '../support/pg';

describe('the journal mirror under faults', () => {
  let mirror: Cluster;
  let db: TestDatabase;
  let root: string;
  let state: string;
  let env: NodeJS.ProcessEnv;
  let resume: (() => void) | null = null;

  beforeAll(async () => {
    mirror = await startCluster({ prefix: 'ops-mirf-' });
    // the target is a database of the tests' own: analyze changes nothing that matters
    db = await createTestDatabase('mirror_faults');
    root = mkdtempSync(join(tmpdir(), 'ops-mirf-'));
    state = join(root, 'state');
    writeFileSync(join(root, 'config.json'), JSON.stringify({ probeTimeoutMs: 1000, thresholds: { journalMirrorLagMin: { warning: 0.0001, critical: 1000 } }, journal: { mirror: `postgres://${mirror.user}@127.0.0.1:${mirror.port}/postgres` } }), { mode: 0o600 });
    env = cleanEnv({ OPS_CONFIG_DIR: root, OPS_STATE_DIR: state, DATABASE_URL: db.url });
  }, 120_000);
  afterAll(async () => {
    resume?.();
    await db?.drop();
    mirror?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const mirrorRows = async () => {
    const c = new pg.Client({ connectionString: `postgres://${mirror.user}@127.0.0.1:${mirror.port}/postgres` });
    await c.connect();
    try {
      return (await c.query<{ id: string; run: string; seq: number; type: string }>('SELECT id, run, seq, type FROM ops.journal_events ORDER BY id')).rows;
    } finally {
      await c.end();
    }
  };

  /** Every local event is in the mirror exactly once, and each run's rows arrived in seq order. */
  const expectExactlyOnce = async () => {
    const local = journalEvents(state);
    const got = await mirrorRows();
    expect(got.map((r) => `${r.run}#${r.seq}`).sort()).toEqual(local.map((e) => `${e.run}#${e.seq}`).sort());
    for (const run of new Set(local.map((e) => String(e.run)))) {
      const seqs = got.filter((r) => r.run === run).map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  };

  const analyze = async () => {
    const r = await runOps(['run', 'analyze', '--yes', '--json'], { env, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).run as string;
    expect(journalEvents(state).filter((e) => e.run === run && e.type === 'run.end')).toHaveLength(1);
    return { run, stderr: r.stderr };
  };

  it('with the mirror stopped a run completes and journals locally; after the restart its events arrive once', async () => {
    await analyze(); // the schema, and a first run, in place
    await expectExactlyOnce();

    stopNow(mirror);
    const down = await analyze();
    // one line says the mirror is behind and that the events wait locally
    const warned = down.stderr.split('\n').filter((l) => /journal mirror/.test(l));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/wait.* locally/);
    const second = await analyze();
    expect((await runOps(['history'], { env })).stdout).toContain(second.run);

    // ops check (and the dashboard) say the mirror is behind, from the local files alone
    const behind = await runOps(['check', '--only', 'backup', '--json'], { env, timeoutMs: 30_000 });
    const lag = (JSON.parse(behind.stdout).checks as { id: string; status: string; summary: string; value: number }[]).find((c) => c.id === 'journal.mirror');
    expect(lag).toMatchObject({ status: 'WARNING' });
    expect(lag!.summary).toMatch(/: \d+ events of this host's journal not sent, the oldest waiting/);
    expect(behind.code).toBe(1);

    startAgain(mirror);
    // the next command that touches the journal sends what waited
    const h = await runOps(['history'], { env, timeoutMs: 30_000 });
    expect(h.code, h.stderr).toBe(0);
    expect(h.stderr).not.toMatch(/journal mirror/);
    await expectExactlyOnce();
    const caught = await runOps(['check', '--only', 'backup', '--json'], { env, timeoutMs: 30_000 });
    expect((JSON.parse(caught.stdout).checks as { id: string; status: string; summary: string }[]).find((c) => c.id === 'journal.mirror')).toMatchObject({ status: 'OK', summary: expect.stringMatching(/has every event/) });
    const runs = new Set((await mirrorRows()).map((r) => r.run));
    expect(runs.has(down.run) && runs.has(second.run)).toBe(true);
  }, 120_000);

  it('a lost cursor (a crash after the commit) sends again, and the table still has each event once', async () => {
    await analyze();
    for (const f of readdirSync(join(state, 'mirror'))) writeFileSync(join(state, 'mirror', f), JSON.stringify({ v: 1, sent: 0, head: 'x' }));
    const r = await runOps(['history'], { env, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    await expectExactlyOnce();
  }, 60_000);

  it('with the mirror hung (SIGSTOP) a run still completes, bounded; after SIGCONT what waited arrives', async () => {
    resume = hang(mirror);
    const hung = await analyze();
    expect(hung.stderr).toMatch(/journal mirror .*(no answer|did not answer).*wait.* locally/);
    resume();
    resume = null;
    await runOps(['history'], { env, timeoutMs: 30_000 });
    await expectExactlyOnce();
    expect((await mirrorRows()).some((r) => r.run === hung.run)).toBe(true);
  }, 90_000);

  it("rows someone else wrote into the table are skipped or sanitized, never trusted", async () => {
    const c = new pg.Client({ connectionString: `postgres://${mirror.user}@127.0.0.1:${mirror.port}/postgres` });
    await c.connect();
    try {
      const evil = {
        v: 1,
        ts: new Date().toISOString(),
        seq: 1,
        run: '20991231-000000-evil-0000',
        type: 'run.start',
        task: 'analyze\u001b[2J\u001b]0;pwned\u0007',
        title: 'x',
        risk: 'low',
        params: {},
        target: 'postgres://u:hunter22@h/db',
        operator: null,
        steps: [],
        dryRun: false,
      };
      await c.query(`INSERT INTO ops.journal_events (source, host, pos, run, seq, ts, type, target, event) VALUES ('evil/1', 'evil\u001b[31m', 0, $1, 1, now(), 'run.start', null, $2)`, [evil.run, JSON.stringify(evil)]);
      await c.query(`INSERT INTO ops.journal_events (source, host, pos, run, seq, ts, type, target, event) VALUES ('evil/1', 'evil', 1, 'other', 1, now(), 'run.start', null, '{"v":1,"type":"run.start","run":"not-the-row","seq":"x"}')`);
    } finally {
      await c.end();
    }
    const r = await runOps(['history', '--all-hosts'], { env, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('20991231-000000-evil-0000');
    expect(r.stdout).not.toMatch(/\u001b|\u0007/);
    expect(r.stdout).not.toContain('hunter22');
    expect(r.stdout).not.toContain('not-the-row');
  }, 60_000);
});
