// The interactive console's entry point (lazily imported by the CLI): alternate screen, Ink render,
// monitor lifecycle, and a terminal restored on every exit path.
import { render, type Instance } from 'ink';
import type { MonitorLike } from '../src/types';
import { Dashboard } from './Dashboard';

export const NOT_A_TTY_MESSAGE =
  'ops: the console needs an interactive terminal; for scripts and monitoring use "ops check" (or "ops check --json")';

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_ALT_SCREEN = '\x1b[?1049l\x1b[?25h';

/** How long a signal-triggered exit waits for monitor.stop() before leaving anyway. */
const STOP_GRACE_MS = 2000;

export interface ConsoleOptions {
  color: boolean;
  /** the caller already switched to the alternate screen (and drew a first header line) */
  altScreenEntered?: boolean;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function runConsole(monitor: MonitorLike, opts: ConsoleOptions): Promise<void> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  // Checked before anything is drawn: useInput would otherwise throw "Raw mode is not supported".
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') throw new Error(NOT_A_TTY_MESSAGE);

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdout.write(LEAVE_ALT_SCREEN);
    } catch {
      // the terminal may be gone (SIGHUP); nothing left to restore
    }
  };

  let instance: Instance | undefined;
  let finished = false;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  // process.on, not once: while our listener is attached, signal-exit (used by Ink) does not
  // re-raise the signal, so the monitor gets to stop. A second signal while stopping exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (finished) {
      restore();
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    void finish(undefined, signal);
  };
  const onCrash = () => restore(); // before Node prints the error, so it lands on the normal screen
  const detach = () => {
    for (const sig of Object.keys(SIGNAL_EXIT)) process.off(sig, onSignal);
    process.off('uncaughtExceptionMonitor', onCrash);
    process.off('exit', restore);
  };

  async function finish(error?: unknown, signal?: NodeJS.Signals): Promise<void> {
    if (finished) return;
    finished = true;
    try {
      instance?.unmount();
    } catch {
      // already unmounted
    }
    restore(); // before waiting on the monitor, so a slow stop never leaves the screen switched
    let stopError: unknown;
    try {
      const stopping = monitor.stop();
      if (signal) await Promise.race([stopping, new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      else await stopping;
    } catch (err) {
      stopError = err;
    }
    detach();
    if (signal) {
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    if (error !== undefined) settle.reject(error);
    else if (stopError !== undefined) settle.reject(stopError);
    else settle.resolve();
  }

  for (const sig of Object.keys(SIGNAL_EXIT)) process.on(sig, onSignal);
  process.on('uncaughtExceptionMonitor', onCrash);
  process.once('exit', restore); // last resort

  try {
    // entering twice would save the cursor again, at the top of the alternate screen, and the
    // shell prompt would come back there on exit; clear the early header in the same write burst
    stdout.write(opts.altScreenEntered ? '\x1b[2J\x1b[H' : ENTER_ALT_SCREEN);
    instance = render(<Dashboard monitor={monitor} onQuit={() => void finish()} color={opts.color} />, {
      stdin,
      stdout,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 10,
      incrementalRendering: true,
    });
    // Ink exits on its own only on a render error (its error boundary): surface it.
    instance.waitUntilExit().then(
      () => void finish(),
      (err: unknown) => void finish(err),
    );
    monitor.start();
  } catch (err) {
    void finish(err);
  }
  return done;
}
