// File tasks on the maintenance host: rotate-logs and clean-temp. No database needed.
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
//
// clean-temp (medium)
//   1. count     the regular files under <dir> (recursively, never following a symlink, never into
//                another file system) matching <glob> (default *) last modified more than
//                olderThanHours (default 24) ago; the plan shows their count and bytes. Read-only.
//   2. delete    delete those files (the same cut-off time; each re-checked with lstat just before);
//                directories are kept. IRREVERSIBLE.
//   Refused: /, system directories (/etc, /usr, /var, /boot, /proc ... and what is below most of
//   them), home directories, a symlink, anything not a directory.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, readdirSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { chmod, chown, link, lstat, open, readFile, rename, unlink, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import * as z from 'zod';
import { globToRegExp } from '../src/probes/backup';
import type { Action, RunContext, TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';
import { timestamp } from './backup';

const LONG = 6 * 3600_000;
const DAY = 86_400_000;
const MANIFEST_PREFIX = '.ops-rotate-';

// ---------------------------------------------------------------- shared

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file through a temporary name, fsynced, then renamed into place (and the directory fsynced). */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${randomBytes(3).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncPath(dirname(file));
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Streams src through `transform` into dest (created exclusively), fsyncs it, and returns the sha256 of the input. */
async function transformInto(src: string, dest: string, transform: NodeJS.ReadWriteStream, signal: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  const input = createReadStream(src);
  input.on('data', (c) => h.update(c as Buffer));
  await pipeline(input, transform, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal });
  await fsyncPath(dest);
  return h.digest('hex');
}

/** Links tmp to dest without overwriting anything (EEXIST when dest exists), then removes tmp. */
async function linkNoClobber(tmp: string, dest: string): Promise<void> {
  try {
    await link(tmp, dest);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function copyOwnership(st: Pick<Stats, 'uid' | 'gid'>, file: string): Promise<void> {
  if (process.getuid?.() === 0) await chown(file, st.uid, st.gid).catch(() => undefined);
}

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

// ---------------------------------------------------------------- clean-temp

/** Directories never cleaned themselves; those in TREES not below them either. */
const SYSTEM_DIRS = ['/', '/etc', '/usr', '/var', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/boot', '/dev', '/proc', '/sys', '/run', '/home', '/root', '/opt', '/srv', '/mnt', '/media', '/snap', '/var/lib', '/var/log', '/var/spool', '/var/cache', '/var/mail', '/usr/local'];
const SYSTEM_TREES = ['/etc', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/boot', '/dev', '/proc', '/sys', '/root', '/var/lib'];

function homeDirs(): string[] {
  const homes = new Set<string>();
  try {
    homes.add(resolve(homedir()));
  } catch {
    /* none */
  }
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const home = line.split(':')[5];
      if (home && home.startsWith('/')) homes.add(resolve(home));
    }
  } catch {
    /* no passwd file */
  }
  return [...homes];
}

/** Why a directory must not be cleaned, or null. Checks the path as given and as resolved. */
export function refuseCleanDir(dir: string): string | null {
  const given = resolve(dir);
  let st: Stats;
  try {
    st = lstatSync(given);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${given} does not exist` : `cannot read ${given}: ${code ?? (err as Error).message}`;
  }
  if (st.isSymbolicLink()) return `${given} is a symbolic link (give the directory it points to, after checking it)`;
  if (!st.isDirectory()) return `${given} is not a directory`;
  const real = realpathSync(given);
  const homes = homeDirs();
  for (const p of new Set([given, real])) {
    if (SYSTEM_DIRS.includes(p)) return `refusing to clean ${p}: it is a system directory`;
    const tree = SYSTEM_TREES.find((t) => p.startsWith(t + sep));
    if (tree) return `refusing to clean ${p}: it is inside ${tree}`;
    if (homes.includes(p) || /^\/home\/[^/]+$/.test(p)) return `refusing to clean ${p}: it is a home directory`;
  }
  return null;
}

const cleanParams = z
  .object({
    dir: z
      .string()
      .min(1, 'give the directory to clean')
      .superRefine((d, c) => {
        const why = refuseCleanDir(d);
        if (why) c.addIssue({ code: 'custom', message: why });
      }),
    olderThanHours: z.coerce.number().nonnegative().default(24),
    glob: z.string().min(1).default('*'),
  })
  .strict();

interface Scan {
  files: { path: string; size: number }[];
  count: number;
  bytes: number;
  unreadable: number;
}

/** The regular files under dir matching glob with mtime before cutoff: no symlink followed, no other file system entered. */
function scanSync(dir: string, glob: string, cutoffMs: number, keepList = true): Scan {
  const re = globToRegExp(glob);
  const root = lstatSync(dir);
  const out: Scan = { files: [], count: 0, bytes: 0, unreadable: 0 };
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      out.unreadable++;
      continue;
    }
    for (const name of names) {
      const p = join(d, name);
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (st.dev === root.dev) stack.push(p);
        continue;
      }
      if (!st.isFile() || !re.test(name) || st.mtimeMs >= cutoffMs) continue;
      out.count++;
      out.bytes += st.size;
      if (keepList) out.files.push({ path: p, size: st.size });
    }
  }
  out.files.sort((a, b) => a.path.localeCompare(b.path));
  return out;
}

function cleanSummary(s: Pick<Scan, 'count' | 'bytes' | 'unreadable'>): string {
  return `${s.count} file${s.count === 1 ? '' : 's'}, ${formatBytes(s.bytes)} (${s.bytes} bytes)${s.unreadable ? `; ${s.unreadable} unreadable director${s.unreadable === 1 ? 'y' : 'ies'} skipped` : ''}`;
}

export const cleanTemp: TaskDef = {
  id: 'clean-temp',
  title: 'Delete old temporary files',
  description:
    'Deletes the regular files under dir (recursively, never following a symlink or entering another file ' +
    'system) matching glob (default *) last modified more than olderThanHours (default 24) ago. The plan shows ' +
    'how many files and bytes. Refuses /, system and home directories. Deleted files cannot be brought back.',
  risk: 'medium',
  params: cleanParams as unknown as TaskDef['params'],
  steps: [
    {
      id: 'count',
      title: 'Count the files to delete',
      action: (ctx) => {
        const dir = resolve(String(ctx.params.dir));
        const glob = String(ctx.params.glob ?? '*');
        const hours = Number(ctx.params.olderThanHours ?? 24);
        const why = refuseCleanDir(dir);
        if (why) throw new Error(why);
        // counted now, when the plan is built, so the plan and a dry run show what would go
        const cutoff = Date.now() - hours * 3600_000;
        const s = scanSync(dir, glob, cutoff, false);
        return {
          kind: 'fn',
          describe: `${cleanSummary(s)} under ${dir} matching ${glob}, last modified more than ${hours} h ago (before ${new Date(cutoff).toISOString()}); read-only: nothing to undo`,
          run: async (io) => {
            const again = refuseCleanDir(dir);
            if (again) throw new Error(again);
            const cutoffMs = Date.now() - hours * 3600_000;
            const now = scanSync(dir, glob, cutoffMs);
            for (const f of now.files.slice(0, 20)) io.log(`${f.path} (${formatBytes(f.size)})`);
            if (now.files.length > 20) io.log(`… ${now.files.length - 20} more`);
            io.log(`${cleanSummary(now)} to delete`, 'info');
            return { cutoffMs, count: now.count, bytes: now.bytes };
          },
        };
      },
    },
    {
      id: 'delete',
      title: 'Delete them',
      irreversible: true,
      timeoutMs: LONG,
      action: (ctx) => {
        const dir = resolve(String(ctx.params.dir));
        const glob = String(ctx.params.glob ?? '*');
        const cutoffMs = ctx.values.cutoffMs as number | undefined;
        const counted = ctx.values.count as number | undefined;
        return {
          kind: 'fn',
          describe:
            cutoffMs === undefined
              ? `delete the files step 1 counts under ${dir} matching ${glob}`
              : `delete the ${counted} file${counted === 1 ? '' : 's'} (${formatBytes(Number(ctx.values.bytes))}) under ${dir} matching ${glob} last modified before ${new Date(cutoffMs).toISOString()}`,
          run: async (io) => {
            const why = refuseCleanDir(dir);
            if (why) throw new Error(why);
            if (cutoffMs === undefined) throw new Error('step 1 counted nothing');
            const s = scanSync(dir, glob, cutoffMs);
            let deleted = 0;
            let bytes = 0;
            for (const f of s.files) {
              if (io.signal.aborted) throw new Error('cancelled');
              // re-checked just before: still a regular file, still older than the cut-off
              const st = await lstat(f.path).catch(() => null);
              if (!st?.isFile() || st.mtimeMs >= cutoffMs) continue;
              try {
                await unlink(f.path);
              } catch (err) {
                io.log(`${f.path}: not deleted (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'err');
                continue;
              }
              deleted++;
              bytes += st.size;
              io.log(`deleted ${f.path}`);
            }
            io.log(`${deleted} file${deleted === 1 ? '' : 's'} deleted, ${formatBytes(bytes)}`, 'info');
            return { deleted, deletedBytes: bytes };
          },
        };
      },
    },
  ],
};

