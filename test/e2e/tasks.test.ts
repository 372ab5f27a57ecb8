// End-to-end: the console's task screens in a real pseudo-terminal (tmux), against real
// PostgreSQL: run a built-in task from the task list at 80x24, see it in the history, and drop
// the terminal in the middle of a run (SIGHUP): the step finishes and the run is journaled as
// interrupted.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/journal';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsCommand(env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)}; echo "EXITED:$?"; exec sleep 600`;
}

describe('the task screens in a real terminal', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let state: string;
  let marker: string;
  let session: TmuxSession | null = null;
  const env = () => ({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state, TERM: 'xterm-256color' });

  async function history(): Promise<RunSummary[]> {
    const r = await runOps(['history', '--json'], { env: cleanEnv(env()) });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as RunSummary[];
  }

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e_tasks');
    conf = tempConfigDir();
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    marker = join(state, 'slow-step-finished');
    // a task of our own with a step that takes a while, to drop the terminal under it
    const dir = join(conf.dir, 'tasks');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(conf.dir, 0o700);
    writeFileSync(
      join(dir, 'e2e-slow.yaml'),
      [
        'id: e2e-slow',
        'title: A step that takes a while',
        'description: Prints, waits two seconds, leaves a marker file.',
        'risk: low',
        'steps:',
        '  - id: slow',
        '    title: Wait a while',
        `    shell: 'echo slow step started; sleep 2; touch ${marker}; echo slow step finished'`,
        `    rollback: { run: [rm, -f, ${JSON.stringify(marker)}] }`,
        '  - id: after',
        '    title: The step after it',
        '    run: [echo, never]',
        '    readOnly: true',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });
  afterEach(() => {
    session?.kill();
    session = null;
  });
  afterAll(async () => {
    await db?.drop();
    conf?.cleanup();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('t, a low-risk task, Enter, Enter: it runs at 80x24 with its output; h shows it', async () => {
    session = new TmuxSession(opsCommand(env()), { cols: 80, rows: 24 });
    await waitForScreen(session, (t) => /score \d+%/.test(t) && t.includes('t tasks'));
    session.send('t');
    const list = await waitForScreen(session, (t) => /^Tasks · /m.test(t));
    for (const b of ['[low]', '[medium]', '[HIGH]', '[CRITICAL]']) expect(list).toContain(b);
    expect(list).toContain('e2e-slow');
    // analyze: the third built-in task
    session.send('Down');
    session.send('Down');
    await waitForScreen(session, (t) => /^▶ \[low\] +analyze /m.test(t));
    session.send('Enter');
    await waitForScreen(session, (t) => /▶ tables +\(optional\)/.test(t));
    session.send('Enter');
    await waitForScreen(session, (t) => /^Plan · analyze \[low\]/m.test(t) && t.includes('Enter runs it'));
    session.send('Enter');
    const done = await waitForScreen(session, (t) => t.includes('the run succeeded'), 30000);
    expect(session.screen()[0]).toMatch(/^Run · analyze \[low\] · succeeded/);
    expect(done).toMatch(/✓ 1\. Find the tables/);
    expect(done).toMatch(/✓ 2\. ANALYZE VERBOSE/);
    expect(done).toContain('── output');
    session.send('Escape');
    await waitForScreen(session, (t) => /^Tasks · /m.test(t));
    session.send('Escape');
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('h');
    const hist = await waitForScreen(session, (t) => /^History · 1 run/m.test(t));
    expect(hist).toMatch(/analyze +succeeded/);
    expect(session.screen()[0]).toMatch(/^History/);
    session.send('Escape');
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('q');
    expect(await waitForScreen(session, (t) => t.includes('EXITED:'))).toContain('EXITED:0');
    expect(session.flags()).toEqual({ alternate: false, cursorVisible: true });
  });

  it('the terminal goes away mid-step: the step finishes and is journaled, the run ends interrupted', async () => {
    session = new TmuxSession(opsCommand(env()), { cols: 80, rows: 24 });
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('t');
    await waitForScreen(session, (t) => /^Tasks · /m.test(t));
    session.send('G'); // the last task: ours
    await waitForScreen(session, (t) => /^▶ \[low\] +e2e-slow /m.test(t));
    session.send('Enter');
    await waitForScreen(session, (t) => /^Plan · e2e-slow/m.test(t));
    session.send('Enter');
    // the step's own output line (the plan above showed its command, which says the same words)
    await waitForScreen(session, (t) => /^slow step started$/m.test(t));
    // the terminal is gone: tmux hangs up the pane (SIGHUP), as a dropped SSH session does
    session.kill();
    session = null;
    const deadline = Date.now() + 20000;
    let run: RunSummary | undefined;
    while (Date.now() < deadline) {
      run = (await history()).find((r) => r.task === 'e2e-slow');
      if (run && run.outcome !== 'unfinished') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run?.outcome).toBe('interrupted');
    expect(run!.steps[0]).toMatchObject({ id: 'slow', status: 'ok' });
    expect(run!.steps[1]).toMatchObject({ id: 'after', status: 'pending' });
    expect(run!.pendingRollbacks).toBe(1);
    const shown = await runOps(['show', run!.run], { env: cleanEnv(env()) });
    expect(shown.stdout).toContain('slow step finished');
  });
});
