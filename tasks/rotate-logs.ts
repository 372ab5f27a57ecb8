// The rotate-logs task (low). No database needed.
//
// rotate-logs (low)
//   1. pick      the regular files in <dir> (not below it) matching <glob> (default *.log) last
//                modified more than olderThanDays (default 1) days ago; never symlinks, *.gz, or a
//                file whose <name>.gz already exists. Read-only: nothing to undo (its rollback is
//                step 2's, for when step 2 fails part-way: a failed step offers no rollback itself)
//   2. compress  gzip each into <name>.gz (a temporary file, fsynced, linked into place without
//                overwriting anything), with the original's mtime, atime and mode; the manifest
//                <dir>/.ops-rotate-<runstamp>.json lists original -> .gz and is rewritten (fsynced)
//                before each original is removed. A file that changes while it is compressed is
//                left alone.
//                rollback: from the manifest, gunzip each .gz back to its name (checked against the
//                original's sha256), restore mtime, atime and mode, remove the .gz and the manifest
//   3. delete-archives   only with deleteArchivesOlderThanDays: delete the <glob>.gz archives in
//                <dir> last modified more than that many days ago (the .gz keeps the log's mtime),
//                except those step 2 just wrote (its rollback still needs them). IRREVERSIBLE.
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, realpathSync, type Stats } from 'node:fs';
import { chmod, lstat, readFile, unlink, utimes } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createGunzip, createGzip } from 'node:zlib';
import * as z from 'zod';
import { globToRegExp } from '../src/probes/backup';
import type { Action, RunContext, TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';
import { timestamp } from './backup';
import { DAY, LONG, MANIFEST_PREFIX, copyOwnership, fsyncPath, linkNoClobber, sha256Of, transformInto, writeAtomic } from './files-shared';

// ---------------------------------------------------------------- rotate-logs

interface Picked {
  name: string;
  size: number;
  mtimeMs: number;
}

interface ManifestEntry {
  original: string;
  gz: string;
  size: number;
  sha256: string;
  mode: number;
  atimeMs: number;
  mtimeMs: number;
}

interface Manifest {
  v: 1;
  task: 'rotate-logs';
  dir: string;
  createdAt: string;
  entries: ManifestEntry[];
}

function rotateDir(ctx: RunContext): string {
  return resolve(String(ctx.params.dir));
}

function manifestPath(ctx: RunContext): string {
  return (ctx.values.manifest as string | undefined) ?? join(rotateDir(ctx), `${MANIFEST_PREFIX}<YYYYMMDD-HHMMSS>.json`);
}

function checkRotateDir(dir: string): void {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `directory ${dir} does not exist` : `cannot read ${dir}: ${code ?? (err as Error).message}`);
  }
  // a symlinked log directory is common (/var/log/app -> /data/logs): it is followed once, here
  if (st.isSymbolicLink()) st = lstatSync(realpathSync(dir));
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (realpathSync(dir) === '/') throw new Error('refusing to rotate files in /');
}

const rotateParams = z
  .object({
    dir: z.string().min(1, 'give the log directory'),
    glob: z.string().min(1).default('*.log'),
    olderThanDays: z.coerce.number().nonnegative().default(1),
    deleteArchivesOlderThanDays: z.coerce.number().nonnegative().optional(),
  })
  .strict();

/** Undoes step 2 from its manifest: back to the original names, bytes, times and modes. */
function unrotate(ctx: RunContext): Action {
  const manifest = manifestPath(ctx);
  return {
    kind: 'fn',
    describe: `gunzip each file listed in ${manifest} back to its name (sha256 checked), restore its mtime, atime and mode, remove the .gz files and the manifest`,
    run: async (io) => {
      if (!ctx.values.manifest) {
        io.log('step 1 chose no manifest: nothing to undo', 'info');
        return { restored: 0 };
      }
      const text = await readFile(manifest, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (text === null) {
        io.log(`no ${basename(manifest)}: nothing was compressed, nothing to undo`, 'info');
        return { restored: 0 };
      }
      const m = JSON.parse(text) as Manifest;
      const dir = m.dir;
      let restored = 0;
      const problems: string[] = [];
      for (const e of [...m.entries].reverse()) {
        const orig = join(dir, e.original);
        const gz = join(dir, e.gz);
        const present = await lstat(orig).catch(() => null);
        if (present) {
          // the original was never removed (an interrupted run): keep it, drop the .gz if it is ours
          const same = present.isFile() && (await sha256Of(orig)) === e.sha256;
          if (same) {
            await unlink(gz).catch(() => undefined);
            io.log(`${e.original}: still there, ${e.gz} removed`);
          } else {
            problems.push(`${e.original} exists and differs from the one compressed; ${e.gz} kept`);
          }
          continue;
        }
        const tmp = join(dir, `.${e.original}.${randomBytes(3).toString('hex')}.ops-tmp`);
        try {
          const hex = await transformInto(gz, tmp, createGunzip(), io.signal).then(() => sha256Of(tmp));
          if (hex !== e.sha256) throw new Error(`${e.gz} does not decompress to the original (sha256 ${hex}, expected ${e.sha256})`);
          await chmod(tmp, e.mode & 0o7777);
          const gst = await lstat(gz);
          await copyOwnership(gst, tmp);
          await utimes(tmp, e.atimeMs / 1000, e.mtimeMs / 1000);
          await linkNoClobber(tmp, orig);
          await fsyncPath(dir);
          await unlink(gz);
          restored++;
          io.log(`${e.gz} -> ${e.original}`);
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          problems.push(`${e.original}: ${(err as Error).message}`);
        }
      }
      await fsyncPath(dir);
      if (problems.length) {
        for (const p of problems) io.log(p, 'err');
        throw new Error(`${problems.length} file${problems.length === 1 ? '' : 's'} not restored; ${basename(manifest)} kept: ${problems.join('; ')}`);
      }
      await unlink(manifest);
      await fsyncPath(dir);
      io.log(`${restored} file${restored === 1 ? '' : 's'} restored, ${basename(manifest)} removed`, 'info');
      return { restored };
    },
  };
}

export const rotateLogs: TaskDef = {
  id: 'rotate-logs',
  title: 'Compress old log files (gzip)',
  description:
    'gzips the files in dir matching glob (default *.log) last modified more than olderThanDays (default 1) ' +
    'days ago, keeping their times and mode, and lists them in <dir>/.ops-rotate-<runstamp>.json; rolling back ' +
    'decompresses them from that manifest. With deleteArchivesOlderThanDays, also deletes older <glob>.gz ' +
    'archives: that step cannot be undone.',
  risk: 'low',
  params: rotateParams as unknown as TaskDef['params'],
  steps: [
    {
      id: 'pick',
      title: 'Pick the log files',
      action: (ctx) => {
        const dir = rotateDir(ctx);
        const glob = String(ctx.params.glob ?? '*.log');
        const days = Number(ctx.params.olderThanDays ?? 1);
        return {
          kind: 'fn',
          describe: `list the files in ${dir} matching ${glob} last modified more than ${days} day${days === 1 ? '' : 's'} ago; read-only: nothing to undo`,
          run: async (io) => {
            checkRotateDir(dir);
            const re = globToRegExp(glob);
            const cutoff = Date.now() - days * DAY;
            const names = readdirSync(dir).sort();
            const files: Picked[] = [];
            for (const name of names) {
              if (!re.test(name) || name.endsWith('.gz') || name.startsWith(MANIFEST_PREFIX)) continue;
              const st = await lstat(join(dir, name)).catch(() => null);
              if (!st?.isFile() || st.mtimeMs >= cutoff) continue;
              if (names.includes(`${name}.gz`)) {
                io.log(`${name}: skipped, ${name}.gz already exists`, 'err');
                continue;
              }
              files.push({ name, size: st.size, mtimeMs: st.mtimeMs });
            }
            const bytes = files.reduce((a, f) => a + f.size, 0);
            for (const f of files.slice(0, 50)) io.log(`${f.name} (${formatBytes(f.size)}, last modified ${new Date(f.mtimeMs).toISOString()})`);
            if (files.length > 50) io.log(`… ${files.length - 50} more`);
            io.log(`${files.length} file${files.length === 1 ? '' : 's'} to compress, ${formatBytes(bytes)}`, 'info');
            let manifest = join(dir, `${MANIFEST_PREFIX}${timestamp()}.json`);
            for (let n = 2; names.includes(basename(manifest)); n++) manifest = join(dir, `${MANIFEST_PREFIX}${timestamp()}-${n}.json`);
            return { files, manifest };
          },
        };
      },
      // the compress step's undo, offered here too: a compress step that fails part-way is not
      // offered a rollback of its own (does nothing when no manifest was written)
      rollback: (ctx) => unrotate(ctx),
    },
    {
      id: 'compress',
      title: 'Compress them',
      timeoutMs: LONG,
      action: (ctx) => {
        const dir = rotateDir(ctx);
        const files = ctx.values.files as Picked[] | undefined;
        const manifest = manifestPath(ctx);
        const what = files
          ? files.length
            ? `${files.length} file${files.length === 1 ? '' : 's'} (${files.slice(0, 5).map((f) => f.name).join(', ')}${files.length > 5 ? ', …' : ''})`
            : 'no file (step 1 picked none): nothing to do'
          : 'each file step 1 picks';
        return {
          kind: 'fn',
          describe: `gzip ${what} in ${dir}, keeping mtime and mode; manifest ${manifest}; each original removed once its .gz is on disk`,
          run: async (io) => {
            const list = files ?? [];
            const m: Manifest = { v: 1, task: 'rotate-logs', dir, createdAt: new Date().toISOString(), entries: [] };
            if (!list.length) {
              io.log('nothing to compress', 'info');
              return { compressed: 0 };
            }
            await writeAtomic(manifest, `${JSON.stringify(m, null, 2)}\n`);
            let before = 0;
            let after = 0;
            for (const f of list) {
              if (io.signal.aborted) throw new Error('cancelled');
              const src = join(dir, f.name);
              const gz = `${src}.gz`;
              const st = await lstat(src).catch(() => null);
              if (!st?.isFile()) {
                io.log(`${f.name}: skipped, gone or no longer a regular file`, 'err');
                continue;
              }
              const tmp = join(dir, `.${f.name}.gz.${randomBytes(3).toString('hex')}.ops-tmp`);
              let sha: string;
              try {
                sha = await transformInto(src, tmp, createGzip({ level: 6 }), io.signal);
              } catch (err) {
                await unlink(tmp).catch(() => undefined);
                throw err;
              }
              const st2 = await lstat(src);
              if (st2.size !== st.size || st2.mtimeMs !== st.mtimeMs || st2.ino !== st.ino) {
                await unlink(tmp).catch(() => undefined);
                io.log(`${f.name}: skipped, it changed while being compressed (still written to?)`, 'err');
                continue;
              }
              try {
                await chmod(tmp, st.mode & 0o7777);
                await copyOwnership(st, tmp);
                await utimes(tmp, st.atimeMs / 1000, st.mtimeMs / 1000);
                await linkNoClobber(tmp, gz);
              } catch (err) {
                await unlink(tmp).catch(() => undefined);
                if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
                  io.log(`${f.name}: skipped, ${f.name}.gz appeared meanwhile`, 'err');
                  continue;
                }
                throw err;
              }
              await fsyncPath(dir);
              m.entries.push({ original: f.name, gz: `${f.name}.gz`, size: st.size, sha256: sha, mode: st.mode, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs });
              await writeAtomic(manifest, `${JSON.stringify(m, null, 2)}\n`);
              await unlink(src);
              const gzSize = (await lstat(gz)).size;
              before += st.size;
              after += gzSize;
              io.log(`${f.name} -> ${f.name}.gz (${formatBytes(st.size)} -> ${formatBytes(gzSize)})`);
            }
            await fsyncPath(dir);
            io.log(`${m.entries.length} file${m.entries.length === 1 ? '' : 's'} compressed, ${formatBytes(before)} -> ${formatBytes(after)}; manifest ${manifest}`, 'info');
            return { compressed: m.entries.length, archives: m.entries.map((e) => e.gz) };
          },
        };
      },
      rollback: (ctx) => unrotate(ctx),
    },
    {
      id: 'delete-archives',
      title: 'Delete old archives',
      irreversible: true,
      action: (ctx) => {
        const days = ctx.params.deleteArchivesOlderThanDays as number | undefined;
        const dir = rotateDir(ctx);
        const glob = `${String(ctx.params.glob ?? '*.log')}.gz`;
        if (days === undefined) {
          return { kind: 'fn', describe: 'no deleteArchivesOlderThanDays given: nothing to delete', run: async () => ({ deleted: 0 }) };
        }
        return {
          kind: 'fn',
          describe: `delete the files in ${dir} matching ${glob} last modified more than ${days} day${days === 1 ? '' : 's'} ago, except those step 2 wrote`,
          run: async (io) => {
            const re = globToRegExp(glob);
            const cutoff = Date.now() - days * DAY;
            const ours = new Set((ctx.values.archives as string[] | undefined) ?? []);
            let deleted = 0;
            let bytes = 0;
            for (const name of readdirSync(dir).sort()) {
              if (!re.test(name) || ours.has(name)) continue;
              const p = join(dir, name);
              const st = await lstat(p).catch(() => null);
              if (!st?.isFile() || st.mtimeMs >= cutoff) continue;
              await unlink(p);
              deleted++;
              bytes += st.size;
              io.log(`deleted ${name} (${formatBytes(st.size)}, last modified ${st.mtime.toISOString()})`);
            }
            io.log(`${deleted} archive${deleted === 1 ? '' : 's'} deleted, ${formatBytes(bytes)}`, 'info');
            return { deleted, deletedBytes: bytes };
          },
        };
      },
    },
  ],
};
