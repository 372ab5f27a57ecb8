// backup: pg_dump a database into the backup directory, in custom format (-Fc), with a
// sha256sum-compatible checksum beside it, and check that pg_restore can read it back.
//
// The dump is written as .<file>.partial, a hidden name no backup glob matches, and gets its
// final name only once pg_dump succeeded, its checksum is on disk and it reads back: a dump
// that failed, was cancelled or was cut short by a server stop never looks like a backup.
//
//   1. check     the directory exists, is writable and has room; choose the file name and
//                create the unfinished file
//                rollback: rm -f the unfinished file (what a failed or cancelled pg_dump leaves)
//   2. dump      pg_dump -Fc -f <dir>/.<db>-<YYYYMMDD-HHMMSS>.dump.partial, the password in
//                PGPASSWORD only, --verbose: its progress: tables done of those step 1 counted, bytes written
//                rollback: rm -f the unfinished file
//   3. checksum  <file>.sha256 ("<hex>  <basename>", and the dump's size and mtime as a comment
//                sha256sum -c skips), computed by streaming the file, fsynced
//                rollback: rm -f the .sha256
//   4. list      pg_restore --list of the unfinished file succeeds (read-only: nothing to undo)
//   5. rename    the unfinished file becomes <dir>/<db>-<YYYYMMDD-HHMMSS>.dump (fsynced first,
//                and only while it is as the .sha256 records it); the directory is fsynced
//                rollback: rm -f the dump
//
// Every rollback only removes files: none needs the database.
// Values passed forward: file, partial, sha256 (and serverVersionNum, which picks the pg_dump binary,
// and tables, what the dump's progress counts to: tables done of total, from pg_dump --verbose).
// A run journaled by an older ops (four steps, no `partial`: it wrote under the final name) is
// rolled back the same way: its unfinished file was the final name.
import { access, constants, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { checksumPath, CHECKSUM_SUFFIX, partialPath, promoteDump, sha256File, writeChecksum } from '../src/backups';
import { formatBytes } from '../src/util/format';
import type { CommandProgress, PlanFindings, PlanIO, RunContext, TaskDef } from '../src/tasks/model';
import { pgToolLine } from '../src/tasks/command-progress';
import { libpqArgs, pgBin, targetDatabase } from '../src/pg/env';

/** Local time as YYYYMMDD-HHMMSS (sep between date and time configurable). */
export function timestamp(d = new Date(), sep = '-'): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${sep}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** A database name made safe for a file name (anything but letters, digits, _ . - becomes _). */
export function fileSafe(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return s || 'db';
}

export { sha256File } from '../src/backups';

const LONG = 6 * 3600_000;
/** fail below this much free space whatever the database's size */
const MIN_FREE_BYTES = 16 * 1024 * 1024;

const NO_DIR = 'no backup directory: give --param dir=<directory> or set backup.dir in the configuration';

function backupDir(ctx: Pick<RunContext, 'params' | 'config'>): string {
  const dir = (ctx.params.dir as string | undefined) ?? ctx.config.backup?.dir;
  if (!dir) throw new Error(NO_DIR);
  return resolve(dir);
}

function database(ctx: Pick<RunContext, 'params' | 'target'>): string {
  return (ctx.params.database as string | undefined) ?? targetDatabase(ctx.target);
}

/** Why the directory cannot take a dump (missing, not a directory, not writable), or null. Read-only. */
async function dirProblem(dir: string): Promise<string | null> {
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `backup directory ${dir} does not exist` : `cannot read backup directory ${dir}: ${code ?? (err as Error).message}`;
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `backup directory ${dir} is not writable${code === 'EROFS' ? ' (read-only file system)' : ''}`;
  }
  return null;
}

/** Free space against the database's size: the refusal when a dump cannot fit, and the line saying both. */
function roomFor(dir: string, db: string, free: number, size: number): { refuse: string | null; line: string } {
  const line = `${formatBytes(free)} free in ${dir}; database ${db} is ${formatBytes(size)} on disk (indexes included, the dump is compressed)`;
  // a -Fc dump holds table data only (no indexes), compressed: usually well under a quarter of
  // the database's size on disk; less free space than that is a sure failure
  const refuse = free < MIN_FREE_BYTES || free < size / 4 ? `not enough free space in ${dir}: ${formatBytes(free)} free, database ${db} is ${formatBytes(size)}` : null;
  return { refuse, line };
}

/** The plan's reading, read-only: the directory (given, or backup.dir), its room, the database's size. */
async function planBackup(io: PlanIO): Promise<PlanFindings> {
  const given = (io.params.dir as string | undefined) ?? io.config.backup?.dir;
  if (!given) return { lines: [], refusal: NO_DIR };
  const dir = resolve(given);
  const db = database(io);
  const problem = await dirProblem(dir);
  if (problem) return { lines: [], refusal: problem };
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const size = Number((await io.sql('SELECT pg_database_size($1)::bigint AS size', [db])).rows[0].size);
  const room = roomFor(dir, db, free, size);
  const lines = [room.line, `the dump goes to ${join(dir, `${fileSafe(db)}-YYYYMMDD-HHMMSS.dump`)} (the time it starts)`];
  return room.refuse ? { lines, refusal: room.refuse } : { lines };
}

/** The dump's final name: chosen by step 1; before the run, the plan shows its pattern. */
function dumpFile(ctx: RunContext): string {
  const file = ctx.values.file as string | undefined;
  return file ?? join(backupDir(ctx), `${fileSafe(database(ctx))}-YYYYMMDD-HHMMSS.dump`);
}

/** Where pg_dump writes until the dump is complete (a run of an older ops wrote straight to the final name). */
function partialFile(ctx: RunContext): string {
  const partial = ctx.values.partial as string | undefined;
  if (partial) return partial;
  if (ctx.values.file) return ctx.values.file as string;
  return partialPath(dumpFile(ctx));
}

/**
 * The tables whose data pg_dump dumps, as it names them (`dumping contents of table`): ordinary
 * tables and partitions (relkind r; a partitioned parent, a view, a matview, a sequence or a
 * foreign table has no TABLE DATA), outside the schemas pg_dump never dumps (pg_*,
 * information_schema), and not an extension's own unless it is one of its configuration tables.
 * Counted on the connection's database only: null for another database. Read-only.
 */
export const DUMPED_TABLES_SQL = `SELECT CASE WHEN current_database() = $1 THEN (
  SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
     AND (NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          OR c.oid IN (SELECT unnest(extconfig) FROM pg_extension WHERE extconfig IS NOT NULL)))
END AS tables`;

/** pg_dump --verbose's progress: tables done of `total` (a value passed forward), and the file it writes. */
export function dumpProgress(total: unknown, file: string): CommandProgress {
  return { source: 'pg_dump', total: typeof total === 'number' ? total : null, line: (l) => pgToolLine('pg_dump', l), file };
}

const rmFiles = (...files: string[]) => ({ kind: 'command' as const, argv: ['rm', '-f', '--', ...files] });

export const backup: TaskDef = {
  id: 'backup',
  title: 'Back up a database (pg_dump)',
  description:
    'pg_dump -Fc into the backup directory under a hidden unfinished name, write <file>.sha256 (sha256sum -c ' +
    'reads it), check that pg_restore --list reads the archive, and only then name it <db>-<YYYYMMDD-HHMMSS>.dump: ' +
    'a failed dump never counts as a backup. Rolling back removes the dump, its checksum and any unfinished ' +
    'file, with no database needed. The password reaches pg_dump through PGPASSWORD, never its command line.',
  risk: 'medium',
  params: z
    .object({
      database: z.string().min(1, 'give a database name').optional(),
      dir: z.string().min(1, 'give a directory').optional(),
    })
    .strict() as unknown as TaskDef['params'],
  plan: planBackup,
  paramDefaults: (ctx) => ({ dir: ctx.config.backup?.dir, database: targetDatabase(ctx.target) }),
  // file (step 1) and size (step 3); done says whether step 5 gave it its name
  changed: (values) => {
    if (typeof values.file !== 'string') return null;
    const size = typeof values.size === 'number' ? ` (${formatBytes(values.size)})` : '';
    return values.named === true ? `dump ${values.file}${size}` : `unfinished dump ${typeof values.partial === 'string' ? values.partial : values.file}${size}`;
  },
  steps: [
    {
      id: 'check',
      title: 'Check the backup directory',
      action: (ctx) => {
        const dir = backupDir(ctx);
        const db = database(ctx);
        return {
          kind: 'fn',
          describe: `check that ${dir} exists, is writable and has room for a dump of ${db}`,
          run: async (io) => {
            const problem = await dirProblem(dir);
            if (problem) throw new Error(problem);
            const fs = await statfs(dir);
            const free = Number(fs.bavail) * Number(fs.bsize);
            const r = await io.sql(
              `SELECT pg_database_size($1)::bigint AS size, current_setting('server_version_num')::int AS v`,
              [db],
            );
            const size = Number(r.rows[0].size);
            const serverVersionNum = Number(r.rows[0].v);
            // what the dump's progress counts to (null when the dump is of another database)
            const t = (await io.sql(DUMPED_TABLES_SQL, [db])).rows[0]?.tables;
            const tables = t === null || t === undefined ? null : Number(t);
            const room = roomFor(dir, db, free, size);
            io.log(room.line);
            if (room.refuse) throw new Error(room.refuse);
            if (free < size) io.log(`free space is below the database's size; the dump may not fit if its data does not compress`, 'err');
            const stem = `${fileSafe(db)}-${timestamp()}`;
            let file = join(dir, `${stem}.dump`);
            for (let n = 2; (await exists(file)) || (await exists(checksumPath(file))) || (await exists(partialPath(file))); n++) file = join(dir, `${stem}-${n}.dump`);
            const partial = partialPath(file);
            // created here, readable by its owner only: pg_dump writes into it and keeps the mode
            // (a dump holds every row of the database)
            await writeFile(partial, '', { mode: 0o600, flag: 'wx' });
            io.log(`the dump goes to ${file} (written as ${basename(partial)} until it is complete)`);
            return { file, partial, serverVersionNum, tables };
          },
        };
      },
      // pg_dump leaves a partial file when it fails or is cancelled, and a failed step offers no
      // rollback of its own: this one removes it, and a checksum's temp file (rm -f: nothing
      // happens when there is none)
      rollback: (ctx) => rmFiles(partialFile(ctx), join(dirname(dumpFile(ctx)), `.${basename(dumpFile(ctx))}${CHECKSUM_SUFFIX}.tmp`)),
      discardsOutput: true,
    },
    {
      id: 'dump',
      title: 'Dump the database (pg_dump -Fc)',
      timeoutMs: LONG,
      action: (ctx) => {
        const conn = libpqArgs(ctx.target, database(ctx));
        const bin = pgBin('pg_dump', ctx.values.serverVersionNum as number | undefined);
        // --verbose: it names each table it dumps, which is its progress (logged as info)
        return {
          kind: 'command',
          argv: [bin, '-Fc', '--no-password', '-f', partialFile(ctx), ...conn.args, '--verbose'],
          env: conn.env,
          progress: dumpProgress(ctx.values.tables, partialFile(ctx)),
        };
      },
      rollback: (ctx) => rmFiles(partialFile(ctx)),
      discardsOutput: true,
    },
    {
      id: 'checksum',
      title: 'Write the sha256 checksum',
      timeoutMs: LONG,
      action: (ctx) => {
        const file = dumpFile(ctx);
        const partial = partialFile(ctx);
        return {
          kind: 'fn',
          describe: `sha256 of ${partial} into ${checksumPath(file)}`,
          run: async (io) => {
            const size = (await stat(partial)).size;
            const hex = await sha256File(partial, io.signal);
            await writeChecksum(partial, file, hex);
            io.log(`${hex}  ${basename(file)} (${formatBytes(size)})`);
            return { sha256: hex, size };
          },
        };
      },
      rollback: (ctx) => rmFiles(checksumPath(dumpFile(ctx))),
      discardsOutput: true,
    },
    {
      id: 'list',
      title: 'Check the archive reads back (pg_restore --list)',
      timeoutMs: LONG,
      // read-only: nothing to undo
      action: (ctx) => ({
        kind: 'command',
        argv: [pgBin('pg_restore', ctx.values.serverVersionNum as number | undefined), '--list', partialFile(ctx)],
      }),
    },
    {
      id: 'rename',
      title: 'Give the dump its name (from now on it counts as a backup)',
      action: (ctx) => {
        const file = dumpFile(ctx);
        const partial = partialFile(ctx);
        return {
          kind: 'fn',
          describe: `rename ${partial} to ${file}, once it is as ${basename(checksumPath(file))} records it`,
          run: async (io) => {
            await promoteDump(partial, file);
            io.log(`backup ${file} is complete`);
            return { named: true };
          },
        };
      },
      rollback: (ctx) => rmFiles(dumpFile(ctx)),
      discardsOutput: true,
    },
  ],
};

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
