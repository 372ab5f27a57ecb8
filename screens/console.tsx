// The interactive console's entry point (lazily imported by the CLI): alternate screen, Ink render,
// monitor lifecycle, and a terminal restored on every exit path.
import { render, type Instance } from 'ink';
import type { ChecklistServiceLike } from '../src/checklists/service';
import type { TaskServiceLike } from '../src/tasks/service';
import type { MonitorLike } from '../src/types';
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN } from './alt-screen';
import type { ReactElement } from 'react';
import type { OverviewLike } from '../src/overview';
import { App } from './App';
import { Overview } from './overview/Overview';
import { terminalClipboard } from './sessions/clipboard';

export const NOT_A_TTY_MESSAGE =
  'ops: the console needs an interactive terminal; for scripts and monitoring use "ops check" (or "ops check --json")';


/** How long a signal-triggered exit waits for monitor.stop() before leaving anyway. */
const STOP_GRACE_MS = 2000;

export interface ConsoleOptions {
  color: boolean;
  /** the task engine (tasks, runs, history, rollbacks); without it the console is the dashboard */
  service?: TaskServiceLike;
  /** checklists and walkthroughs */
  checklists?: ChecklistServiceLike;
  /** open on a walkthrough instead of the dashboard */
  walk?: { begin: string } | { resume: string } | null;
  /** open on the emergency rollback list (the console's u): `ops rollback` at a terminal */
  start?: 'emergency-rollback';
  /** the caller already switched to the alternate screen (and drew a first header line) */
  altScreenEntered?: boolean;
  /** opened from the overview of every target: o goes back to it (the outcome 'overview') */
  fromOverview?: boolean;
  /** lines at the top of the help overlay about where the console runs (a drill's psql command) */
  about?: readonly string[];
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * The service as the screens get it, with the runs being started (or opened) counted: a hang-up
 * that lands while one is starting waits for it to have started, so hangUp() then sees it.
 */
function trackingStarts(service: TaskServiceLike): { service: TaskServiceLike; started: () => Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const track = <T,>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    const done = () => pending.delete(p);
    p.then(done, done);
    return p;
  };
  const wrapped: TaskServiceLike = {
    get targetDisplay() {
      return service.targetDisplay;
    },
    get databaseName() {
      return service.databaseName;
    },
    tasks: () => service.tasks(),
    plan: (taskId, params) => service.plan(taskId, params),
    start: (taskId, params) => track(service.start(taskId, params)),
    openForRollback: (runId) => track(service.openForRollback(runId)),
    history: (limit) => service.history(limit),
    needingAttention: () => service.needingAttention(),
    hangUp: () => service.hangUp(),
    log: (runId) => service.log(runId),
  };
  // the optional reads (the plan's reading, pick lists, the form's defaults), forwarded when the service has them
  if (service.preview) wrapped.preview = (taskId, params) => service.preview!(taskId, params);
  if (service.choices) wrapped.choices = (taskId, param, given) => service.choices!(taskId, param, given);
  if (service.paramDefaults) wrapped.paramDefaults = (taskId) => service.paramDefaults!(taskId);
  return {
    service: wrapped,
    started: async () => {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

/**
 * Leaves after a signal. A hang-up leaves by SIGHUP's own default action: after the terminal is
 * gone, Node 20's normal exit aborts in ResetStdio (nodejs/node#51519, fixed in later Node
 * versions), which would turn a clean hang-up into a core dump. The journal is complete by now.
 */
function exitOnSignal(signal: NodeJS.Signals): void {
  if (signal === 'SIGHUP') {
    // the default action ends the process without 'exit' listeners: run them first (a drill's
    // clean-up, the terminal restore), once
    try {
      process.emit('exit', SIGNAL_EXIT.SIGHUP);
    } catch {
      // a listener failed: the hang-up still ends the process
    }
    process.removeAllListeners('exit');
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  process.exit(SIGNAL_EXIT[signal] ?? 1);
}

/** Leaves the alternate screen, once, whichever exit path gets there first. */
function screenRestorer(stdout: NodeJS.WriteStream): () => void {
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
  return restore;
}

/** The runs ended as far as they can be, the screen restored, the monitor stopped: its error. */
async function windDown(tasks: ReturnType<typeof trackingStarts> | null, monitor: Startable, restore: () => void, signal?: NodeJS.Signals): Promise<unknown> {
  // A run in progress is never abandoned: on a hang-up (or any other way out) the running step
  // is not killed (it runs in its own process group), it finishes and is journaled, and the run
  // is marked interrupted, before the console leaves. Nothing to wait for when no run is open.
  // A second signal meanwhile exits at once (onSignal).
  if (tasks) {
    try {
      await tasks.started();
      await tasks.service.hangUp();
    } catch {
      // recorded as far as it could be; leaving anyway
    }
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
  return stopError;
}

/** What the console was left for: quit, or back to the overview of every target (its o). */
export type ConsoleOutcome = 'quit' | 'overview';

/** What the console starts and stops: its monitor, or the overview's. */
interface Startable {
  start(): void;
  stop(): Promise<void>;
}

export async function runConsole(monitor: MonitorLike, opts: ConsoleOptions): Promise<ConsoleOutcome> {
  const tasks = opts.service ? trackingStarts(opts.service) : null;
  const stdout = opts.stdout ?? process.stdout;
  return runRoot(monitor, tasks, opts, (end) => (
    <App
      monitor={monitor}
      service={tasks?.service}
      checklists={opts.checklists}
      walk={opts.walk ?? null}
      start={opts.start}
      about={opts.about}
      onQuit={() => end('quit')}
      onOverview={opts.fromOverview ? () => end('overview') : undefined}
      color={opts.color}
      clipboard={terminalClipboard(stdout, process.env)}
    />
  ));
}

/**
 * The overview of every target (issue 15 §1), on the same terms as the console: the alternate
 * screen, signals, the terminal restored on every exit path. Resolves with the target chosen
 * (Enter), or null (q).
 */
export async function runOverview(
  overview: OverviewLike & Startable,
  opts: Pick<ConsoleOptions, 'color' | 'altScreenEntered' | 'stdin' | 'stdout'> & { initial?: string | null },
): Promise<string | null> {
  let chosen: string | null = null;
  await runRoot(overview, null, opts, (end) => (
    <Overview
      overview={overview}
      color={opts.color}
      initial={opts.initial}
      onQuit={() => end('quit')}
      onOpen={(name) => {
        chosen = name;
        end('quit');
      }}
    />
  ));
  return chosen;
}

async function runRoot(
  monitor: Startable,
  tasks: ReturnType<typeof trackingStarts> | null,
  opts: Pick<ConsoleOptions, 'altScreenEntered' | 'stdin' | 'stdout'>,
  element: (end: (outcome: ConsoleOutcome) => void) => ReactElement,
): Promise<ConsoleOutcome> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  // Checked before anything is drawn: useInput would otherwise throw "Raw mode is not supported".
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') throw new Error(NOT_A_TTY_MESSAGE);

  const restore = screenRestorer(stdout);

  let instance: Instance | undefined;
  let finished = false;
  let outcome: ConsoleOutcome = 'quit';
  let settle!: { resolve: (o: ConsoleOutcome) => void; reject: (e: unknown) => void };
  const done = new Promise<ConsoleOutcome>((resolve, reject) => {
    settle = { resolve, reject };
  });

  // process.on, not once: while our listener is attached, signal-exit (used by Ink) does not
  // re-raise the signal, so the monitor gets to stop. A second signal while stopping exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (finished) {
      restore();
      exitOnSignal(signal);
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
    const stopError = await windDown(tasks, monitor, restore, signal);
    detach();
    if (signal) exitOnSignal(signal);
    if (error !== undefined) settle.reject(error);
    else if (stopError !== undefined) settle.reject(stopError);
    else settle.resolve(outcome);
  }

  for (const sig of Object.keys(SIGNAL_EXIT)) process.on(sig, onSignal);
  process.on('uncaughtExceptionMonitor', onCrash);
  process.once('exit', restore); // last resort

  try {
    // entering twice would save the cursor again, at the top of the alternate screen, and the
    // shell prompt would come back there on exit; clear the early header in the same write burst
    stdout.write(opts.altScreenEntered ? '\x1b[2J\x1b[H' : ENTER_ALT_SCREEN);
    const end = (o: ConsoleOutcome) => {
      outcome = o;
      void finish();
    };
    instance = render(element(end), {
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
