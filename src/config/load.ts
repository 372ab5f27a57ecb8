// Loading and resolving configuration.
// Precedence: command-line flags, then the environment (DATABASE_URL and libpq's PG* variables,
// .pgpass through node-postgres), then the config file, then the defaults in schema.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ClientConfig } from 'pg';
import { ConfigSchema, SSLMODES, urlProblem, type Config } from './schema';
import { redact } from '../util/redact';
import { JsonSyntaxError, parseJsonLocated, pathKey, type LocatedJson } from './json';

export { UserError, formatKeyPath } from '../errors';
import { UserError, formatKeyPath } from '../errors';

/** The directory that holds config.json (conf's location; OPS_CONFIG_DIR overrides it). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPS_CONFIG_DIR) return env.OPS_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'ops-console');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/** Parses and validates a config text. Throws UserError naming file, line and key path. */
export function parseConfigText(text: string, file: string): Config {
  let located: LocatedJson = { value: {}, lines: new Map() };
  if (text.trim() !== '') {
    try {
      located = parseJsonLocated(text);
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      if (err.refusedAt) {
        const at = err.refusedAt.length > 8 ? `${formatKeyPath(err.refusedAt.slice(0, 6))}…` : formatKeyPath(err.refusedAt);
        throw new UserError(`${file}:${err.line}:${err.col}: ${at}: ${err.message}`);
      }
      throw new UserError(`${file}:${err.line}:${err.col}: not valid JSON: ${err.message}`);
    }
  }
  const parsed = ConfigSchema.safeParse(located.value);
  if (!parsed.success) {
    const parts = parsed.error.issues.map((issue) => {
      // the value's own line, or the nearest enclosing key's (for a missing key)
      let line: number | undefined;
      for (let n = issue.path.length; n >= 0 && line === undefined; n--) line = located.lines.get(pathKey(issue.path.slice(0, n)));
      return `${line ? `line ${line}: ` : ''}${formatKeyPath(issue.path)}: ${issue.message}`;
    });
    throw new UserError(redact(`${file}: invalid config: ${parts.join('; ')}`));
  }
  return parsed.data;
}

export function loadConfigFile(file: string): Config {
  if (!existsSync(file)) return ConfigSchema.parse({});
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new UserError(`${file}: is a directory, expected a JSON file`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, file);
}

// ---------------------------------------------------------------- targets

export interface ResolvedTarget {
  name: string;
  /** where the target came from: flag, env, file or default */
  source: 'flag' | 'env' | 'file' | 'default';
  connection: ClientConfig;
  /** postgres://user@host:port/db with any password shown as *** */
  display: string;
  /** the database name (what a critical task makes the operator type) */
  database: string;
  /** strings to scrub from any message */
  secrets: string[];
}

/** The URL, checked as the config's targets are (scheme, parses, sslmode); errors show it redacted. */
function parsePgUrl(url: string, where: string): URL {
  const problem = urlProblem(url, ['postgres', 'postgresql']);
  if (problem) throw new UserError(`${where}: ${problem}: ${redact(url)}`);
  return new URL(url);
}

/** PGSSLMODE, when set, must be one of libpq's modes, as in a URL. */
function checkSslmodeEnv(env: NodeJS.ProcessEnv): void {
  const mode = env.PGSSLMODE;
  if (mode !== undefined && mode !== '' && !(SSLMODES as readonly string[]).includes(mode)) {
    throw new UserError(`PGSSLMODE: ${JSON.stringify(mode.slice(0, 40))} is not one of ${SSLMODES.join(', ')}`);
  }
}

function targetFromUrl(name: string, source: ResolvedTarget['source'], url: string, where: string, env: NodeJS.ProcessEnv): ResolvedTarget {
  const u = parsePgUrl(url, where);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const secrets = [password, env.PGPASSWORD].filter((s): s is string => !!s);
  const host = u.hostname ? decodeURIComponent(u.hostname) : (u.searchParams.get('host') ?? undefined);
  const user = u.username ? decodeURIComponent(u.username) : (env.PGUSER ?? userInfo().username);
  const port = u.port ? Number(u.port) : Number(env.PGPORT || 5432);
  const database = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : (env.PGDATABASE ?? user);
  // libpq's defaults for what the URL leaves out; node-postgres would take $USER, which a cron
  // job or a service may not have
  if (!u.username && u.hostname) u.username = encodeURIComponent(user);
  if (u.pathname.length <= 1 && u.hostname) u.pathname = `/${encodeURIComponent(database)}`;
  return {
    name,
    source,
    connection: { connectionString: u.hostname ? u.toString() : url },
    display: `postgres://${user}${password ? ':***' : ''}@${host ?? 'localhost'}:${port}/${database}`,
    database,
    secrets,
  };
}

/** libpq's defaults: PGHOST (or the local socket directory), PGPORT, PGUSER, PGDATABASE, PGPASSWORD. */
function targetFromLibpqEnv(env: NodeJS.ProcessEnv): ResolvedTarget {
  const port = Number(env.PGPORT || 5432);
  let host = env.PGHOST;
  if (!host) {
    const socketDir = ['/var/run/postgresql', '/tmp'].find((d) => existsSync(join(d, `.s.PGSQL.${port}`)));
    host = socketDir ?? 'localhost';
  }
  const user = env.PGUSER || userInfo().username;
  const database = env.PGDATABASE || user;
  const connection: ClientConfig = { host, port, user, database };
  if (env.PGPASSWORD) connection.password = env.PGPASSWORD;
  const shownHost = host.startsWith('/') ? `[${host}]` : host;
  return {
    name: 'local',
    source: 'default',
    connection,
    display: `postgres://${user}@${shownHost}:${port}/${database}`,
    database,
    secrets: env.PGPASSWORD ? [env.PGPASSWORD] : [],
  };
}

export interface TargetFlags {
  target?: string;
  database?: string;
}

/**
 * The target: --database, then --target, then DATABASE_URL, then the file's defaultTarget (or
 * its first target), then libpq's defaults, but only when the file configures no target at all
 * (no "targets" key). A name that --target or defaultTarget gives and no target has is an
 * error, never a fall back to another server.
 */
export function resolveTarget(config: Config, flags: TargetFlags, env: NodeJS.ProcessEnv = process.env, file?: string): ResolvedTarget {
  checkSslmodeEnv(env);
  const inFile = file ? ` in ${file}` : '';
  const at = (i: number) => `${file ? `${file}: ` : ''}targets[${i}].url`;
  const known = config.targets.map((x) => x.name);
  if (flags.database) return targetFromUrl('cli', 'flag', flags.database, '--database', env);
  if (flags.target) {
    const i = config.targets.findIndex((x) => x.name === flags.target);
    if (i === -1) {
      throw new UserError(
        `--target: unknown target ${JSON.stringify(flags.target)} (${known.length ? `configured: ${known.join(', ')}` : 'no targets are configured; see "ops config set targets"'})${inFile}`,
      );
    }
    const t = config.targets[i];
    return targetFromUrl(t.name, 'flag', t.url, at(i), env);
  }
  if (env.DATABASE_URL) return targetFromUrl('env', 'env', env.DATABASE_URL, 'DATABASE_URL', env);
  if (config.defaultTarget !== undefined || config.targets.length) {
    const name = config.defaultTarget ?? config.targets[0].name;
    const i = config.targets.findIndex((x) => x.name === name);
    // the schema refuses this already; kept so that no path can fall through to libpq's defaults
    if (i === -1) throw new UserError(`${file ? `${file}: ` : ''}defaultTarget: no target named ${JSON.stringify(name)} (${known.length ? `targets: ${known.join(', ')}` : 'no targets are configured'})`);
    const t = config.targets[i];
    return targetFromUrl(t.name, 'file', t.url, at(i), env);
  }
  return targetFromLibpqEnv(env);
}

// ---------------------------------------------------------------- the journal's mirror

/** Where the journal is mirrored: one database, or (mirror "target") each target's own. */
export interface MirrorPlace {
  /** the database, as a target (its connection, display and secrets) */
  db: ResolvedTarget;
  /** only the runs on this target (its display) go there; null: every run */
  runsOn: string | null;
}

/**
 * The places `journal.mirror` names: none when it is absent; the URL's database; or, for
 * "target", each configured target's own database (with the runs on that target), and the
 * current target's when it is not one of them (--database).
 */
export function resolveMirror(config: Config, current: ResolvedTarget | null, env: NodeJS.ProcessEnv = process.env, file?: string): MirrorPlace[] {
  const mirror = config.journal?.mirror;
  if (!mirror) return [];
  const where = `${file ? `${file}: ` : ''}journal.mirror`;
  if (mirror !== 'target') return [{ db: targetFromUrl('mirror', 'file', mirror, where, env), runsOn: null }];
  const places = config.targets.map((t, i) => {
    const db = targetFromUrl(t.name, 'file', t.url, `${file ? `${file}: ` : ''}targets[${i}].url`, env);
    return { db, runsOn: db.display };
  });
  if (current && !places.some((p) => p.runsOn === current.display)) places.push({ db: current, runsOn: current.display });
  return places;
}

// ---------------------------------------------------------------- settings

export interface GlobalFlags extends TargetFlags {
  refresh?: number;
  readOnly?: boolean;
  noColor?: boolean;
  debug?: boolean;
}

export interface Settings {
  config: Config;
  configFile: string;
  target: ResolvedTarget;
  refreshMs: number;
  color: boolean;
  readOnly: boolean;
  debug: boolean;
  /** where the journal is mirrored (journal.mirror); empty or absent: nowhere */
  mirror?: MirrorPlace[];
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const configFile = configPath(env);
  const config = loadConfigFile(configFile);
  const envRefresh = env.OPS_REFRESH ? Number(env.OPS_REFRESH) : undefined;
  if (envRefresh !== undefined && !(envRefresh >= 1 && envRefresh <= 3600)) {
    throw new UserError(`OPS_REFRESH: expected seconds between 1 and 3600, got "${env.OPS_REFRESH}"`);
  }
  const refreshSec = flags.refresh ?? envRefresh ?? config.refreshSec;
  const target = resolveTarget(config, flags, env, configFile);
  const mirror = resolveMirror(config, target, env, configFile);
  // the mirror's password is scrubbed wherever the target's is
  for (const p of mirror) for (const sec of p.db.secrets) if (!target.secrets.includes(sec)) target.secrets.push(sec);
  return {
    config,
    configFile,
    target,
    mirror,
    refreshMs: Math.round(refreshSec * 1000),
    color: !flags.noColor && !('NO_COLOR' in env && env.NO_COLOR !== ''),
    readOnly: !!flags.readOnly,
    debug: !!flags.debug,
  };
}
