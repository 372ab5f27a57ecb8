// The clean-temp task (medium). No database needed.
//
// clean-temp (medium)
//   1. count     the regular files under <dir> (recursively, never following a symlink, never into
//                another file system) matching <glob> (default *) last modified more than
//                olderThanHours (default 24) ago; the plan shows their count and bytes. Read-only.
//   2. delete    delete those files (the same cut-off time; each re-checked with lstat just before);
//                directories are kept. IRREVERSIBLE.
//   Refused: /, system directories (/etc, /usr, /var, /boot, /proc ... and what is below most of
//   them), home directories, a symlink, anything not a directory.
import { lstatSync, readdirSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import * as z from 'zod';
import { globToRegExp } from '../src/probes/backup';
import type { TaskDef } from '../src/tasks/model';
import { formatBytes } from '../src/util/format';
import { LONG } from './files-shared';

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
