// The `ops` entry point and composition root: it builds the settings and the services on the
// built-in tasks, and runs one row of the command table inside the one error boundary
// (bin/boundary.ts). The CLI commands and the console drive one engine (src/); the console's UI
// (screens/, ink + react) is loaded only when the console starts (bin/console.ts).
//
// Adding a command is one row in COMMANDS: its handler (a number it returns is the exit code)
// and how its errors exit (`fallback` for an internal error; a UserError exits with its own
// code, or with `user` when the row sets it).
import pkg from '../package.json';
import { parseCommandLine, USAGE, type ParsedArgs } from '../src/cli/args';
import { parseFormat, parseOnly, runCheck, runCheckAll } from '../src/cli/check';
import { writeAtomically } from '../src/cli/openmetrics';
import { checklistResumeHeadless, checklistRunCommand, listChecklists, reportCommand, showChecklist } from '../src/cli/checklist';
import { configCommand } from '../src/cli/config-cmd';
import { completionCommand } from '../src/cli/completion';
import { historyCommand, mirroredHistoryCommand, showCommand } from '../src/cli/history';
import { mirroredAttention, rollbackCommand, runsNeedingAttention } from '../src/cli/rollback';
import { checklistJson, rollbackJson, runJson, withJsonResult } from '../src/cli/results';
import { findWalk } from '../src/checklists/walk-journal';
import { locksCommand, sessionsCommand } from '../src/cli/sessions';
import { listTasks, resumeCommand, runCommand } from '../src/cli/run';
import { ChecklistService } from '../src/checklists/service';
import { resolveSettings, type Settings } from '../src/config/load';
import { redact } from '../src/util/redact';
import { terminalJson } from '../src/util/sanitize';
import { runPlantedSessions, SESSIONS_COMMAND } from '../src/drill/sessions';
import { UnknownError, UsageError, UserError } from '../src/errors';
import { Journal, setJournalWarningHandler, stateDir } from '../src/journal';
import { journalMirror, mirroredRuns, mirrorLimits, requireMirror, startJournalMirror } from '../src/journal/mirror';
import { TaskService } from '../src/tasks/service';
import { BUILTIN_TASKS } from '../tasks/index';
import { fail, guard, type Exits } from './boundary';
import { consoleCommand, openConsole, type ConsoleWalk } from './console';
import { drillCommand } from './drill';
import type { Services } from './services';

/** The commands that write or read the task journal: with journal.mirror set they send it. */
const MIRRORED = new Set(['run', 'rollback', 'history', 'show', 'checklist', 'console']);
let mirrorWanted = false;

const services: Services = {
  tasks: BUILTIN_TASKS,
  settings: (flags) => {
    const settings = resolveSettings(flags);
    if (mirrorWanted) startJournalMirror(settings.mirror, stateDir(), settings.config.probeTimeoutMs);
    return settings;
  },
  checklists: (settings) => new ChecklistService(settings, BUILTIN_TASKS),
  taskService: (settings) => new TaskService(settings, BUILTIN_TASKS),
};

/** One command: its handler, and how its errors exit (bin/boundary.ts `Exits`). */
interface Command extends Exits {
  run(args: ParsedArgs): Promise<number | void> | number | void;
}

const withNewline = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
const write = (s: string) => void process.stdout.write(s);

/** `ops check`: a monitoring plugin, so every error, a usage error too, is UNKNOWN (3). */
async function check(args: ParsedArgs): Promise<number> {
  if (args.positionals.length) throw new UnknownError(`check: unexpected argument "${args.positionals[0]}"`);
  const only = parseOnly(args.only);
  const format = parseFormat(args.format, args.json);
  const settings = services.settings(args.flags);
  if (args.allTargets && (args.flags.target || args.flags.database)) throw new UnknownError('--all-targets checks every configured target: leave out --target and --database');
  const result = args.allTargets ? await runCheckAll(settings, { format, only }) : await runCheck(settings, { format, only });
  // --output: the file is replaced whole (node_exporter's textfile collector reads it); the exit
  // code still says the verdict
  if (args.output !== undefined) writeAtomically(args.output, result.output);
  else write(result.output);
  return result.exitCode;
}

/** `ops run TASK`, `ops run` (the list), and `ops run --resume RUN_ID`. */
async function run(args: ParsedArgs): Promise<number | void> {
  if (args.resume) {
    if (args.positionals.length) throw new UsageError('run --resume: give the run id only (the task and its parameters come from the journal)');
    const settings = services.settings(args.flags);
    if (!args.json) return resumeCommand(settings, services.tasks, args.resume, { yes: args.yes });
    return withJsonResult(
      (capture) => resumeCommand(settings, services.tasks, args.resume!, { yes: args.yes, capture }, process.stderr),
      (capture, exitCode, error) => redactDeep(runJson(capture.runId ? new Journal().summary(capture.runId) : null, { task: null, target: settings.target.display, exitCode, error }), settings),
    );
  }
  if (!args.positionals[0]) return write(listTasks(services.tasks));
  if (args.positionals.length > 1) throw new UsageError(`run: unexpected argument "${args.positionals[1]}" (parameters go as --param KEY=VALUE)`);
  const settings = services.settings(args.flags);
  const flags = { params: args.params, dryRun: args.dryRun, yes: args.yes };
  if (!args.json) return runCommand(settings, services.tasks, args.positionals[0], flags);
  // --json: the human lines on standard error, one JSON result on standard output (Ansible)
  return withJsonResult(
    (capture) => runCommand(settings, services.tasks, args.positionals[0], { ...flags, capture }, process.stderr),
    (capture, exitCode, error) => redactDeep(runJson(capture.runId ? new Journal().summary(capture.runId) : null, { task: args.positionals[0], target: settings.target.display, exitCode, error }), settings),
  );
}

async function rollback(args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 1) throw new UsageError(`rollback: unexpected argument "${args.positionals[1]}"`);
  const settings = services.settings(args.flags);
  if (args.allHosts) {
    if (args.positionals[0]) throw new UsageError('rollback --all-hosts lists the runs of every host; to undo one, name it without --all-hosts');
    await journalMirror()?.send();
    write(withNewline(await mirroredAttention(settings, services.tasks, { json: args.json, limit: args.limit })));
    return 0;
  }
  // at a terminal, no run named: the emergency rollback screen (the console's u); else the list
  if (!args.positionals[0] && !args.json && !args.yes && process.stdin.isTTY && process.stdout.isTTY) {
    await openConsole(services, settings, null, undefined, 'emergency-rollback');
    return 0;
  }
  if (!args.json) return rollbackCommand(settings, services.tasks, args.positionals[0], { yes: args.yes });
  if (!args.positionals[0]) {
    // the runs that still have undos to apply, each as its run result
    const journal = new Journal();
    write(`${terminalJson(redactDeep(runsNeedingAttention(journal, { tasks: services.tasks }).map((r) => runJson(journal.summary(r.run) ?? r, { task: r.task, target: r.target, exitCode: 0 })), settings), 2)}\n`);
    return 0;
  }
  return withJsonResult(
    (capture) => rollbackCommand(settings, services.tasks, args.positionals[0], { yes: args.yes, capture }, process.stderr),
    (capture, exitCode, error) => redactDeep(rollbackJson(capture.runId ? new Journal().summary(capture.runId) : null, capture, { target: settings.target.display, exitCode, error }), settings),
  );
}

/** A JSON result with the target's secrets taken out of every string in it. */
function redactDeep<T>(value: T, settings: Settings): T {
  return JSON.parse(redact(JSON.stringify(value), settings.target.secrets)) as T;
}

async function history(args: ParsedArgs): Promise<void> {
  if (args.positionals.length) throw new UsageError(`history: unexpected argument "${args.positionals[0]}"`);
  if (!args.allHosts) {
    write(withNewline(historyCommand(new Journal(), { json: args.json, limit: args.limit })));
    return;
  }
  const settings = services.settings(args.flags);
  const places = requireMirror(settings, 'history --all-hosts');
  // this host's newest events first, so that its own runs are there too
  await journalMirror()?.send();
  const runs = await mirroredRuns(places, mirrorLimits(settings.config.probeTimeoutMs), args.limit ?? 50);
  write(withNewline(redact(mirroredHistoryCommand(runs, { json: args.json, where: places.map((p) => p.db.display).join(', ') }), settings.target.secrets)));
}

function show(args: ParsedArgs): void {
  const journal = new Journal();
  if (args.positionals.length !== 1) throw new UsageError('show: name one run id (or a unique prefix of it); "ops history" lists them');
  write(withNewline(showCommand(journal, args.positionals[0])));
}

/** `ops checklist [NAME | show NAME | run NAME --yes | resume [ID]]`. */
async function checklist(args: ParsedArgs): Promise<number | void> {
  const [sub, ...rest] = args.positionals;
  const settings = services.settings(args.flags);
  if (sub === undefined) return write(listChecklists(services.checklists(settings)));
  if (sub === 'run') {
    if (rest.length > 1) throw new UsageError(`checklist run: unexpected argument "${rest[1]}"`);
    const service = services.checklists(settings);
    const flags = { yes: args.yes, confirm: args.confirm, inputs: args.inputs };
    if (!args.json) return checklistRunCommand(settings, service, rest[0], flags);
    return withJsonResult(
      (capture) => checklistRunCommand(settings, service, rest[0], { ...flags, capture }, process.stderr),
      (capture, exitCode, error) => redactDeep(checklistJson(capture.runId ? findWalk(service.journal, capture.runId) : null, (r) => service.taskRun(r), { checklist: rest[0] ?? null, target: settings.target.display, exitCode, error }), settings),
    );
  }
  if (sub === 'show') {
    if (rest.length !== 1) throw new UsageError('checklist show: name one checklist');
    return write(showChecklist(services.checklists(settings), rest[0]));
  }
  if (rest.length > (sub === 'resume' ? 1 : 0)) throw new UsageError(`checklist: unexpected argument "${rest[sub === 'resume' ? 1 : 0]}"`);
  if (sub === 'resume' && args.yes) {
    const service = services.checklists(settings);
    const id = rest[0] ?? service.unfinished()[0]?.run;
    if (!id) throw new UserError('checklist resume: no unfinished walkthrough to resume', 1);
    const flags = { yes: true, confirm: args.confirm, inputs: args.inputs };
    if (!args.json) return checklistResumeHeadless(settings, service, id, flags);
    return withJsonResult(
      (capture) => checklistResumeHeadless(settings, service, id, { ...flags, capture }, process.stderr),
      (capture, exitCode, error) => redactDeep(checklistJson(capture.runId ? findWalk(service.journal, capture.runId) : null, (r) => service.taskRun(r), { checklist: null, target: settings.target.display, exitCode, error }), settings),
    );
  }
  if (args.confirm.length || args.inputs.length) throw new UsageError('--confirm and --input are for headless runs: add --yes (ops checklist run NAME --yes ...)');
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UserError(`checklist ${sub}: walking a checklist needs an interactive terminal; headless (cron): ops checklist ${sub === 'resume' ? 'resume ID' : `run ${sub}`} --yes`, 2);
  }
  const service = services.checklists(settings);
  let walk: ConsoleWalk;
  if (sub !== 'resume') {
    service.checklist(sub); // an unknown name fails before the screen opens
    walk = { begin: sub };
  } else {
    const open = service.unfinished();
    if (rest[0] === undefined && open.length === 0) throw new UserError('checklist resume: no unfinished walkthrough to resume', 1);
    walk = { resume: rest[0] ?? open[0].run };
  }
  await openConsole(services, settings, walk);
}

function report(args: ParsedArgs): void {
  if (args.positionals.length > 1) throw new UsageError(`report: unexpected argument "${args.positionals[1]}"`);
  const settings = services.settings(args.flags);
  write(reportCommand(settings, services.checklists(settings), args.positionals[0]));
}

function sessions(args: ParsedArgs): Promise<number> {
  if (args.positionals.length) throw new UsageError(`sessions: unexpected argument "${args.positionals[0]}"`);
  return sessionsCommand(services.settings(args.flags), { json: args.json, filter: args.filter, state: args.state, database: args.db }, process.stdout);
}

function locks(args: ParsedArgs): Promise<number> {
  if (args.positionals.length) throw new UsageError(`locks: unexpected argument "${args.positionals[0]}"`);
  return locksCommand(services.settings(args.flags), { json: args.json }, process.stdout);
}

/** The commands, one row each. */
const COMMANDS = {
  '--version': { fallback: 1, run: () => write(`ops ${pkg.version}\n`) },
  help: { fallback: 1, run: () => write(USAGE) },
  check: { fallback: 3, user: 3, run: check },
  config: { fallback: 1, run: async (args) => write(await configCommand(args.positionals[0], args.positionals.slice(1))) },
  run: { fallback: 1, run },
  rollback: { fallback: 1, run: rollback },
  history: { fallback: 1, run: history },
  show: { fallback: 1, run: show },
  checklist: { fallback: 1, run: checklist },
  drill: { fallback: 1, run: (args) => drillCommand(args, services) },
  report: { fallback: 1, run: report },
  sessions: { fallback: 1, run: sessions },
  locks: { fallback: 1, run: locks },
  console: { fallback: 1, run: (args) => consoleCommand(args, services) },
  completion: { fallback: 1, run: (args) => write(completionCommand(args.positionals, services)) },
} satisfies Record<string, Command>;

/** The row for a command line: -V/--version, then -h/--help, win over the command; none is the console. */
function commandOf(args: ParsedArgs): Command {
  if (args.version) return COMMANDS['--version'];
  if (args.help) return COMMANDS.help;
  const name = args.command ?? 'console';
  // only a flag reaches '--version' (ops -- --version is an unknown command)
  if (Object.hasOwn(COMMANDS, name) && !name.startsWith('-')) return COMMANDS[name as keyof typeof COMMANDS];
  return {
    fallback: 2,
    run: () => {
      throw new UsageError(`unknown command "${name}" (see "ops --help")`);
    },
  };
}

/**
 * Sends what the command journaled to the mirror, for at most twice probeTimeoutMs; what could
 * not be sent waits in the local journal, and a line on stderr says so.
 */
async function flushMirror(flags: ParsedArgs['flags']): Promise<void> {
  if (!mirrorWanted) return;
  if (!journalMirror()) {
    // a command that read no settings (ops history) still sends what an earlier one left
    try {
      services.settings(flags);
    } catch {
      return; // no usable config: nothing to send to
    }
  }
  const mirror = journalMirror();
  if (!mirror) return;
  const bound = 2 * mirror.limits.connectTimeoutMs;
  for (const line of await mirror.flush(bound)) process.stderr.write(`ops: warning: ${line}\n`);
}

async function main(): Promise<void> {
  // the drill's planted sessions (src/drill/sessions.ts): a helper process, not a command
  if (process.argv[2] === SESSIONS_COMMAND) await runPlantedSessions(String(process.argv[3]));

  // a closed pipe (ops check | head) is not an error worth a stack trace
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

  // the command line's usage errors exit 2; an internal error reading it is UNKNOWN (3), as a
  // monitoring plugin's would be
  const args = await guard(() => parseCommandLine(process.argv.slice(2)), { fallback: 3 });
  const command = commandOf(args);

  // a journal line skipped as unreadable: one warning per line, on stderr (the console shows a
  // notice instead: openConsole)
  setJournalWarningHandler((message) => process.stderr.write(`ops: warning: ${message}\n`));

  mirrorWanted = MIRRORED.has(args.command ?? 'console') && !args.help && !args.version;
  const code = await guard(async () => {
    try {
      return await command.run(args);
    } finally {
      await flushMirror(args.flags);
    }
  }, command);
  if (typeof code === 'number') process.exitCode = code;
}

main().then(
  () => {
    // Done: whatever still holds the event loop (a socket to a server that stopped answering)
    // must not keep the command from returning. Normally the loop drains first.
    setTimeout(() => process.exit(), 2000).unref();
  },
  (err) => fail(err, { fallback: 1 }),
);
