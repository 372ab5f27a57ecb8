// Backup files: how a dump is named while it is written and once it is complete, the checksum
// file beside it, and whether a file in the backup directory counts as a backup.
//
// A dump is written as .<name>.partial (hidden: no backup glob matches it, a shell's * skips it)
// and renamed to <name> only once it is complete and <name>.sha256 is on disk. The .sha256 is
// what sha256sum writes ("<hex>  <name>"), plus a comment line sha256sum -c skips, recording the
// dump's size and modification time as it was sealed:
//
//   <hex>  prod-20260101-020000.dump
//   # ops-console sealed: size=123456789 mtime_ns=1767232800123456789
//
// A file counts as a backup when it is not empty and its .sha256 matches it. With the sealed
// record, "matches" is checked from stat alone (same size, same mtime); without one (a .sha256
// written by sha256sum, or by an older ops), or when the mtime changed (a copy that did not keep
// it), the file's sha256 is computed once and remembered by (path, size, mtime) for the life of
// the process, a bounded slice per call so that no probe round waits on a big dump.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const CHECKSUM_SUFFIX = '.sha256';
export const PARTIAL_SUFFIX = '.partial';

/** Where a dump is written until it is complete: .<name>.partial beside its final name. */
export function partialPath(final: string): string {
  return join(dirname(final), `.${basename(final)}${PARTIAL_SUFFIX}`);
}

export function checksumPath(file: string): string {
  return `${file}${CHECKSUM_SUFFIX}`;
}

/**
 * Names that are never a backup, whatever the glob: checksum files, unfinished dumps (ours are
 * hidden .NAME.partial; restore's safety backups were NAME.partial), and hidden files unless the
 * glob itself starts with a dot (as a shell's * skips them).
 */
export function notABackup(name: string, glob: string): boolean {
  if (name.startsWith('.') && !glob.startsWith('.')) return true;
  return name.endsWith(CHECKSUM_SUFFIX) || name.endsWith(`${CHECKSUM_SUFFIX}.tmp`) || name.endsWith(PARTIAL_SUFFIX);
}

// ---------------------------------------------------------------- the checksum file

export interface Sealed {
  size: bigint;
  mtimeNs: bigint;
}

export interface ChecksumFile {
  hex: string;
  /** the file name sha256sum would check, when the line names one */
  name: string | null;
  /** the dump as it was sealed; absent in a .sha256 written by sha256sum or an older ops */
  sealed: Sealed | null;
}

const SEALED_RE = /^# ops-console sealed: size=(\d+) mtime_ns=(\d+)\s*$/m;

/** The .sha256 text: sha256sum's line, then the sealed record as a comment sha256sum -c skips. */
export function checksumText(hex: string, file: string, sealed?: Sealed): string {
  const line = `${hex}  ${basename(file)}\n`;
  return sealed ? `${line}# ops-console sealed: size=${sealed.size} mtime_ns=${sealed.mtimeNs}\n` : line;
}

/** Reads a .sha256's text; null when it holds no sha256 line. */
export function parseChecksum(text: string): ChecksumFile | null {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line);
    if (!m) return null;
    const s = SEALED_RE.exec(text);
    return { hex: m[1].toLowerCase(), name: m[2]?.trim() || null, sealed: s ? { size: BigInt(s[1]), mtimeNs: BigInt(s[2]) } : null };
  }
  return null;
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

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes <final>.sha256 for the dump at `partial` (not yet renamed): through a hidden temp file,
 * fsynced, renamed into place, the directory fsynced. Returns what it recorded.
 */
export async function writeChecksum(partial: string, final: string, hex: string): Promise<Sealed> {
  const st = await stat(partial, { bigint: true });
  const sealed = { size: st.size, mtimeNs: st.mtimeNs };
  const dir = dirname(final);
  const tmp = join(dir, `.${basename(final)}${CHECKSUM_SUFFIX}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(checksumText(hex, final, sealed));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, checksumPath(final));
  await fsyncPath(dir);
  return sealed;
}

/**
 * Gives a complete dump its final name: only when its .sha256 is there and records it as it is
 * now (nothing wrote to it since), after an fsync of the dump; then fsyncs the directory.
 */
export async function promoteDump(partial: string, final: string): Promise<void> {
  const sum = parseChecksum(await readFile(checksumPath(final), 'utf8').catch(() => ''));
  if (!sum?.sealed) throw new Error(`${basename(final)}.sha256 is missing or was not written by this backup: the dump keeps its unfinished name ${partial}`);
  const st = await stat(partial, { bigint: true });
  if (st.size !== sum.sealed.size || st.mtimeNs !== sum.sealed.mtimeNs) {
    throw new Error(`${partial} changed after its checksum was written (size ${st.size}, was ${sum.sealed.size}): it keeps its unfinished name`);
  }
  const there = await stat(final).then(() => true, () => false);
  if (there) throw new Error(`${final} already exists: the dump keeps its unfinished name ${partial}`);
  await fsyncPath(partial);
  await rename(partial, final);
  await fsyncPath(dirname(final));
}

/** Seals a complete dump: its sha256, the .sha256 beside its final name, then the rename. */
export async function sealDump(partial: string, final: string, signal?: AbortSignal): Promise<{ hex: string; size: number }> {
  const hex = await sha256File(partial, signal);
  const sealed = await writeChecksum(partial, final, hex);
  await promoteDump(partial, final);
  return { hex, size: Number(sealed.size) };
}

// ---------------------------------------------------------------- does a file count

export type Verdict = { counts: true } | { counts: false; reason: string; pending?: true };

interface HashJob {
  key: string;
  hash: Hash;
  offset: number;
  size: number;
}

/** finished hashes by (path, size, mtime); a few hundred at most */
const hashed = new Map<string, string>();
/** hashes under way, one per path, resumed by the next call */
const jobs = new Map<string, HashJob>();
const MAX_REMEMBERED = 256;
const CHUNK = 1 << 20;

/**
 * The sha256 of `path`, read for at most until `untilMs`, resumed by the next call with the same
 * (path, size, mtime); { pending } (the share read so far, 0..1) while it is not done.
 */
async function hashBounded(path: string, size: bigint, mtimeNs: bigint, untilMs: number): Promise<{ hex: string } | { pending: number }> {
  const key = `${path}\0${size}\0${mtimeNs}`;
  const known = hashed.get(key);
  if (known) return { hex: known };
  let job = jobs.get(path);
  if (job && job.key !== key) job = undefined;
  if (Date.now() >= untilMs) return { pending: job ? job.offset / Math.max(1, job.size) : 0 };
  if (!job) {
    job = { key, hash: createHash('sha256'), offset: 0, size: Number(size) };
    jobs.set(path, job);
  }
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    while (Date.now() < untilMs) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, job.offset);
      if (bytesRead === 0) break;
      job.hash.update(buf.subarray(0, bytesRead));
      job.offset += bytesRead;
    }
    if (job.offset < job.size && Date.now() >= untilMs) return { pending: job.offset / job.size };
  } catch (err) {
    jobs.delete(path);
    throw err;
  } finally {
    await fh.close();
  }
  jobs.delete(path);
  const hex = job.hash.digest('hex');
  if (hashed.size >= MAX_REMEMBERED) hashed.delete(hashed.keys().next().value!);
  hashed.set(key, hex);
  return { hex };
}

/** Forgets remembered hashes (tests). */
export function forgetHashes(): void {
  hashed.clear();
  jobs.clear();
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * Whether `name` in `dir` counts as a backup: not empty, and its .sha256 matches it. `names` is
 * the directory's listing (to know whether a .sha256 exists without opening it); a hash the
 * record cannot stand in for is computed until `untilMs`, then resumed by the next call.
 */
export async function judgeBackup(dir: string, name: string, st: { size: bigint; mtimeNs: bigint }, names: ReadonlySet<string>, untilMs: number): Promise<Verdict> {
  if (st.size === 0n) return { counts: false, reason: 'empty' };
  const sumName = `${name}${CHECKSUM_SUFFIX}`;
  if (!names.has(sumName)) return { counts: false, reason: `no ${sumName} beside it` };
  let text: string;
  try {
    text = await readFile(join(dir, sumName), 'utf8');
  } catch (err) {
    return { counts: false, reason: `${sumName} unreadable (${errCode(err)})` };
  }
  const sum = parseChecksum(text);
  if (!sum) return { counts: false, reason: `${sumName} holds no sha256` };
  if (sum.name !== null && sum.name !== name) return { counts: false, reason: `${sumName} is for ${sum.name}` };
  if (sum.sealed) {
    if (sum.sealed.size !== st.size) return { counts: false, reason: `its size (${st.size} bytes) is not the ${sum.sealed.size} its .sha256 records` };
    if (sum.sealed.mtimeNs === st.mtimeNs) return { counts: true };
  }
  let r: { hex: string } | { pending: number };
  try {
    r = await hashBounded(join(dir, name), st.size, st.mtimeNs, untilMs);
  } catch (err) {
    return { counts: false, reason: `unreadable (${errCode(err)})` };
  }
  if ('pending' in r) return { counts: false, pending: true, reason: `its sha256 is being checked (${Math.floor(r.pending * 100)}% read)` };
  return r.hex === sum.hex ? { counts: true } : { counts: false, reason: `does not match its ${sumName}` };
}
