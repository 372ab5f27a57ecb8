// What the file tasks share: durable writes (fsync, atomic replace, no-clobber link), hashing,
// streaming through gzip, and ownership.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { chown, link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';

export const LONG = 6 * 3600_000;
export const DAY = 86_400_000;
export const MANIFEST_PREFIX = '.ops-rotate-';

// ---------------------------------------------------------------- shared

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file through a temporary name, fsynced, then renamed into place (and the directory fsynced). */
export async function writeAtomic(file: string, text: string): Promise<void> {
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

export async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Streams src through `transform` into dest (created exclusively), fsyncs it, and returns the sha256 of the input. */
export async function transformInto(src: string, dest: string, transform: NodeJS.ReadWriteStream, signal: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  const input = createReadStream(src);
  input.on('data', (c) => h.update(c as Buffer));
  await pipeline(input, transform, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal });
  await fsyncPath(dest);
  return h.digest('hex');
}

/** Links tmp to dest without overwriting anything (EEXIST when dest exists), then removes tmp. */
export async function linkNoClobber(tmp: string, dest: string): Promise<void> {
  try {
    await link(tmp, dest);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function copyOwnership(st: Pick<Stats, 'uid' | 'gid'>, file: string): Promise<void> {
  if (process.getuid?.() === 0) await chown(file, st.uid, st.gid).catch(() => undefined);
}
