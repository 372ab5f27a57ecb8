// Backup freshness probe: the newest file matching a glob in the backup directory.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
  try {
    const data = await withTimeout(collect(dir, glob), timeoutMs, 'backup directory scan');
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

async function collect(dir: string, glob: string): Promise<BackupData> {
  const re = globToRegExp(glob);
  const entries = await readdir(dir, { withFileTypes: true });
  let newest: BackupData['newest'] = null;
  let newestMtime = -Infinity;
  let count = 0;
  for (const e of entries) {
    if (!e.isFile() || !re.test(e.name)) continue;
    count++;
    const s = await stat(join(dir, e.name)).catch(() => null);
    if (s && s.mtimeMs > newestMtime) {
      newestMtime = s.mtimeMs;
      newest = { file: e.name, ageSec: Math.max(0, (Date.now() - s.mtimeMs) / 1000), sizeBytes: s.size };
    }
  }
  return { dir, glob, count, newest };
}
