// restore: overwrite a database with a pg_dump -Fc archive, after taking a safety backup of it.
//
//   1. check          the dump exists, is not empty and matches its .sha256 when there is one; the
//                     database exists; the safety backup's directory is writable and has room.
//                     Chooses the safety backup's name: <db>-before-restore-<YYYYMMDD-HHMMSS>.dump in
//                     backup.dir (else beside the dump). Counts, read-only, what steps 3 and 5
//                     report their progress against: the database's tables pg_dump will dump and
//                     the archive's TABLE DATA entries (pg_restore --list).
//                     rollback: rm -f <safety>.partial (what a failed or cancelled pg_dump leaves);
//                     never the finished safety backup
//   2. list           pg_restore --list <file>: the archive reads (read-only: nothing to undo)
//   3. safety-backup  pg_dump -Fc -f <safety>.partial of the database as it is now (--verbose:
//                     tables done of those counted, and bytes written, as its progress)
//                     (no rollback: a partial file is removed by step 1's rollback)
//   4. safety-seal    pg_restore --list reads it back, <safety>.sha256 beside it (with the sealed
//                     record the backup check reads, fsynced), then the rename of
//                     <safety>.partial to <safety>: only now does the safety backup exist, and
//                     only then can step 5 start. The safety backup is kept whatever happens next;
//                     it is the way back (no rollback: nothing to undo, it only adds files)
//   5. restore        pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error
//                     --verbose -d <db> <file> (tables done of the archive's, as its progress).
//                     One transaction: a restore that fails or is cancelled part-way changes
//                     nothing at all.
//                     rollback: the same pg_restore from the safety backup, which puts back what the
//                     database held when step 3 ran
//
// --clean drops and recreates the objects the archive holds; objects that are not in it are left
// alone (and one that depends on an object being dropped makes the whole restore fail, unchanged).
// The password reaches pg_dump and pg_restore through PGPASSWORD, never their command lines.
import { execa } from 'execa';
import { access, constants, readFile, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import type { CommandProgress, RunContext, TaskDef } from '../src/tasks/model';
import { pgToolLine } from '../src/tasks/command-progress';
import { formatBytes } from '../src/util/format';
import { checksumPath, parseChecksum, PARTIAL_SUFFIX, promoteDump, sha256File, writeChecksum } from '../src/backups';
import { dumpProgress, DUMPED_TABLES_SQL, fileSafe, timestamp } from './backup';
import { libpqArgs, pgBin, targetDatabase } from '../src/pg/env';

const LONG = 6 * 3600_000;
const MIN_FREE_BYTES = 16 * 1024 * 1024;

function database(ctx: RunContext): string {
  return (ctx.params.database as string | undefined) ?? targetDatabase(ctx.target);
}

function dumpFile(ctx: RunContext): string {
  return resolve(String(ctx.params.file));
}

function safetyDir(ctx: RunContext): string {
  const dir = ctx.config.backup?.dir;
  return resolve(dir ?? dirname(dumpFile(ctx)));
}

/** The safety backup: chosen by step 1; before the run, the plan shows its pattern. */
function safetyFile(ctx: RunContext): string {
  return (ctx.values.safetyFile as string | undefined) ?? join(safetyDir(ctx), `${fileSafe(database(ctx))}-before-restore-YYYYMMDD-HHMMSS.dump`);
}

function version(ctx: RunContext): number | undefined {
  return ctx.values.serverVersionNum as number | undefined;
}

/** pg_restore --verbose's progress: tables done of `total`, the archive's TABLE DATA entries (a value passed forward). */
function restoreProgress(total: unknown): CommandProgress {
  return { source: 'pg_restore', total: typeof total === 'number' ? total : null, line: (l) => pgToolLine('pg_restore', l) };
}

/** The TABLE DATA entries of an archive, as pg_restore --list lists them (`3378; 0 16895 TABLE DATA public a postgres`); null when it does not read. */
export async function archiveTables(bin: string, file: string, signal: AbortSignal): Promise<number | null> {
  const list = await execa(bin, ['--list', file], { reject: false, cancelSignal: signal, stdin: 'ignore' });
  if (list.exitCode !== 0) return null;
  return String(list.stdout).split('\n').filter((l) => /^\d+; \d+ \d+ TABLE DATA /.test(l)).length;
}

/** pg_restore of `file`, --verbose (it names each table it restores: its progress, logged as info) */
function restoreAction(ctx: RunContext, file: string, tables: unknown) {
  const conn = libpqArgs(ctx.target, database(ctx));
  return {
    kind: 'command' as const,
    argv: [pgBin('pg_restore', version(ctx)), '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error', '--no-password', '--verbose', ...conn.args, file],
    env: conn.env,
    progress: restoreProgress(tables),
  };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export const restore: TaskDef = {
  id: 'restore',
  title: 'Restore a database from a dump (pg_restore --clean)',
  description:
    'Overwrites the database with a pg_dump -Fc archive: checks it (and its .sha256), takes a safety ' +
    'backup of the database first (<db>-before-restore-<timestamp>.dump in backup.dir, else beside the ' +
    'dump; it is kept), then pg_restore --clean --if-exists --no-owner in a single transaction, so a ' +
    'failed restore changes nothing. Rolling back the restore restores the safety backup the same way.',
  risk: 'critical',
  params: z
    .object({
      file: z.string().min(1, 'give the dump file to restore'),
      database: z.string().min(1, 'give a database name').optional(),
    })
    .strict() as unknown as TaskDef['params'],
  steps: [
    {
      id: 'check',
      title: 'Check the dump, the database and room for a safety backup',
      timeoutMs: LONG,
      action: (ctx) => {
        const file = dumpFile(ctx);
        const db = database(ctx);
        const dir = safetyDir(ctx);
        return {
          kind: 'fn',
          describe: `check ${file} (and its .sha256), that database ${db} exists, and that ${dir} has room for a safety backup`,
          run: async (io) => {
            const st = await stat(file).catch(() => null);
            if (!st?.isFile()) throw new Error(`${file} does not exist or is not a file`);
            if (st.size === 0) throw new Error(`${file} is empty`);
            if (file.endsWith(PARTIAL_SUFFIX)) throw new Error(`${file} is an unfinished dump (a backup that failed or is still being written)`);
            io.log(`${file} (${formatBytes(st.size)}, written ${st.mtime.toISOString()})`);
            const sumText = await readFile(checksumPath(file), 'utf8').catch(() => null);
            if (sumText === null) {
              io.log(`no ${basename(file)}.sha256 beside it: the checksum is not checked`, 'err');
            } else {
              const expected = parseChecksum(sumText)?.hex;
              if (!expected) throw new Error(`${file}.sha256 does not hold a sha256 checksum`);
              const hex = await sha256File(file, io.signal);
              if (expected !== hex) throw new Error(`sha256 mismatch: ${basename(file)} is ${hex}, ${basename(file)}.sha256 says ${expected}`);
              io.log(`sha256 ${hex} matches ${basename(file)}.sha256`);
            }

            const r = await io.sql(
              `SELECT (SELECT pg_database_size(oid) FROM pg_database WHERE datname = $1)::bigint AS size,
                      current_setting('server_version_num')::int AS v`,
              [db],
            );
            if (r.rows[0].size === null) throw new Error(`database ${db} does not exist`);
            const size = Number(r.rows[0].size);
            const serverVersionNum = Number(r.rows[0].v);
            // what the progress counts to: the safety backup's tables (null for another
            // database than the connection's), and the TABLE DATA entries of the archive
            const t = (await io.sql(DUMPED_TABLES_SQL, [db])).rows[0]?.tables;
            const tables = t === null || t === undefined ? null : Number(t);
            const archive = await archiveTables(pgBin('pg_restore', serverVersionNum), file, io.signal);

            const ds = await stat(dir).catch(() => null);
            if (!ds?.isDirectory()) throw new Error(`safety backup directory ${dir} does not exist or is not a directory`);
            try {
              await access(dir, constants.W_OK);
            } catch {
              throw new Error(`safety backup directory ${dir} is not writable`);
            }
            const fs = await statfs(dir);
            const free = Number(fs.bavail) * Number(fs.bsize);
            io.log(`${formatBytes(free)} free in ${dir}; database ${db} is ${formatBytes(size)} on disk`);
            if (free < MIN_FREE_BYTES || free < size / 4) {
              throw new Error(`not enough free space in ${dir} for the safety backup: ${formatBytes(free)} free, database ${db} is ${formatBytes(size)}`);
            }
            const stem = `${fileSafe(db)}-before-restore-${timestamp()}`;
            let safety = join(dir, `${stem}.dump`);
            for (let n = 2; (await exists(safety)) || (await exists(`${safety}.partial`)); n++) safety = join(dir, `${stem}-${n}.dump`);
            if (safety === file) throw new Error(`the safety backup would overwrite the dump itself: ${file}`);
            // created here, readable by its owner only: pg_dump writes into it and keeps the mode
            await writeFile(`${safety}.partial`, '', { mode: 0o600, flag: 'wx' });
            io.log(`the safety backup goes to ${safety}`);
            return { safetyFile: safety, serverVersionNum, tables, archiveTables: archive };
          },
        };
      },
      // removes only the unfinished file: the finished safety backup is never touched
      rollback: (ctx) => ({ kind: 'command', argv: ['rm', '-f', '--', `${safetyFile(ctx)}.partial`] }),
    },
    {
      id: 'list',
      title: 'Check the dump reads (pg_restore --list)',
      timeoutMs: LONG,
      // read-only: nothing to undo
      action: (ctx) => ({ kind: 'command', argv: [pgBin('pg_restore', version(ctx)), '--list', dumpFile(ctx)] }),
    },
    {
      id: 'safety-backup',
      title: 'Take a safety backup of the database (pg_dump -Fc)',
      timeoutMs: LONG,
      // no rollback: the safety backup is kept; a partial file goes with step 1's rollback
      action: (ctx) => {
        const conn = libpqArgs(ctx.target, database(ctx));
        return {
          kind: 'command',
          argv: [pgBin('pg_dump', version(ctx)), '-Fc', '--no-password', '-f', `${safetyFile(ctx)}.partial`, ...conn.args, '--verbose'],
          env: conn.env,
          progress: dumpProgress(ctx.values.tables, `${safetyFile(ctx)}.partial`),
        };
      },
    },
    {
      id: 'safety-seal',
      title: 'Check and keep the safety backup',
      timeoutMs: LONG,
      // only adds the safety backup's checksum and final name; both are kept: nothing to undo
      action: (ctx) => {
        const safety = safetyFile(ctx);
        return {
          kind: 'fn',
          describe: `sha256 into ${safety}.sha256, pg_restore --list ${safety}.partial, rename it to ${safety}`,
          run: async (io) => {
            const partial = `${safety}.partial`;
            const size = (await stat(partial)).size;
            const hex = await sha256File(partial, io.signal);
            const list = await execa(pgBin('pg_restore', version(ctx)), ['--list', partial], {
              reject: false,
              cancelSignal: io.signal,
              stdin: 'ignore',
            });
            if (list.exitCode !== 0) {
              throw new Error(`the safety backup does not read back: pg_restore --list exited with ${String(list.exitCode ?? list.signal)}: ${String(list.stderr).trim().split('\n').at(-1) ?? ''}`);
            }
            const entries = String(list.stdout).split('\n').filter((l) => l && !l.startsWith(';')).length;
            // the .sha256 (with the sealed record the backup check reads), fsynced, then the name
            await writeChecksum(partial, safety, hex);
            await promoteDump(partial, safety);
            io.log(`safety backup ${safety}: ${formatBytes(size)}, ${entries} archive entries, sha256 ${hex} (kept)`);
            return { safetyFile: safety, safetySha256: hex, safetySize: size };
          },
        };
      },
    },
    {
      id: 'restore',
      title: 'Restore the dump (pg_restore --clean, one transaction)',
      timeoutMs: LONG,
      action: (ctx) => restoreAction(ctx, dumpFile(ctx), ctx.values.archiveTables),
      // puts back what the database held before: the safety backup (of step 1's tables), restored the same way
      rollback: (ctx) => restoreAction(ctx, safetyFile(ctx), ctx.values.tables),
    },
  ],
};
