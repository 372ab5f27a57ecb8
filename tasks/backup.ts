// backup: pg_dump a database into the backup directory, in custom format (-Fc), with a
// sha256sum-compatible checksum beside it, and check that pg_restore can read it back.
//
//   1. check     the directory exists, is writable and has room; choose the file name
//                rollback: rm -f the dump (a pg_dump that failed or was cancelled leaves a partial file)
//   2. dump      pg_dump -Fc -f <dir>/<db>-<YYYYMMDD-HHMMSS>.dump, the password in PGPASSWORD only
//                rollback: rm -f the dump
//   3. checksum  <file>.sha256 ("<hex>  <basename>"), computed by streaming the file
//                rollback: rm -f the .sha256
//   4. list      pg_restore --list <file> succeeds (read-only: nothing to undo)
//
// Values passed forward: file, sha256 (and serverVersionNum, which picks the pg_dump binary).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, stat, statfs, writeFile, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as z from 'zod';
import { formatBytes } from '../src/util/format';
import type { RunContext, TaskDef } from '../src/tasks/model';
import { libpqArgs, pgBin, targetDatabase } from './pgenv';

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

/** The sha256 of a file, streamed (never read whole into memory); stops when `signal` aborts. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const onAbort = () => stream.destroy(new Error('cancelled'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return hash.digest('hex');
}

/** The line sha256sum writes and `sha256sum -c` reads: "<hex>  <basename>". */
export function sha256Line(hex: string, file: string): string {
  return `${hex}  ${basename(file)}\n`;
}

const LONG = 6 * 3600_000;
/** fail below this much free space whatever the database's size */
const MIN_FREE_BYTES = 16 * 1024 * 1024;

function backupDir(ctx: RunContext): string {
  const dir = (ctx.params.dir as string | undefined) ?? ctx.config.backup?.dir;
  if (!dir) throw new Error('no backup directory: give --param dir=<directory> or set backup.dir in the configuration');
  return resolve(dir);
}

function database(ctx: RunContext): string {
  return (ctx.params.database as string | undefined) ?? targetDatabase(ctx.target);
}

/** The dump file: chosen by step 1; before the run, the plan shows its pattern. */
function dumpFile(ctx: RunContext): string {
  const file = ctx.values.file as string | undefined;
  return file ?? join(backupDir(ctx), `${fileSafe(database(ctx))}-YYYYMMDD-HHMMSS.dump`);
}

const rmFile = (file: string) => ({ kind: 'command' as const, argv: ['rm', '-f', '--', file] });

export const backup: TaskDef = {
  id: 'backup',
  title: 'Back up a database (pg_dump)',
  description:
    'pg_dump -Fc into the backup directory as <db>-<YYYYMMDD-HHMMSS>.dump, write <file>.sha256 beside it ' +
    '(sha256sum -c reads it) and check that pg_restore --list reads the archive. Rolling back removes the ' +
    'dump and its checksum. The password reaches pg_dump through PGPASSWORD, never its command line.',
  risk: 'medium',
  params: z
    .object({
      database: z.string().min(1, 'give a database name').optional(),
      dir: z.string().min(1, 'give a directory').optional(),
    })
    .strict() as unknown as TaskDef['params'],
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
            let st;
            try {
              st = await stat(dir);
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code;
              throw new Error(code === 'ENOENT' ? `backup directory ${dir} does not exist` : `cannot read backup directory ${dir}: ${code ?? (err as Error).message}`);
            }
            if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
            try {
              await access(dir, constants.W_OK);
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code;
              throw new Error(`backup directory ${dir} is not writable${code === 'EROFS' ? ' (read-only file system)' : ''}`);
            }
            const fs = await statfs(dir);
            const free = Number(fs.bavail) * Number(fs.bsize);
            const r = await io.sql(
              `SELECT pg_database_size($1)::bigint AS size, current_setting('server_version_num')::int AS v`,
              [db],
            );
            const size = Number(r.rows[0].size);
            const serverVersionNum = Number(r.rows[0].v);
            io.log(`${formatBytes(free)} free in ${dir}; database ${db} is ${formatBytes(size)} on disk (indexes included, the dump is compressed)`);
            // a -Fc dump holds table data only (no indexes), compressed: usually well under a
            // quarter of the database's size on disk; less free space than that is a sure failure
            if (free < MIN_FREE_BYTES || free < size / 4) {
              throw new Error(`not enough free space in ${dir}: ${formatBytes(free)} free, database ${db} is ${formatBytes(size)}`);
            }
            if (free < size) io.log(`free space is below the database's size; the dump may not fit if its data does not compress`, 'err');
            const stem = `${fileSafe(db)}-${timestamp()}`;
            let file = join(dir, `${stem}.dump`);
            for (let n = 2; await exists(file) || await exists(`${file}.sha256`); n++) file = join(dir, `${stem}-${n}.dump`);
            // created here, readable by its owner only: pg_dump writes into it and keeps the mode
            // (a dump holds every row of the database)
            await writeFile(file, '', { mode: 0o600, flag: 'wx' });
            io.log(`the dump goes to ${file}`);
            return { file, serverVersionNum };
          },
        };
      },
      // pg_dump leaves a partial file when it fails or is cancelled, and a failed step offers no
      // rollback of its own: this one removes it (rm -f: nothing happens when there is none)
      rollback: (ctx) => rmFile(dumpFile(ctx)),
    },
    {
      id: 'dump',
      title: 'Dump the database (pg_dump -Fc)',
      timeoutMs: LONG,
      action: (ctx) => {
        const conn = libpqArgs(ctx.target, database(ctx));
        const bin = pgBin('pg_dump', ctx.values.serverVersionNum as number | undefined);
        return { kind: 'command', argv: [bin, '-Fc', '--no-password', '-f', dumpFile(ctx), ...conn.args], env: conn.env };
      },
      rollback: (ctx) => rmFile(dumpFile(ctx)),
    },
    {
      id: 'checksum',
      title: 'Write the sha256 checksum',
      timeoutMs: LONG,
      action: (ctx) => {
        const file = dumpFile(ctx);
        return {
          kind: 'fn',
          describe: `sha256 of ${file} into ${file}.sha256`,
          run: async (io) => {
            const size = (await stat(file)).size;
            const hex = await sha256File(file, io.signal);
            const tmp = `${file}.sha256.tmp`;
            await writeFile(tmp, sha256Line(hex, file), { mode: 0o644 });
            await rename(tmp, `${file}.sha256`);
            io.log(`${hex}  ${basename(file)} (${formatBytes(size)})`);
            return { sha256: hex, size };
          },
        };
      },
      rollback: (ctx) => rmFile(`${dumpFile(ctx)}.sha256`),
    },
    {
      id: 'list',
      title: 'Check the archive reads back (pg_restore --list)',
      timeoutMs: LONG,
      // read-only: nothing to undo
      action: (ctx) => ({
        kind: 'command',
        argv: [pgBin('pg_restore', ctx.values.serverVersionNum as number | undefined), '--list', dumpFile(ctx)],
      }),
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
