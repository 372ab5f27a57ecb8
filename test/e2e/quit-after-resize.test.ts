// End-to-end: the built `ops` in a real pseudo-terminal (tmux), against real PostgreSQL.
// Quitting after a resize from 80x24 to 120x35 leaves nothing of the console on the shell's
// screen, whichever way it quits (q, Ctrl-C, SIGTERM). It used to leave the console's first lines
// there: tmux shrinks the alternate screen back to 80x24 before restoring the shell's screen,
// the console's lines wider than 80 columns wrap, and the top of the frame is pushed into the
// scrollback, from where growing back to 120x35 pulls it onto the shell's screen.
// And Ctrl-C while the UI is still loading (the early header on screen) restores the terminal too:
// it used to end the process with the alternate screen still on.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsLine(env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)}`;
}

describe('quitting after a resize from 80x24 to 120x35 leaves nothing of the console on the shell\'s screen', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let session: TmuxSession | null = null;

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e_quit');
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

  /** A shell in an 80x24 pane, cleared, that prints a marker, then runs ops. */
  async function consoleInShell(): Promise<TmuxSession> {
    const s = new TmuxSession('env PS1="$ " bash --norc --noprofile', { cols: 80, rows: 24 });
    s.send(`clear; echo before-ops; ${opsLine({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color' })}; echo "EXITED:$?"`, 'Enter');
    await waitForScreen(s, (t) => /score \d+%/.test(t) && /q quit/.test(t), 20_000);
    s.resize(120, 35);
    // redrawn at the new size: two columns, the top line the header
    await waitForScreen(s, (t) => t.split('\n').length === 35 && /Host .* Sessions/.test(t) && /^ops .*score \d+%/.test(t));
    return s;
  }

  /** The shell's screen after ops ended: only the shell's lines, as they were before it ran. */
  async function expectClean(s: TmuxSession, code: number): Promise<void> {
    const after = await waitForScreen(s, (t) => /EXITED:\d+\n\$/.test(t));
    expect(s.flags()).toEqual({ alternate: false, cursorVisible: true });
    // the shell cleared its screen (and the command line) before ops ran: its marker, then what
    // it printed after ops, then its prompt; nothing of the console above, between or below
    expect(after.split('\n').filter((l) => l.trim() !== '')).toEqual(['before-ops', `EXITED:${code}`, '$']);
  }

  it('on q', async () => {
    session = await consoleInShell();
    session.send('q');
    await expectClean(session, 0);
  });

  it('on Ctrl-C', async () => {
    session = await consoleInShell();
    session.send('C-c');
    await expectClean(session, 0);
  });

  it('on SIGTERM', async () => {
    session = await consoleInShell();
    const shell = session.tmux('display-message', '-p', '-t', session.name, '#{pane_pid}').trim();
    // ops is the shell's one child (env execs node)
    const child = Number(execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim().split('\n')[0]);
    expect(child).toBeGreaterThan(0);
    process.kill(child, 'SIGTERM');
    await expectClean(session, 143);
  });

  it('on Ctrl-C while the UI is still loading', async () => {
    session = new TmuxSession('env PS1="$ " bash --norc --noprofile', { cols: 80, rows: 24 });
    session.send(`clear; echo before-ops; ${opsLine({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color' })}; echo "EXITED:$?"`, 'Enter');
    // the early header is up for a tenth of a second or so: Ctrl-C as soon as it shows
    const deadline = Date.now() + 20_000;
    while (!session.text().includes('starting…')) {
      if (Date.now() > deadline) throw new Error(`the early header never showed:\n${session.text()}`);
    }
    session.send('C-c');
    // ended by the signal (130) or, once the UI has the keyboard, quit by the key (0)
    const after = await waitForScreen(session, (t) => /EXITED:\d+\n\$/.test(t)).catch((err: Error) => {
      throw new Error(`ops did not leave cleanly (alternate screen ${session!.flags().alternate ? 'still on' : 'off'})\n${err.message}`);
    });
    expect(session.flags()).toEqual({ alternate: false, cursorVisible: true });
    const lines = after.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('before-ops');
    expect(lines[1]).toMatch(/^EXITED:(0|130)$/);
    expect(lines[2]).toBe('$');
  });
});
