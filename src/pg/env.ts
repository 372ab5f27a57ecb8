// How the built-in tasks reach PostgreSQL from child processes (pg_dump, pg_restore, psql) and
// from connections of their own.
//  - libpqArgs(): -h -p -U -d built from the target's parts; the password goes to the child's
//    environment (PGPASSWORD), never to argv, so it shows in no plan, journal or `ps` listing.
//  - clientConfig(): the target's connection with the database overridden, for a pg.Client.
//  - pgBin(): which pg_dump / pg_restore to run for a given server version.
// A target given as a connection string is parsed with pg-connection-string, the parser
// node-postgres itself uses, so the child processes reach the same server as the task's SQL.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import type { ClientConfig } from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { ResolvedTarget } from '../config/load';

export const TASK_APP_NAME = 'ops-console/task';

/** The connection parts libpq needs, as node-postgres would resolve them. */
export interface TargetParts {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** libpq sslmode, when the target asks for TLS */
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
}

type Env = Record<string, string | undefined>;

/** What these helpers need of a ResolvedTarget: its connection, and its database name if known. */
export type TargetLike = Pick<ResolvedTarget, 'connection'> & { database?: string };

/** The target's host, port, user, database and password; defaults as node-postgres applies them. */
export function targetParts(target: TargetLike, env: Env = process.env): TargetParts {
  const c = target.connection;
  let host = c.host;
  let port: number | undefined = c.port;
  let user = c.user;
  let database = c.database;
  let password = typeof c.password === 'string' ? c.password : undefined;
  let sslmode: string | undefined;
  let sslrootcert: string | undefined;
  let sslcert: string | undefined;
  let sslkey: string | undefined;
  if (c.connectionString) {
    // node-postgres lets the connection string win over the other fields; so do we
    const p = parseConnectionString(c.connectionString);
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    host = str(p.host) ?? host;
    port = str(p.port) ? Number(p.port) : port;
    user = str(p.user) ?? user;
    database = str(p.database) ?? database;
    password = str(p.password) ?? password;
    sslmode = str(p.sslmode) ?? (p.ssl === true || p.ssl === 'true' ? 'require' : undefined);
    sslrootcert = str(p.sslrootcert);
    sslcert = str(p.sslcert);
    sslkey = str(p.sslkey);
  } else if (c.ssl) {
    sslmode = typeof c.ssl === 'object' && c.ssl.rejectUnauthorized === false ? 'require' : 'verify-full';
  }
  const resolvedUser = user || env.PGUSER || env.USER || safeUserName();
  return {
    host: host || env.PGHOST || 'localhost',
    port: port || Number(env.PGPORT || 5432),
    user: resolvedUser,
    database: database || target.database || env.PGDATABASE || resolvedUser,
    ...(password ? { password } : {}),
    ...(sslmode ? { sslmode } : {}),
    ...(sslrootcert ? { sslrootcert } : {}),
    ...(sslcert ? { sslcert } : {}),
    ...(sslkey ? { sslkey } : {}),
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

/** The database a target connects to (the default for the tasks' `database` parameter). */
export function targetDatabase(target: TargetLike, env: Env = process.env): string {
  return targetParts(target, env).database;
}

/**
 * libpq treats a dbname containing "=" or starting with a postgres:// URI as a whole connection
 * string: a parameter like "x host=elsewhere" would send PGPASSWORD to another server. Such names
 * are passed as `dbname='...'` instead, which libpq reads as exactly that name.
 */
export function dbnameArg(dbname: string): string {
  if (!dbname.includes('=') && !/^postgres(ql)?:\/\//i.test(dbname)) return dbname;
  return `dbname='${dbname.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Connection arguments for pg_dump, pg_restore or psql: `-h HOST -p PORT -U USER -d DBNAME`, and
 * the environment that carries the rest (PGPASSWORD when the target has one, PGAPPNAME, TLS).
 */
export function libpqArgs(
  target: TargetLike,
  dbname?: string,
  env: Env = process.env,
): { args: string[]; env: Record<string, string> } {
  const p = targetParts(target, env);
  const childEnv: Record<string, string> = { PGAPPNAME: TASK_APP_NAME };
  if (p.password) childEnv.PGPASSWORD = p.password;
  if (p.sslmode) childEnv.PGSSLMODE = p.sslmode;
  if (p.sslrootcert) childEnv.PGSSLROOTCERT = p.sslrootcert;
  if (p.sslcert) childEnv.PGSSLCERT = p.sslcert;
  if (p.sslkey) childEnv.PGSSLKEY = p.sslkey;
  return {
    args: ['-h', p.host, '-p', String(p.port), '-U', p.user, '-d', dbnameArg(dbname ?? p.database)],
    env: childEnv,
  };
}

/** A pg.Client configuration for the target with the database overridden (a connection of its own). */
export function clientConfig(target: TargetLike, dbname?: string, env: Env = process.env): ClientConfig {
  const c = target.connection;
  const { connectionString: _cs, ...rest } = c;
  const base: ClientConfig = { ...rest, application_name: TASK_APP_NAME };
  if (c.connectionString) {
    const p = targetParts(target, env);
    const parsed = parseConnectionString(c.connectionString);
    Object.assign(base, { host: p.host, port: p.port, user: p.user, database: p.database });
    if (p.password) base.password = p.password;
    if (parsed.ssl !== undefined) base.ssl = parsed.ssl as ClientConfig['ssl'];
  }
  if (dbname !== undefined) base.database = dbname;
  return base;
}

// ---------------------------------------------------------------- binaries

export interface PgBinOptions {
  /** the PATH to search; process.env.PATH by default */
  path?: string;
  /** where Debian-style versioned installs live; /usr/lib/postgresql by default */
  libDir?: string;
  /** the major version of a binary, from `<file> --version`; replaceable for tests */
  version?: (file: string) => number | null;
}

/** PostgreSQL's major version from server_version_num (150004 -> 15, 90624 -> 9.6). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100000
    ? Math.floor(versionNum / 10000)
    : Math.floor(versionNum / 10000) + Math.floor((versionNum % 10000) / 100) / 10;
}

function parseMajor(text: string): number | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text) ?? /(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 10 ? major : Number(`${m[1]}.${m[2] ?? 0}`);
}

const versionCache = new Map<string, number | null>();

/** The major version a PostgreSQL program reports with --version (cached), or null when it does not run. */
export function binaryVersion(file: string): number | null {
  if (versionCache.has(file)) return versionCache.get(file)!;
  let v: number | null = null;
  try {
    v = parseMajor(execFileSync(file, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    v = null;
  }
  versionCache.set(file, v);
  return v;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Debian's /usr/bin/pg_dump is pg_wrapper, which picks a version per invocation. */
function isPgWrapper(file: string): boolean {
  try {
    return /pg_wrapper$/.test(realpathSync(file));
  } catch {
    return false;
  }
}

/**
 * The pg_dump / pg_restore / psql to run against a server of the given version:
 *  1. the first `name` on PATH, when its version is the server's or newer (or the server's
 *     version is not known);
 *  2. else the newest /usr/lib/postgresql/<version>/bin/<name> at or above the server's version;
 *  3. else the newest one found at all (it then reports the version mismatch itself);
 *  4. else just `name` (the step then fails with "not found").
 * Debian's pg_wrapper on PATH is passed over when versioned binaries exist: it has no version of
 * its own, and the explicit choice is the one the plan shows.
 */
export function pgBin(name: string, serverVersionNum?: number | null, opts: PgBinOptions = {}): string {
  const version = opts.version ?? binaryVersion;
  const want = serverVersionNum ? serverMajor(serverVersionNum) : null;

  const versioned: { file: string; major: number }[] = [];
  const libDir = opts.libDir ?? '/usr/lib/postgresql';
  let dirs: string[] = [];
  try {
    dirs = readdirSync(libDir);
  } catch {
    dirs = [];
  }
  for (const d of dirs) {
    if (!/^\d+(\.\d+)?$/.test(d)) continue;
    const file = join(libDir, d, 'bin', name);
    if (executable(file)) versioned.push({ file, major: Number(d) });
  }
  versioned.sort((a, b) => b.major - a.major);

  const onPath = (opts.path ?? process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(executable);
  if (onPath && !(versioned.length && isPgWrapper(onPath))) {
    if (want === null) return onPath;
    const v = version(onPath);
    if (v !== null && v >= want) return onPath;
  }
  if (want !== null) {
    const fit = versioned.find((c) => c.major >= want);
    if (fit) return fit.file;
  }
  if (versioned.length) return versioned[0].file;
  return onPath ?? name;
}
