// Drives the built `ops` in a real pseudo-terminal through tmux: send-keys to type,
// capture-pane to read the screen. Each session lives on its own tmux server socket.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function haveTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export class TmuxSession {
  readonly socket = `ops-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly name = 'ops';

  constructor(command: string, opts: { cols: number; rows: number; env?: Record<string, string> }) {
    const envArgs = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    this.tmux('new-session', '-d', '-s', this.name, '-x', String(opts.cols), '-y', String(opts.rows), ...envArgs, command);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** the visible screen, one string per row */
  screen(): string[] {
    return this.tmux('capture-pane', '-p', '-t', this.name).replace(/\n$/, '').split('\n');
  }

  text(): string {
    return this.screen().join('\n');
  }

  /** send keys as tmux names them: 'q', 'Tab', 'C-c', 'Escape', 'Down' */
  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** tmux's own view of the pane: alternate screen on, cursor visible */
  flags(): { alternate: boolean; cursorVisible: boolean } {
    const [alt, cur] = this.tmux('display-message', '-p', '-t', this.name, '#{alternate_on} #{cursor_flag}').trim().split(' ');
    return { alternate: alt === '1', cursorVisible: cur === '1' };
  }

  resize(cols: number, rows: number): void {
    this.tmux('resize-window', '-t', this.name, '-x', String(cols), '-y', String(rows));
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      /* already gone */
    }
  }
}

/** Polls until the screen satisfies `pred`; fails with the last screen. Never a fixed sleep. */
export async function waitForScreen(s: TmuxSession, pred: (text: string) => boolean, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = s.text();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`screen did not reach the expected state within ${timeoutMs} ms; last screen:\n${last}`);
}
