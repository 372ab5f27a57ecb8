// verify-backup: proves a dump restores, by restoring it into a scratch database and comparing
// exact row counts with the source database.
//
//   1. pick      the file (default: the newest *.dump matching backup.glob in backup.dir that the
//                backup check counts: complete, not empty, with a .sha256) and check its .sha256
//                when there is one (a mismatch fails here, before anything is created)
//   2. create    CREATE DATABASE "ops_verify_<timestamp>_<random>" TEMPLATE template0
//                rollback: DROP DATABASE IF EXISTS ... WITH (FORCE)
//   3. restore   pg_restore --no-owner --no-privileges -d <scratch> <file>
//   4. compare   SELECT count(*) of every user table, in the source and in the scratch database;
//                every table is listed ("public.orders 1200 = 1200"); any difference fails the step
//   5. drop      DROP DATABASE IF EXISTS ... WITH (FORCE)
//
// The scratch database never outlives the run: on success step 5 drops it; when step 3 or 4
// fails (or is cancelled) the run stops before step 5, and the rollback of step 2, first in the
// rollback prompt, drops it. Nothing else is changed: the source database is only read.
//
// Row counts are compared against the live source: on a database that is being written to, the
// counts of the tables written since the dump differ, and are reported as such.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type pg from 'pg';
import { loadPg } from '../src/pg/load';
import * as z from 'zod';
import { judgeBackup, notABackup, parseChecksum, PARTIAL_SUFFIX } from '../src/backups';
import { globToRegExp } from '../src/probes/backup';
import { quoteIdent, quoteQualified, type Action, type RunContext, type StepIO, type TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';
import { sha256File, timestamp } from './backup';
import { clientConfig, libpqArgs, pgBin, targetDatabase } from '../src/pg/env';

const LONG = 6 * 3600_000;

function sourceDb(ctx: RunContext): string {
  return (ctx.params.database as string | undefined) ?? targetDatabase(ctx.target);
}

function scratchName(ctx: RunContext): string {
  return (ctx.values.scratch as string | undefined) ?? 'ops_verify_<YYYYMMDD_HHMMSS>_<random>';
}

function dumpFile(ctx: RunContext): string {
  const file = (ctx.values.file as string | undefined) ?? (ctx.params.file as string | undefined);
  if (file) return resolve(file);
  const dir = ctx.config.backup?.dir;
  if (!dir) throw new Error('no file to verify: give --param file=<dump> or set backup.dir in the configuration');
  return join(resolve(dir), `<newest complete ${ctx.config.backup?.glob ?? '*'} ending in .dump>`);
}

/**
 * The newest backup in `dir` the backup check would count, among the files matching `glob` and
 * ending in .dump: not an unfinished dump, not empty, with a .sha256 beside it (whose record, when
 * it has one, fits the file). Its sha256 is checked by the pick step itself. With none, `skipped`
 * says why the newest file was passed over.
 */
export async function newestDump(dir: string, glob: string): Promise<{ file: string | null; skipped: string | null }> {
  const re = globToRegExp(glob);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  const files: { name: string; size: bigint; mtimeNs: bigint }[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.dump') || notABackup(e.name, glob) || !re.test(e.name)) continue;
    const s = await stat(join(dir, e.name), { bigint: true }).catch(() => null);
    if (s) files.push({ name: e.name, size: s.size, mtimeNs: s.mtimeNs });
  }
  files.sort((a, b) => (a.mtimeNs === b.mtimeNs ? 0 : a.mtimeNs > b.mtimeNs ? -1 : 1));
  let skipped: string | null = null;
  for (const f of files) {
    // no time for hashing here (untilMs 0): a .sha256 without a record is checked by the pick step
    const v = await judgeBackup(dir, f.name, f, names, 0);
    if (v.counts || v.pending) return { file: join(dir, f.name), skipped };
    skipped ??= `${f.name}: ${v.reason}`;
  }
  return { file: null, skipped };
}

/** DROP DATABASE IF EXISTS, forcing other sessions out (WITH (FORCE) from PostgreSQL 13). */
function dropScratch(ctx: RunContext): Action {
  const name = scratchName(ctx);
  const sql = `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`;
  return {
    kind: 'fn',
    describe: sql,
    run: async (io) => {
      const v = Number((await io.sql(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v);
      if (v >= 130000) {
        await io.sql(sql);
      } else {
        await io.sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await io.sql(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      }
      io.log(`scratch database ${name} dropped`);
    },
  };
}

const TABLES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   ORDER BY 1, 2`;

/** Exact row counts of every user table (ordinary tables and partitions), by "schema.table". */
async function countRows(c: pg.Client, io: StepIO, label: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const tables = (await c.query<{ schema: string; name: string }>(TABLES_SQL)).rows;
  for (const t of tables) {
    if (io.signal.aborted) throw new Error('cancelled');
    const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteQualified(t.schema, t.name)}`);
    out.set(`${t.schema}.${t.name}`, BigInt(r.rows[0].n));
  }
  io.log(`${tables.length} table${tables.length === 1 ? '' : 's'} counted in ${label}`, 'info');
  return out;
}

async function connectTo(ctx: RunContext, dbname: string): Promise<pg.Client> {
  const c = new (await loadPg()).Client(clientConfig(ctx.target, dbname));
  c.on('error', () => undefined); // reported by the next query
  await c.connect();
  return c;
}

export const verifyBackup: TaskDef = {
  id: 'verify-backup',
  title: 'Verify a backup by restoring it',
  description:
    'Checks the dump against its .sha256, restores it into a scratch database, compares the exact row ' +
    'count of every table with the source database, and drops the scratch database. When a step fails ' +
    'after the scratch database was created, rolling back step 2 drops it. The source is only read.',
  risk: 'low',
  params: z
    .object({
      file: z.string().min(1, 'give a dump file').optional(),
      database: z.string().min(1, 'give a database name').optional(),
    })
    .strict() as unknown as TaskDef['params'],
  steps: [
    {
      id: 'pick',
      title: 'Pick the dump and check its checksum',
      timeoutMs: LONG,
      action: (ctx) => {
        const given = ctx.params.file as string | undefined;
        const dir = ctx.config.backup?.dir;
        const glob = ctx.config.backup?.glob ?? '*';
        if (!given && !dir) throw new Error('no file to verify: give --param file=<dump> or set backup.dir in the configuration');
        return {
          kind: 'fn',
          describe: given
            ? `check ${resolve(given)} against its .sha256`
            : `pick the newest complete backup matching ${glob} and ending in .dump in ${resolve(dir!)}; check it against its .sha256`,
          run: async (io) => {
            let file: string;
            if (given) {
              file = resolve(given);
            } else {
              const found = await newestDump(resolve(dir!), glob).catch((err: NodeJS.ErrnoException) => {
                throw new Error(err.code === 'ENOENT' ? `backup directory ${resolve(dir!)} does not exist` : `cannot read ${resolve(dir!)}: ${err.code ?? err.message}`);
              });
              if (!found.file) {
                throw new Error(
                  found.skipped
                    ? `no complete backup matching ${glob} and ending in .dump in ${resolve(dir!)} (${found.skipped}); name one with --param file=<dump>`
                    : `no file matching ${glob} and ending in .dump in ${resolve(dir!)}`,
                );
              }
              if (found.skipped) io.log(`newer, passed over: ${found.skipped}`, 'err');
              file = found.file;
            }
            const st = await stat(file).catch(() => null);
            if (!st?.isFile()) throw new Error(`${file} does not exist or is not a file`);
            if (st.size === 0) throw new Error(`${file} is empty`);
            if (file.endsWith(PARTIAL_SUFFIX)) throw new Error(`${file} is an unfinished dump (a backup that failed or is still being written)`);
            io.log(`${file} (${formatBytes(st.size)}, written ${st.mtime.toISOString()})`);
            const hex = await sha256File(file, io.signal);
            let checksum: 'ok' | 'absent' = 'absent';
            const sumText = await readFile(`${file}.sha256`, 'utf8').catch(() => null);
            if (sumText === null) {
              io.log(`no ${basename(file)}.sha256 beside it: the checksum is not checked (sha256 ${hex})`, 'err');
            } else {
              const expected = parseChecksum(sumText)?.hex;
              if (!expected) throw new Error(`${file}.sha256 does not hold a sha256 checksum`);
              if (expected !== hex) throw new Error(`sha256 mismatch: ${basename(file)} is ${hex}, ${basename(file)}.sha256 says ${expected}`);
              io.log(`sha256 ${hex} matches ${basename(file)}.sha256`);
              checksum = 'ok';
            }
            const v = Number((await io.sql(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v);
            const scratch = `ops_verify_${timestamp(new Date(), '_')}_${randomBytes(2).toString('hex')}`;
            return { file, sha256: hex, checksum, scratch, serverVersionNum: v };
          },
        };
      },
    },
    {
      id: 'create',
      title: 'Create the scratch database',
      action: (ctx) => ({ kind: 'sql', text: `CREATE DATABASE ${quoteIdent(scratchName(ctx))} TEMPLATE template0` }),
      // also what cleans up after a failed or cancelled restore or comparison
      rollback: (ctx) => dropScratch(ctx),
    },
    {
      id: 'restore',
      title: 'Restore the dump into the scratch database',
      timeoutMs: LONG,
      // no rollback of its own: what it restored goes with the scratch database (step 2's rollback)
      action: (ctx) => {
        const conn = libpqArgs(ctx.target, scratchName(ctx));
        const bin = pgBin('pg_restore', ctx.values.serverVersionNum as number | undefined);
        return {
          kind: 'command',
          argv: [bin, '--no-owner', '--no-privileges', '--no-password', ...conn.args, dumpFile(ctx)],
          env: conn.env,
        };
      },
    },
    {
      id: 'compare',
      title: 'Compare row counts with the source',
      timeoutMs: LONG,
      // read-only: nothing to undo
      action: (ctx) => {
        const src = sourceDb(ctx);
        const scratch = scratchName(ctx);
        return {
          kind: 'fn',
          describe: `SELECT count(*) of every table in ${quoteIdent(src)} and in ${quoteIdent(scratch)}, and compare`,
          run: async (io) => {
            const clients: pg.Client[] = [];
            const onAbort = () => void cancelQueries(ctx, src, clients);
            io.signal.addEventListener('abort', onAbort, { once: true });
            try {
              const a = await connectTo(ctx, src);
              clients.push(a);
              const b = await connectTo(ctx, scratch);
              clients.push(b);
              const source = await countRows(a, io, `source ${src}`);
              const restored = await countRows(b, io, `restored ${scratch}`);
              const names = [...new Set([...source.keys(), ...restored.keys()])].sort();
              const differ: string[] = [];
              let rows = 0n;
              for (const name of names) {
                const s = source.get(name);
                const r = restored.get(name);
                const same = s !== undefined && r !== undefined && s === r;
                io.log(`${name} ${s ?? '(missing)'} ${same ? '=' : '≠'} ${r ?? '(missing)'}`, same ? 'out' : 'err');
                if (!same) differ.push(`${name} (source ${s ?? 'missing'}, backup ${r ?? 'missing'})`);
                rows += r ?? 0n;
              }
              if (differ.length) {
                throw new Error(`row counts differ in ${differ.length} of ${names.length} tables: ${differ.join(', ')}`);
              }
              io.log(`${names.length} table${names.length === 1 ? '' : 's'}, ${rows} rows: all row counts match`, 'info');
              return { tablesCompared: names.length, rowsCompared: Number(rows) };
            } finally {
              io.signal.removeEventListener('abort', onAbort);
              await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
            }
          },
        };
      },
    },
    {
      id: 'drop',
      title: 'Drop the scratch database',
      // removes only what step 2 created; on failure before this step, step 2's rollback does it
      action: (ctx) => dropScratch(ctx),
    },
  ],
};

/** On cancel: the counting connections' queries are cancelled from a short-lived connection. */
async function cancelQueries(ctx: RunContext, db: string, clients: pg.Client[]): Promise<void> {
  const pids = clients.map((c) => (c as unknown as { processID?: number }).processID).filter((p): p is number => typeof p === 'number');
  if (!pids.length) return;
  try {
    const c = await connectTo(ctx, db);
    try {
      await c.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
    } finally {
      await c.end();
    }
  } catch {
    /* the queries end anyway when their connections do */
  }
}
