// Backup freshness probe: the newest backup in the backup directory, a file matching the glob
// that is complete: not empty, and its .sha256 matches it (src/backups.ts). Unfinished dumps
// (.NAME.partial) and checksum files are never backups; newer files that do not count are named.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { judgeBackup, notABackup } from '../backups';
import type { BackupData, ProbeResult } from '../types';
import { withTimeout } from '../util/timeout';

/** Turns a file-name glob (*, ?, [abc], {a,b}) into an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inClass = false;
  let inAlt = false;
  for (const ch of glob) {
    if (inClass) {
      re += ch === ']' ? ']' : ch === '\\' ? '\\\\' : ch;
      if (ch === ']') inClass = false;
      continue;
    }
    switch (ch) {
      case '*': re += '[^/]*'; break;
      case '?': re += '[^/]'; break;
      case '[': re += '['; inClass = true; break;
      case '{': re += '(?:'; inAlt = true; break;
      case '}': re += inAlt ? ')' : '\\}'; inAlt = false; break;
      case ',': re += inAlt ? '|' : ','; break;
      default: re += ch.replace(/[.+^$()|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export async function probeBackup(dir: string, glob: string, timeoutMs: number): Promise<ProbeResult<BackupData>> {
  const started = Date.now();
  // a sha256 the sealed record cannot stand in for is read for a slice of the round at most,
  // and resumed by the next round (src/backups.ts)
  const hashUntil = started + Math.min(timeoutMs / 3, 1000);
  try {
    const data = await withTimeout(collect(dir, glob, hashUntil), timeoutMs, 'backup directory scan');
    return { ok: true, data, at: Date.now(), ms: Date.now() - started };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const error =
      e.code === 'ENOENT' ? `backup directory ${dir} does not exist`
      : e.code === 'EACCES' ? `no permission to read ${dir}`
      : e.message;
    return { ok: false, error, at: Date.now(), ms: Date.now() - started };
  }
}

/** at most this many files not counted are named */
const SKIPPED_SHOWN = 5;

/**
 * The newest backup that counts (src/backups.ts: not empty, its .sha256 matches), and the newer
 * files that do not, with why. Files are judged newest first, and the scan stops at the first
 * that counts: older files cost nothing.
 */
async function collect(dir: string, glob: string, hashUntil: number): Promise<BackupData> {
  const re = globToRegExp(glob);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  const files: { name: string; size: bigint; mtimeNs: bigint; mtimeMs: number }[] = [];
  for (const e of entries) {
    if (!e.isFile() || notABackup(e.name, glob) || !re.test(e.name)) continue;
    const s = await stat(join(dir, e.name), { bigint: true }).catch(() => null);
    if (s) files.push({ name: e.name, size: s.size, mtimeNs: s.mtimeNs, mtimeMs: Number(s.mtimeMs) });
  }
  files.sort((a, b) => (a.mtimeNs === b.mtimeNs ? 0 : a.mtimeNs > b.mtimeNs ? -1 : 1));
  let newest: BackupData['newest'] = null;
  const skipped: NonNullable<BackupData['skipped']> = [];
  let skippedCount = 0;
  for (const f of files) {
    const v = await judgeBackup(dir, f.name, f, names, hashUntil);
    if (v.counts) {
      newest = { file: f.name, ageSec: Math.max(0, (Date.now() - f.mtimeMs) / 1000), sizeBytes: Number(f.size) };
      break;
    }
    skippedCount++;
    if (skipped.length < SKIPPED_SHOWN) skipped.push({ file: f.name, reason: v.reason, ...(v.pending ? { pending: true } : {}) });
  }
  return { dir, glob, count: files.length, newest, skipped, skippedCount };
}
