// The `ops` entry point. The CLI commands and the console drive one engine (src/);
// the console's UI (screens/, ink + react) is loaded only when the console starts.
import pkg from '../package.json';
import { parseCommandLine, USAGE } from '../src/cli/args';
import { parseOnly, runCheck } from '../src/cli/check';
import { checklistResumeHeadless, checklistRunCommand, listChecklists, reportCommand, showChecklist } from '../src/cli/checklist';
import { configCommand } from '../src/cli/config-cmd';
import { ChecklistService } from '../src/checklists/service';
import { historyCommand, showCommand } from '../src/cli/history';
import { rollbackCommand } from '../src/cli/rollback';
import { startupNotice } from '../src/tasks/attention';
import { listTasks, resumeCommand, runCommand } from '../src/cli/run';
import { Journal, setJournalWarningHandler, stateDir } from '../src/journal';
import { reap, registryDir, SCENARIO_NAMES, startDrill } from '../src/drill/drill';
import { runPlantedSessions, SESSIONS_COMMAND } from '../src/drill/sessions';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { resolveSettings, UserError } from '../src/config/load';
import { Monitor } from '../src/monitor';
import { TaskService } from '../src/tasks/service';
import { BUILTIN_TASKS } from '../tasks/index';
import { redact } from '../src/util/redact';
import { sanitizeLine, sanitizeText } from '../src/util/sanitize';

const debug = process.argv.includes('--debug');

function fail(err: unknown, fallbackCode: number): never {
  const secrets = [process.env.PGPASSWORD];
  if (err instanceof UserError) {
    // one line, terminal-safe: a message may quote a database's error or a file's text
    process.stderr.write(`ops: ${sanitizeLine(redact(err.message, secrets))}\n`);
    if (debug && err.stack) process.stderr.write(`${sanitizeText(redact(err.stack, secrets))}\n`);
    process.exit(err.exitCode);
  }
  const e = err as Error;
  process.stderr.write(`ops: internal error: ${sanitizeLine(redact(e?.message ?? String(err), secrets))}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && e?.stack) process.stderr.write(`${sanitizeText(redact(e.stack, secrets))}\n`);
  process.exit(fallbackCode);
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

/** Switches to the alternate screen and writes the header line; returns the exit-time restore. */
function drawEarlyHeader(host: string, targetName: string, targetDisplay: string): () => void {
  const cols = process.stdout.columns || 80;
  const text = sanitizeLine(`ops ${host} · starting… · ${targetName} ${targetDisplay}`);
  const line = text.length > cols ? `${text.slice(0, cols - 1)}…` : text;
  process.stdout.write(`\x1b[?1049h\x1b[?25l\x1b[2J\x1b[H${line}`);
  const leave = () => {
    process.stdout.write('\x1b[?1049l\x1b[?25h');
  };
  process.once('exit', leave);
  return leave;
}

const withNewline = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);

async function main(): Promise<void> {
  // the drill's planted sessions (src/drill/sessions.ts): a helper process, not a command
  if (process.argv[2] === SESSIONS_COMMAND) await runPlantedSessions(String(process.argv[3]));

  // a closed pipe (ops check | head) is not an error worth a stack trace
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

  let args;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    // usage errors of a monitoring plugin are UNKNOWN (3)
    fail(err, 3);
  }
  if (args.version) {
    process.stdout.write(`ops ${pkg.version}\n`);
    return;
  }
  if (args.help || args.command === 'help') {
    process.stdout.write(USAGE);
    return;
  }

  // a journal line skipped as unreadable: one warning per line, on stderr (the console shows a
  // notice instead: openConsole)
  setJournalWarningHandler((message) => process.stderr.write(`ops: warning: ${message}\n`));

  switch (args.command) {
    case 'check': {
      try {
        if (args.positionals.length) throw new UserError(`check: unexpected argument "${args.positionals[0]}"`, 3);
        const only = parseOnly(args.only);
        const settings = resolveSettings(args.flags);
        const result = await runCheck(settings, { json: args.json, only });
        process.stdout.write(result.output);
        process.exitCode = result.exitCode;
      } catch (err) {
        if (err instanceof UserError) fail(new UserError(err.message, 3), 3);
        fail(err, 3);
      }
      return;
    }
    case 'config': {
      try {
        process.stdout.write(await configCommand(args.positionals[0], args.positionals.slice(1)));
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'run': {
      try {
        if (args.resume) {
          if (args.positionals.length) throw new UserError('run --resume: give the run id only (the task and its parameters come from the journal)', 2);
          process.exitCode = await resumeCommand(resolveSettings(args.flags), BUILTIN_TASKS, args.resume, { yes: args.yes });
          return;
        }
        if (!args.positionals[0]) {
          process.stdout.write(listTasks(BUILTIN_TASKS));
          return;
        }
        if (args.positionals.length > 1) throw new UserError(`run: unexpected argument "${args.positionals[1]}" (parameters go as --param KEY=VALUE)`, 2);
        const settings = resolveSettings(args.flags);
        process.exitCode = await runCommand(settings, BUILTIN_TASKS, args.positionals[0], { params: args.params, dryRun: args.dryRun, yes: args.yes });
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'rollback': {
      try {
        if (args.positionals.length > 1) throw new UserError(`rollback: unexpected argument "${args.positionals[1]}"`, 2);
        const settings = resolveSettings(args.flags);
        process.exitCode = await rollbackCommand(settings, BUILTIN_TASKS, args.positionals[0], { yes: args.yes });
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'history':
    case 'show': {
      try {
        const journal = new Journal();
        if (args.command === 'history') {
          if (args.positionals.length) throw new UserError(`history: unexpected argument "${args.positionals[0]}"`, 2);
          process.stdout.write(withNewline(historyCommand(journal, { json: args.json, limit: args.limit })));
        } else {
          if (args.positionals.length !== 1) throw new UserError('show: name one run id (or a unique prefix of it); "ops history" lists them', 2);
          process.stdout.write(withNewline(showCommand(journal, args.positionals[0])));
        }
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'checklist': {
      try {
        const [sub, ...rest] = args.positionals;
        const settings = resolveSettings(args.flags);
        if (sub === undefined) {
          process.stdout.write(listChecklists(new ChecklistService(settings, BUILTIN_TASKS)));
          return;
        }
        if (sub === 'run') {
          if (rest.length > 1) throw new UserError(`checklist run: unexpected argument "${rest[1]}"`, 2);
          process.exitCode = await checklistRunCommand(settings, new ChecklistService(settings, BUILTIN_TASKS), rest[0], { yes: args.yes, confirm: args.confirm, inputs: args.inputs });
          return;
        }
        if (sub === 'show') {
          if (rest.length !== 1) throw new UserError('checklist show: name one checklist', 2);
          process.stdout.write(showChecklist(new ChecklistService(settings, BUILTIN_TASKS), rest[0]));
          return;
        }
        if (rest.length > (sub === 'resume' ? 1 : 0)) throw new UserError(`checklist: unexpected argument "${rest[sub === 'resume' ? 1 : 0]}"`, 2);
        if (sub === 'resume' && args.yes) {
          const service = new ChecklistService(settings, BUILTIN_TASKS);
          const id = rest[0] ?? service.unfinished()[0]?.run;
          if (!id) throw new UserError('checklist resume: no unfinished walkthrough to resume', 1);
          process.exitCode = await checklistResumeHeadless(settings, service, id, { yes: true, confirm: args.confirm, inputs: args.inputs });
          return;
        }
        if (args.confirm.length || args.inputs.length) throw new UserError('--confirm and --input are for headless runs: add --yes (ops checklist run NAME --yes ...)', 2);
        const walk = sub === 'resume' ? { resume: rest[0] ?? null } : { begin: sub as string };
        if (!process.stdin.isTTY || !process.stdout.isTTY) {
          throw new UserError(`checklist ${sub}: walking a checklist needs an interactive terminal; headless (cron): ops checklist ${sub === 'resume' ? 'resume ID' : `run ${sub}`} --yes`, 2);
        }
        const service = new ChecklistService(settings, BUILTIN_TASKS);
        if ('begin' in walk) service.checklist(walk.begin as string); // an unknown name fails before the screen opens
        else {
          const open = service.unfinished();
          if (walk.resume === null && open.length === 0) throw new UserError('checklist resume: no unfinished walkthrough to resume', 1);
          walk.resume ??= open[0].run;
        }
        await openConsole(settings, walk as ConsoleWalk);
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'drill': {
      try {
        process.exitCode = await drillCommand(args);
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case 'report': {
      try {
        if (args.positionals.length > 1) throw new UserError(`report: unexpected argument "${args.positionals[1]}"`, 2);
        const settings = resolveSettings(args.flags);
        process.stdout.write(reportCommand(settings, new ChecklistService(settings, BUILTIN_TASKS), args.positionals[0]));
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    case null:
    case 'console': {
      try {
        if (!process.stdin.isTTY || !process.stdout.isTTY) {
          throw new UserError(
            'the console needs an interactive terminal; for scripts and monitoring use "ops check" (or "ops check --json")',
            2,
          );
        }
        await openConsole(resolveSettings(args.flags), null);
      } catch (err) {
        fail(err, 1);
      }
      return;
    }
    default:
      fail(new UserError(`unknown command "${args.command}" (see "ops --help")`, 2), 2);
  }
}

/** `ops drill`: a throwaway cluster with planted problems, and the console on it. */
async function drillCommand(args: ReturnType<typeof parseCommandLine>): Promise<number> {
  const [sub, ...rest] = args.positionals;
  const realState = stateDir();
  if (sub === 'clean') {
    if (rest.length) throw new UserError(`drill clean: unexpected argument "${rest[0]}"`, 2);
    const lines = reap(registryDir(realState), { all: true, host: hostname() });
    process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'no drill to remove\n');
    return 0;
  }
  if (sub !== undefined) throw new UserError(`drill: unexpected argument "${sub}" (ops drill [--scenario NAME,...] [--keep], or ops drill clean)`, 2);
  const scenarios = args.scenario ? args.scenario.split(',').map((s) => s.trim()).filter(Boolean) : SCENARIO_NAMES;
  const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
  if (!tty && !args.keep) {
    throw new UserError('drill: opens the console, which needs an interactive terminal; --keep sets the drill up without it and leaves it running (ops drill clean removes it)', 2);
  }
  const say = (l: string) => process.stdout.write(`${l}\n`);
  const useDrill = (dirs: { configDir: string; stateDir: string }) => {
    // the drill's own configuration and journal, apart from the real ones
    process.env.OPS_CONFIG_DIR = dirs.configDir;
    process.env.OPS_STATE_DIR = dirs.stateDir;
  };
  const drill = await startDrill({
    scenarios,
    stateDir: realState,
    host: hostname(),
    say,
    keep: args.keep,
    explicit: args.scenario !== undefined,
    badChange: async (url, dirs) => {
      useDrill(dirs);
      const settings = resolveSettings({ database: url });
      const code = await runCommand(settings, BUILTIN_TASKS, 'set-setting', { params: ['name=work_mem', 'value=64kB'], dryRun: false, yes: true }, new Writable({ write: (_c, _e, cb) => cb() }));
      if (code !== 0) throw new UserError('drill: the bad-change scenario could not run set-setting');
    },
  });
  useDrill(drill);
  say(drill.where);
  if (!tty) {
    drill.keep();
    say(`export OPS_CONFIG_DIR=${drill.configDir} OPS_STATE_DIR=${drill.stateDir} DATABASE_URL=${drill.record.url}`);
    say('kept: the commands above point ops at it; "ops drill clean" removes it');
    return 0;
  }
  process.env.OPS_BADGE = 'DRILL';
  // the console's help overlay (?) names the psql command: the line above is behind its screen
  const about = ['Drill · connect from another terminal:', `  ${drill.psql}`, args.keep ? '  kept when you quit; "ops drill clean" removes it then' : '  removed when you quit'];
  try {
    await openConsole(resolveSettings({ ...args.flags, target: undefined, database: drill.record.url }), null, about);
  } finally {
    if (args.keep) {
      const clean = drill.keep();
      say(clean ? `drill kept at 127.0.0.1:${drill.record.port} (${drill.record.dir}); remove it with: ${clean}` : `drill ${drill.record.id} is gone (removed while its console was open): nothing was kept`);
    } else {
      drill.remove();
      say('drill removed: its cluster is stopped and its files are gone');
    }
  }
  return 0;
}

type ConsoleWalk = { begin: string } | { resume: string };

/** The interactive console, opening on the dashboard, or on a checklist walkthrough. */
async function openConsole(settings: ReturnType<typeof resolveSettings>, walk: ConsoleWalk | null, about?: readonly string[]): Promise<void> {
  const checklists = new ChecklistService(settings, BUILTIN_TASKS);
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
  const leaveEarly = drawEarlyHeader(monitor.getState().hostname, settings.target.name, settings.target.display);
  // the monitor starts once the UI is up: its first CPU sample would otherwise measure
  // the console's own start-up as host load
  const { runConsole } = await importConsoleOutsideCi();
  process.off('exit', leaveEarly); // the console restores the terminal from here on
  const service = new TaskService(settings, BUILTIN_TASKS);
  await runConsole(monitor, { color: settings.color, service, checklists, walk, altScreenEntered: true, about });
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

main().then(
  () => {
    // Done: whatever still holds the event loop (a socket to a server that stopped answering)
    // must not keep the command from returning. Normally the loop drains first.
    setTimeout(() => process.exit(), 2000).unref();
  },
  (err) => fail(err, 1),
);
