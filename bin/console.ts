// `ops` (or `ops console`): the interactive console. Its UI (screens/, ink + react) is loaded
// only here, when the console starts; a checklist walkthrough and the drill open it too.
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN } from '../screens/alt-screen';
import type { ParsedArgs } from '../src/cli/args';
import type { ChecklistService } from '../src/checklists/service';
import { hostname } from 'node:os';
import { resolveTarget, type Settings } from '../src/config/load';
import { OverviewMonitor } from '../src/overview';
import { UserError } from '../src/errors';
import { Journal, setJournalWarningHandler } from '../src/journal';
import { Monitor } from '../src/monitor';
import { startupNotice } from '../src/tasks/attention';
import { sanitizeLine } from '../src/util/sanitize';
import type { Services } from './services';

/** The console opening on a walkthrough: a checklist to begin, or a walkthrough to resume. */
export type ConsoleWalk = { begin: string } | { resume: string };

/** `ops console` (and `ops` alone): the dashboard, on a real terminal only. */
export async function consoleCommand(args: ParsedArgs, services: Services): Promise<void> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UserError('the console needs an interactive terminal; for scripts and monitoring use "ops check" (or "ops check --json")', 2);
  }
  const settings = services.settings(args.flags);
  // several targets configured and none chosen (--target, --database, DATABASE_URL): the
  // overview of every target first (issue 15 §1)
  if (settings.config.targets.length > 1 && settings.target.source === 'file') return overviewLoop(services, args, settings);
  await openConsole(services, settings, null);
}

/**
 * The overview, then the dashboard of the target chosen with Enter, whose o comes back to a new
 * overview. The overview's monitors are stopped while a dashboard is open, so each target has one
 * probe connection at a time.
 */
async function overviewLoop(services: Services, args: ParsedArgs, settings: Settings): Promise<void> {
  let last: string | null = null;
  for (;;) {
    const { config, configFile } = settings;
    const targets = config.targets.map((t) => resolveTarget(config, { target: t.name }, process.env, configFile));
    const overview = new OverviewMonitor({ config, targets, refreshMs: settings.refreshMs });
    const handOver = drawEarlyHeader(hostname(), 'overview', `${targets.length} targets`);
    overview.start();
    let ui: typeof import('../screens/console');
    try {
      ui = await importConsoleOutsideCi();
    } catch (err) {
      await overview.stop();
      throw err;
    }
    await overview.firstReport(FIRST_FRAME_WAIT_MS);
    const running = ui.runOverview(overview, { color: settings.color, altScreenEntered: true, initial: last });
    handOver();
    const chosen = await running;
    if (chosen === null) return;
    last = chosen;
    const outcome = await openConsole(services, services.settings({ ...args.flags, target: chosen }), null, undefined, undefined, true);
    if (outcome !== 'overview') return;
  }
}

/**
 * ink decides once, when it is loaded, whether it runs in CI (a CI or CONTINUOUS_INTEGRATION
 * variable), and then draws only the last frame. The console runs only on a real terminal, so
 * it loads ink with those variables hidden, and puts them back for everything else.
 */
async function importConsoleOutsideCi(): Promise<typeof import('../screens/console')> {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    return await import('../screens/console');
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}

/** How long the first frame waits for the monitor's first round, at most. */
const FIRST_FRAME_WAIT_MS = 500;

/** The signals that end the console while its UI loads, and the exit code of each. */
const EARLY_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Switches to the alternate screen and writes the header line. Until the console takes over
 * (the returned hand-over), leaving restores the terminal: on exit, and on a signal (Ctrl-C while
 * the UI loads), which then ends the process by its default action.
 */
function drawEarlyHeader(host: string, targetName: string, targetDisplay: string): () => void {
  const cols = process.stdout.columns || 80;
  const text = sanitizeLine(`ops ${host} · starting… · ${targetName} ${targetDisplay}`);
  const line = text.length > cols ? `${text.slice(0, cols - 1)}…` : text;
  process.stdout.write(`${ENTER_ALT_SCREEN}\x1b[2J\x1b[H${line}`);
  const leave = () => {
    try {
      process.stdout.write(LEAVE_ALT_SCREEN);
    } catch {
      // the terminal is gone (SIGHUP): nothing left to restore
    }
  };
  const signals = Object.keys(EARLY_SIGNALS) as (keyof typeof EARLY_SIGNALS)[];
  const handOver = () => {
    process.off('exit', leave);
    for (const sig of signals) process.off(sig, onSignal);
  };
  const onSignal = (sig: keyof typeof EARLY_SIGNALS) => {
    handOver();
    leave();
    // a hang-up ends by its default action, as the console's does (screens/console.tsx
    // exitOnSignal: Node 20 aborts a normal exit once the terminal is gone); the others exit
    if (sig === 'SIGHUP') {
      process.removeAllListeners('SIGHUP');
      process.kill(process.pid, 'SIGHUP');
    }
    process.exit(EARLY_SIGNALS[sig]);
  };
  process.once('exit', leave);
  for (const sig of signals) process.on(sig, onSignal);
  return handOver;
}

/**
 * The interactive console, opening on the dashboard, on a checklist walkthrough, or (`start`,
 * `ops rollback` at a terminal) on the emergency rollback list, the console's `u`. The
 * console's own signal handling (SIGHUP, SIGINT, SIGTERM) and terminal restore are
 * screens/console.tsx `runConsole`'s.
 */
export async function openConsole(
  services: Services,
  settings: Settings,
  walk: ConsoleWalk | null,
  about?: readonly string[],
  start?: 'emergency-rollback',
  fromOverview = false,
): Promise<'quit' | 'overview'> {
  const checklists = services.checklists(settings);
  setJournalWarningHandler(null); // nothing on stderr under the console: the notice says it
  const journal = new Journal(undefined, { secrets: settings.target.secrets });
  const notices = [startupNotice(journal), unreadableNotice(journal), walk ? null : walkNotice(checklists)].filter(Boolean);
  const monitor = new Monitor({
    config: settings.config,
    target: settings.target,
    refreshMs: settings.refreshMs,
    badge: process.env.OPS_BADGE || null,
    notice: notices.length ? notices.join(' · ') : null,
  });
  // Draw a first line at once: loading the UI (ink, react, yoga) takes a few hundred ms.
  const handOver = drawEarlyHeader(monitor.getState().hostname, settings.target.name, settings.target.display);
  // The monitor starts before the UI loads (issue 14): its first round (the PostgreSQL connection,
  // the host's CPU interval) runs while ink, react and yoga compile, so the first frame with data
  // does not wait for both one after the other. The host probe leaves the console's own CPU
  // (this start-up included) out of its first interval (src/probes/host.ts).
  monitor.start();
  let ui: typeof import('../screens/console');
  try {
    ui = await importConsoleOutsideCi();
  } catch (err) {
    await monitor.stop().catch(() => undefined);
    throw err;
  }
  // The first frame waits for the first round (at most its settle window, 250 ms, and 500 ms in
  // all): drawn earlier, it has no figures, and ink's 10-a-second throttle then holds the frame
  // with the data back by up to 100 ms more. The header above says "starting…" meanwhile.
  await monitor.firstReport(FIRST_FRAME_WAIT_MS);
  const { runConsole } = ui;
  const service = services.taskService(settings);
  const running = runConsole(monitor, { color: settings.color, service, checklists, walk, altScreenEntered: true, about, start, fromOverview });
  // the console restores the terminal from here on: its handlers are on before these go, so a
  // signal caught in between still finds one (with none left, Node would drop it)
  handOver();
  return await running;
}

/** The start-up line about journal lines skipped as unreadable (read by startupNotice). */
function unreadableNotice(journal: Journal): string | null {
  const { count, lines } = journal.unreadable;
  if (count === 0) return null;
  const at = `line ${lines.slice(0, 3).join(', ')}${count > 3 ? ', …' : ''}`;
  return `${count} journal line${count === 1 ? ' was' : 's were'} unreadable and skipped (${at}); ops history says why`;
}

/** The start-up line about a walkthrough left unfinished. */
function walkNotice(checklists: ChecklistService): string | null {
  const open = checklists.unfinished();
  if (open.length === 0) return null;
  if (open.length > 1) return `${open.length} checklist walkthroughs are unfinished; "ops checklist" lists them`;
  return `checklist ${open[0].checklist} is unfinished: l lists it to resume (ops checklist resume)`;
}
