// End-to-end: the built `ops` in a real pseudo-terminal (tmux), against real PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/cluster';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsCommand(env: Record<string, string>, args: string[] = []): string {
  // CI stays set when the suite runs in CI: the console must work regardless (bin/main.ts)
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)} ${args.map(shq).join(' ')}; echo "EXITED:$?"; exec sleep 600`;
}

describe('the console in a real terminal', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let session: TmuxSession | null = null;

  beforeAll(async () => {
    assertBuilt();
    // the test set-up installs tmux when it can (test/support/global-setup.ts)
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e');
    conf = tempConfigDir();
  });
  afterEach(() => {
    session?.kill();
    session = null;
  });
  afterAll(async () => {
    await db?.drop();
    conf?.cleanup();
  });

  it('shows the dashboard at 80x24 against real PostgreSQL and quits on q, restoring the terminal', async () => {
    // CI=true as on a CI runner: the console must still draw every frame
    session = new TmuxSession(opsCommand({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color', CI: 'true' }), { cols: 80, rows: 24 });
    const screen = await waitForScreen(session, (t) => /score \d+%/.test(t) && /PostgreSQL/.test(t) && t.includes(db.name));
    expect(session.flags().alternate).toBe(true);
    expect(screen).toMatch(/\b(OK|WARNING|CRITICAL|UNKNOWN)\b/);
    expect(screen).toContain('Disks');
    // the live region stays below the terminal height: the top line is the header, not scrolled away
    expect(session.screen()[0]).toMatch(/^ops /);
    // after further refreshes the frame is redrawn in place: one header, at the top, nothing stale
    const time = /score \d+% · (\d\d:\d\d:\d\d)/.exec(screen)![1];
    const later = await waitForScreen(session, (t) => /score \d+% · (\d\d:\d\d:\d\d)/.exec(t)?.[1] !== time);
    expect(later.match(/score \d+%/g)).toHaveLength(1);
    expect(later.match(/q quit/g)).toHaveLength(1);
    expect(later).not.toContain('collecting');
    expect(session.screen()[0]).toMatch(/^ops .*score \d+%/);

    session.send('?');
    await waitForScreen(session, (t) => /help/i.test(t) && /quit/.test(t) && /pause/.test(t));
    session.send('?');
    await waitForScreen(session, (t) => t.includes('Disks'));

    session.send('q');
    const after = await waitForScreen(session, (t) => t.includes('EXITED:'));
    expect(after).toContain('EXITED:0');
    const flags = session.flags();
    expect(flags.alternate).toBe(false);
    expect(flags.cursorVisible).toBe(true);
    // the normal screen is back: no dashboard left on it
    expect(after).not.toMatch(/score \d+%/);
  });

  it('Ctrl-C quits cleanly too', async () => {
    session = new TmuxSession(opsCommand({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir }), { cols: 100, rows: 30 });
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('C-c');
    const after = await waitForScreen(session, (t) => t.includes('EXITED:'));
    expect(after).toContain('EXITED:0');
    expect(session.flags()).toEqual({ alternate: false, cursorVisible: true });
  });

  it('with the database down, the PostgreSQL panel says why and the rest stays live', async () => {
    const port = await freePort(); // nothing listens there
    session = new TmuxSession(opsCommand({ DATABASE_URL: `postgres://ops:NotShown99@127.0.0.1:${port}/gone`, OPS_CONFIG_DIR: conf.dir }), { cols: 120, rows: 35 });
    const screen = await waitForScreen(session, (t) => /unavailable/i.test(t) && /CRITICAL/.test(t));
    expect(screen).toMatch(new RegExp(`refused.*127\\.0\\.0\\.1:${port}|127\\.0\\.0\\.1:${port}.*refused`));
    expect(screen).toMatch(/cpu\s+\d/i);
    expect(screen).not.toContain('NotShown99');
    session.send('q');
    expect(await waitForScreen(session, (t) => t.includes('EXITED:'))).toContain('EXITED:0');
  });

  it('follows a terminal resize without overflowing', async () => {
    session = new TmuxSession(opsCommand({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir }), { cols: 120, rows: 35 });
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    for (const [cols, rows] of [[80, 24], [100, 40], [90, 20]]) {
      session.resize(cols, rows);
      const t = await waitForScreen(session, (x) => x.split('\n').length === rows && /^ops .*score \d+%/.test(x) && /q quit/.test(x));
      // redrawn whole after the resize: one header at the top, no line from the old size left over
      expect(t.match(/score \d+%/g)).toHaveLength(1);
      expect(t.split('\n')[0]).toMatch(/^ops .*score \d+%/);
    }
    session.send('q');
    expect(await waitForScreen(session, (t) => t.includes('EXITED:'))).toContain('EXITED:0');
  });
});
