// Command-line parsing: global flags plus each command's own. Unknown flags are an error.
import { parseArgs } from 'node:util';
import { type GlobalFlags } from '../config/load';
import { UsageError } from '../errors';

const OPTIONS = {
  target: { type: 'string' },
  database: { type: 'string' },
  refresh: { type: 'string' },
  'read-only': { type: 'boolean' },
  'no-color': { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  // ops check, ops history
  json: { type: 'boolean' },
  only: { type: 'string' },
  // ops check
  format: { type: 'string' },
  output: { type: 'string' },
  'all-targets': { type: 'boolean' },
  // ops history, ops rollback: the shared journal (journal.mirror)
  'all-hosts': { type: 'boolean' },
  // ops run
  param: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  limit: { type: 'string' },
  resume: { type: 'string' },
  // ops checklist run / resume
  confirm: { type: 'string', multiple: true },
  input: { type: 'string', multiple: true },
  // ops drill
  scenario: { type: 'string' },
  keep: { type: 'boolean' },
  // ops sessions (--database is the global URL flag: the database filter is --db)
  filter: { type: 'string' },
  state: { type: 'string' },
  db: { type: 'string' },
} as const;

export interface ParsedArgs {
  command: string | null;
  positionals: string[];
  flags: GlobalFlags;
  help: boolean;
  version: boolean;
  json: boolean;
  only: string | undefined;
  /** ops check --format nagios|json|openmetrics (--json is --format json) */
  format: string | undefined;
  /** ops check --output FILE: written atomically instead of printed */
  output: string | undefined;
  /** ops check --all-targets: every configured target, the host probed once */
  allTargets: boolean;
  /** ops history --all-hosts: every host's runs, read from the journal's mirror */
  allHosts: boolean;
  params: string[];
  dryRun: boolean;
  yes: boolean;
  limit: number | undefined;
  resume: string | undefined;
  confirm: string[];
  inputs: string[];
  scenario: string | undefined;
  keep: boolean;
  /** ops sessions --filter REGEX: over database, user, application and query */
  filter: string | undefined;
  /** ops sessions --state STATE: active, idle, idle-in-transaction, ... */
  state: string | undefined;
  /** ops sessions --db NAME: the sessions of one database (not --database, the global URL flag) */
  db: string | undefined;
}

export function parseCommandLine(argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const opt = /option '([^' ]+)/i.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${opt ?? ''} (see "ops --help")`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`option ${opt ?? ''} needs a value (see "ops --help")`);
    throw new UsageError(`${e.message} (see "ops --help")`);
  }
  const v = parsed.values;
  let refresh: number | undefined;
  if (v.refresh !== undefined) {
    refresh = Number(v.refresh);
    if (!Number.isFinite(refresh) || refresh < 1 || refresh > 3600) {
      throw new UsageError(`--refresh: expected seconds between 1 and 3600, got "${v.refresh}"`);
    }
  }
  if (v.database !== undefined && v.database.trim() === '') throw new UsageError('--database: empty URL');
  const [command = null, ...positionals] = parsed.positionals;
  return {
    command,
    positionals,
    flags: {
      target: v.target,
      database: v.database,
      refresh,
      readOnly: v['read-only'],
      noColor: v['no-color'],
      debug: v.debug,
    },
    help: !!v.help,
    version: !!v.version,
    json: !!v.json,
    only: v.only,
    format: nonEmpty('--format', v.format),
    output: nonEmpty('--output', v.output),
    allTargets: !!v['all-targets'],
    allHosts: !!v['all-hosts'],
    params: v.param ?? [],
    dryRun: !!v['dry-run'],
    yes: !!v.yes,
    limit: parseLimit(v.limit),
    resume: v.resume,
    confirm: v.confirm ?? [],
    inputs: v.input ?? [],
    scenario: v.scenario,
    keep: !!v.keep,
    filter: v.filter,
    state: nonEmpty('--state', v.state),
    db: nonEmpty('--db', v.db),
  };
}

function nonEmpty(flag: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.trim() === '') throw new UsageError(`${flag}: empty value`);
  return raw;
}

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit: expected a whole number of runs, got "${raw}"`);
  return n;
}

export const USAGE = `ops: a console for maintenance hosts

Usage:
  ops                         the interactive console (live health dashboard)
  ops check [--json | --format nagios|json|openmetrics] [--only GROUP,...]
            [--output FILE] [--all-targets]
                              one-shot health check; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN;
                              openmetrics for Prometheus, --output writes FILE atomically
                              (node_exporter's textfile collector); --all-targets: every
                              configured target, one result each, the exit code the worst
  ops run TASK [--param KEY=VALUE ...] [--dry-run] [--yes] [--json]
                              run a maintenance task (ops run, alone, lists them); --json: one
                              result object on stdout, the lines on stderr (docs/fleet.md)
  ops run --resume RUN_ID [--yes] [--json]
                              go on with an interrupted or failed run from its first step not done
  ops rollback [RUN_ID] [--yes] [--json] [--all-hosts]
                              runs with rollbacks not applied; with RUN_ID, undo that run
                              (a run only the journal's mirror has, from another host, too);
                              --all-hosts: every host's such runs, from the mirror
  ops history [--json] [--limit N] [--all-hosts]
                              the journal of task runs, newest first; --all-hosts: every
                              host's, from the journal's mirror (journal.mirror)
  ops show RUN_ID             one run: its steps and its full output log
  ops checklist               the checklists, and walkthroughs left unfinished
  ops checklist NAME          walk a checklist in the console, step by step
  ops checklist show NAME     its steps
  ops checklist resume [ID]   continue an unfinished walkthrough (the newest when no ID)
  ops checklist run NAME --yes [--confirm STEP ...] [--input STEP=VALUE ...]
                    [--json]
                              headless (cron): exit 0 all passed, 1 a check failed,
                              2 a gate or task stopped it, 3 a manual step needs a person
  ops report [ID]             a walkthrough's markdown report (no ID: the recent ones)
  ops drill [--scenario NAME,...] [--keep]
                              a throwaway PostgreSQL seeded with real problems (bloat, locks,
                              backup, bad-change; all by default), the console on it; removed
                              on exit. --keep leaves it running (without a terminal: set up,
                              print how to reach it, exit)
  ops drill clean             removes kept drills and any left behind
  ops sessions [--json] [--filter REGEX] [--state STATE] [--db NAME]
                              every client session of the cluster (the console's own marked)
  ops locks [--json]          the lock tree: root blockers first, who waits on whom beneath
  ops config path|show|validate [FILE]|get KEY|set KEY VALUE
                              the configuration file (show redacts secrets)
  ops completion bash|zsh     the shell completion script (source it, or see the README)

Global flags:
  --target NAME       a target from the config file
  --database URL      a PostgreSQL URL (overrides DATABASE_URL, PG* and the config file)
  --refresh SECONDS   dashboard refresh interval (default 2)
  --read-only         never change anything (tasks, rollbacks and checklist task steps refuse)
  --no-color          no colours (NO_COLOR is honoured too)
  --debug             stack traces on errors
  -h, --help          this help;  -V, --version  the version

Check groups: host, disk, postgres, sessions, tables, http, tls, backup, redis
`;
