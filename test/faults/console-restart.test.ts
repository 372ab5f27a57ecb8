// End-to-end, in a real pseudo-terminal (tmux): a task run from the console while its server
// restarts under a shell step, then the server stopped for good under the next run. The console
// never exits: the first run reconnects and succeeds, the second fails in one line with its lock
// released, and q still quits cleanly.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { journalEvents, lockFiles, opsHome, restart, startAgain, stopNow, type OpsHome } from '../support/faults';
import { assertBuilt, OPS_BIN } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

let cluster: Cluster;
let home: OpsHome;
let session: TmuxSession | null = null;

beforeAll(async () => {
  assertBuilt();
  if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
  cluster = await startCluster({ prefix: 'ops-fault-console-' });
  home = opsHome(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`, { taskConnectTimeoutMs: 2000 });
  home.task(
    'zz-wait-flag',
    `
id: zz-wait-flag
title: SQL, a shell step that waits for a flag file, SQL again
risk: low
steps:
  - id: first
    title: First statement
    sql: "SELECT 1"
    readOnly: true
  - id: wait
    title: Wait for the flag
    shell: 'echo waiting for the flag; while [ ! -e ${JSON.stringify(join(home.root, 'flag'))} ]; do sleep 0.1; done'
    readOnly: true
    timeout: 60
  - id: second
    title: Second statement
    sql: "SELECT 2"
    readOnly: true
`,
  );
}, 120_000);

afterEach(() => {
  session?.kill();
  session = null;
});

afterAll(() => {
  cluster?.stop();
  home?.cleanup();
});

function console80x24(): TmuxSession {
  const env = home.env({ TERM: 'xterm-256color' });
  const vars = ['OPS_CONFIG_DIR', 'OPS_STATE_DIR', 'DATABASE_URL', 'TERM'].map((k) => `${k}=${shq(String(env[k]))}`).join(' ');
  return new TmuxSession(`env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE ${vars} ${shq(OPS_BIN)}; echo "EXITED:$?"; exec sleep 600`, { cols: 80, rows: 24 });
}

async function startTask(s: TmuxSession): Promise<void> {
  s.send('t');
  await waitForScreen(s, (t) => /^Tasks · /m.test(t));
  s.send('G'); // the last task: ours
  await waitForScreen(s, (t) => /^▶ \[low\] +zz-wait-flag /m.test(t));
  s.send('Enter');
  await waitForScreen(s, (t) => /^Plan · zz-wait-flag/m.test(t));
  s.send('Enter');
  await waitForScreen(s, (t) => /^waiting for the flag$/m.test(t), 20_000);
}

describe('the console while its task loses the server', () => {
  it('a restart mid-step: the run reconnects and succeeds; an immediate stop: the run fails in one line; the console stays up', async () => {
    session = console80x24();
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    await startTask(session);
    restart(cluster);
    writeFileSync(join(home.root, 'flag'), '');
    const ok = await waitForScreen(session, (t) => t.includes('the run succeeded'), 30_000);
    expect(ok).not.toContain('EXITED:');
    expect(journalEvents(home.stateDir).some((e) => e.type === 'note' && /connection was lost/.test(String(e.text)))).toBe(true);

    session.send('Escape');
    await waitForScreen(session, (t) => /^Tasks · /m.test(t));
    // the flag is still there: remove it, so the next run waits again
    const { rmSync } = await import('node:fs');
    rmSync(join(home.root, 'flag'));
    session.send('Escape');
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    await startTask(session);
    try {
      stopNow(cluster);
      writeFileSync(join(home.root, 'flag'), '');
      const failed = await waitForScreen(session, (t) => /failed/.test(t) && !/running/.test(t.split('\n')[0]), 30_000);
      expect(failed).not.toContain('EXITED:');
      const ends = journalEvents(home.stateDir).filter((e) => e.type === 'run.end');
      expect(ends.map((e) => e.outcome)).toEqual(['succeeded', 'failed']);
      expect(lockFiles(home.stateDir)).toEqual([]);
    } finally {
      startAgain(cluster);
    }
    session.send('Escape');
    session.send('Escape');
    session.send('Escape');
    await waitForScreen(session, (t) => /score \d+%/.test(t), 20_000);
    session.send('q');
    expect(await waitForScreen(session, (t) => t.includes('EXITED:'))).toContain('EXITED:0');
  });
});
