// `ops rollback` at a terminal opens the emergency rollback screen (issue 13 §6): after a headless
// set-setting of work_mem on a throwaway cluster (no postgresql.auto.conf entry: the undo resets it) (ALTER SYSTEM changes the whole cluster), typing
// `ops rollback` in tmux, Enter and y roll the newest run back; the journal shows the rollback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/journal';
import { startCluster, type Cluster } from '../support/cluster';
import { OPS_BIN, assertBuilt, cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('ops rollback at a terminal', () => {
  let cluster: Cluster;
  let conf: ReturnType<typeof tempConfigDir>;
  let state: string;
  let session: TmuxSession | null = null;
  let url: string;
  const env = () => ({ DATABASE_URL: url, OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state, TERM: 'xterm-256color' });

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests');
    cluster = await startCluster({ prefix: 'ops-e2e-rollback-' });
    url = `postgresql://${cluster.user}@${cluster.host}:${cluster.port}/postgres`;
    conf = tempConfigDir();
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
  }, 120_000);
  afterAll(() => {
    session?.kill();
    cluster?.stop();
    conf?.cleanup();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('ops rollback, Enter, y: the newest run (work_mem 4MB → 64kB) is rolled back, and the journal says so', async () => {
    const run = await runOps(['run', 'set-setting', '--param', 'name=work_mem', '--param', 'value=64kB', '--yes'], { env: cleanEnv(env()) });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const vars = Object.entries(env()).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
    session = new TmuxSession(`env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)} rollback; echo "EXITED:$?"; exec sleep 600`, { cols: 100, rows: 30 });
    await waitForScreen(session, (t) => t.includes('Emergency rollback') && t.includes('work_mem 4MB → 64kB'));
    session.send('Enter');
    await waitForScreen(session, (t) => t.includes('Rollback · set-setting') && t.includes('ALTER SYSTEM RESET "work_mem"') && t.includes('y runs them'));
    expect(session.text()).not.toContain('The run stopped');
    session.send('y');
    await waitForScreen(session, (t) => /rolled back/.test(t), 30_000);
    const h = await runOps(['history', '--json'], { env: cleanEnv(env()) });
    const runs = JSON.parse(h.stdout) as RunSummary[];
    expect(runs[0].task).toBe('set-setting');
    expect(runs[0].steps.find((s) => s.id === 'alter')?.rolledBack).toBe(true);
    expect(runs[0].outcome).toBe('rolled back');
  }, 120_000);
});
