// The backup check counts complete backups only: on a real directory, a file that is empty, has
// no .sha256 beside it, or does not match its .sha256 is passed over (and named), an unfinished
// dump never counts whatever the glob, and the next-newest complete backup is the one judged.
// The .sha256s are written here by hand, in the format ops backup writes (sha256sum's line, then
// the sealed size and mtime as a comment), so these tests read the files as an operator would.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/config/schema';
import { evaluate } from '../../src/health/rules';
import { probeBackup } from '../../src/probes/backup';
import type { Check, Snapshot } from '../../src/types';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function backupDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ops-backup-probe-'));
  dirs.push(d);
  return d;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A file `hoursOld` hours old, and (unless told) its .sha256 as ops backup seals it. */
function dump(dir: string, name: string, body: string | Buffer, hoursOld: number, opts: { sum?: 'sealed' | 'sha256sum' | 'none' } = {}): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  const t = Date.now() / 1000 - hoursOld * 3600;
  utimesSync(path, t, t);
  const sum = opts.sum ?? 'sealed';
  if (sum !== 'none') {
    const st = statSync(path, { bigint: true });
    const line = `${sha256(path)}  ${name}\n`;
    writeFileSync(`${path}.sha256`, sum === 'sealed' ? `${line}# ops-console sealed: size=${st.size} mtime_ns=${st.mtimeNs}\n` : line);
  }
  return path;
}

/** The backup check, as ops check judges it. */
async function backupCheck(dir: string, glob = '*', timeoutMs = 3000): Promise<Check> {
  return judged(await probeBackup(dir, glob, timeoutMs));
}

function judged(backup: Awaited<ReturnType<typeof probeBackup>>): Check {
  const snap: Snapshot = { at: Date.now(), host: { ok: false, error: 'not probed', at: Date.now(), ms: 0 }, http: [], tls: [], backup };
  const c = evaluate(snap, DEFAULT_THRESHOLDS, { only: new Set(['backup']) }).checks.find((x) => x.id === 'backup.age');
  expect(c).toBeDefined();
  return c!;
}

const DUMP = 'PGDMP'.padEnd(4096, 'x');

describe('the backup check counts complete backups only', () => {
  it('a newer empty file and a newer truncated dump without a .sha256 are passed over; the complete one, a day old, is judged', async () => {
    const dir = backupDir();
    dump(dir, 'shop-1.dump', DUMP, 30);
    dump(dir, 'shop-2.dump', '', 0.01, { sum: 'none' }); // pg_dump failed at once
    dump(dir, 'shop-3.dump', DUMP.slice(0, 1000), 0.002, { sum: 'none' }); // cut short by a server stop
    const c = await backupCheck(dir);
    expect(c.status).toBe('WARNING');
    expect(c.subject).toBe(`${dir}/shop-1.dump`);
    expect(c.value).toBeGreaterThan(29.9);
    expect(c.summary).toMatch(/^newest backup shop-1\.dump is 1d06h old \(4\.0 KB\); newer, not counted: shop-3\.dump: no shop-3\.dump\.sha256 beside it \(and 1 more not counted\)$/);

    const r = await probeBackup(dir, '*', 3000);
    expect(r.ok && r.data.skipped).toEqual([
      { file: 'shop-3.dump', reason: 'no shop-3.dump.sha256 beside it' },
      { file: 'shop-2.dump', reason: 'empty' },
    ]);
  });

  it('with nothing complete it is CRITICAL, and says why the newest file does not count', async () => {
    const dir = backupDir();
    dump(dir, 'shop-1.dump', '', 0.001);
    const empty = await backupCheck(dir);
    expect(empty.status).toBe('CRITICAL');
    expect(empty.summary).toBe(`no verified backup matching * in ${dir}: shop-1.dump: empty`);

    // an old-style dump (no .sha256: an older ops, or another tool) is not a verified backup either
    const old = backupDir();
    dump(old, 'legacy.dump', DUMP, 1, { sum: 'none' });
    const legacy = await backupCheck(old);
    expect(legacy.status).toBe('CRITICAL');
    expect(legacy.summary).toBe(`no verified backup matching * in ${old}: legacy.dump: no legacy.dump.sha256 beside it`);
  });

  it('unfinished dumps, checksum files and hidden files are never backups, even with the glob *', async () => {
    const dir = backupDir();
    dump(dir, 'shop-1.dump', DUMP, 2);
    for (const name of ['.shop-2.dump.partial', 'shop-3.dump.partial', '.shop-4.dump.sha256.tmp', 'lonely.dump.sha256', '.hidden.dump']) {
      writeFileSync(join(dir, name), DUMP);
    }
    const r = await probeBackup(dir, '*', 3000);
    if (!r.ok) throw new Error(r.error);
    expect(r.data.count).toBe(1);
    expect(r.data.newest?.file).toBe('shop-1.dump');
    expect(r.data.skipped).toEqual([]);
    expect((await backupCheck(dir)).summary).toBe('newest backup shop-1.dump is 2h00m old (4.0 KB)');
    // a glob that names hidden files on purpose finds them
    const hidden = await probeBackup(dir, '.hidden*', 3000);
    expect(hidden.ok && hidden.data.skipped?.[0]).toEqual({ file: '.hidden.dump', reason: 'no .hidden.dump.sha256 beside it' });
  });

  it('a dump whose size is not the one its .sha256 recorded does not count', async () => {
    const dir = backupDir();
    dump(dir, 'shop-1.dump', DUMP, 1);
    truncateSync(join(dir, 'shop-1.dump'), 100);
    const c = await backupCheck(dir);
    expect(c.status).toBe('CRITICAL');
    expect(c.summary).toBe(`no verified backup matching * in ${dir}: shop-1.dump: its size (100 bytes) is not the 4096 its .sha256 records`);
  });

  it('a .sha256 as sha256sum writes it (no sealed record) is checked by hashing: a match counts, a mismatch does not', async () => {
    const dir = backupDir();
    dump(dir, 'good.dump', DUMP, 3, { sum: 'sha256sum' });
    expect((await backupCheck(dir)).summary).toBe('newest backup good.dump is 3h00m old (4.0 KB)');

    const bad = dump(dir, 'bad.dump', DUMP, 1, { sum: 'sha256sum' });
    writeFileSync(bad, DUMP.replace('x', 'y')); // same size, other bytes
    const c = await backupCheck(dir);
    expect(c.subject).toBe(`${dir}/good.dump`);
    expect(c.summary).toBe('newest backup good.dump is 3h00m old (4.0 KB); newer, not counted: bad.dump: does not match its bad.dump.sha256');
  });

  it('a sealed dump whose mtime changed (a copy that did not keep it) is hashed: unchanged bytes count, changed ones do not', async () => {
    const dir = backupDir();
    const path = dump(dir, 'shop-1.dump', DUMP, 5);
    const t = Date.now() / 1000 - 3600;
    utimesSync(path, t, t);
    expect((await backupCheck(dir)).summary).toBe('newest backup shop-1.dump is 1h00m old (4.0 KB)');
    writeFileSync(path, DUMP.replace('x', 'z'));
    utimesSync(path, t - 60, t - 60);
    expect((await backupCheck(dir)).summary).toBe(`no verified backup matching * in ${dir}: shop-1.dump: does not match its shop-1.dump.sha256`);
  });

  it('a .sha256 for another file, or one that holds no sha256, does not count', async () => {
    const dir = backupDir();
    const a = dump(dir, 'a.dump', DUMP, 2);
    writeFileSync(`${a}.sha256`, `${sha256(a)}  other.dump\n`);
    expect((await backupCheck(dir)).summary).toBe(`no verified backup matching * in ${dir}: a.dump: a.dump.sha256 is for other.dump`);
    writeFileSync(`${a}.sha256`, 'not a checksum\n');
    expect((await backupCheck(dir)).summary).toBe(`no verified backup matching * in ${dir}: a.dump: a.dump.sha256 holds no sha256`);
  });

  it('a big dump to hash is read a slice per round, never holding the round up, and counts once the hash is done', async () => {
    const dir = backupDir();
    const path = join(dir, 'big.dump');
    writeFileSync(path, '');
    truncateSync(path, 512 * 1024 ** 2); // 512 MiB of zeros, sparse: hashing it takes longer than a slice
    const hex = createHash('sha256');
    const zeros = Buffer.alloc(1 << 24);
    for (let i = 0; i < 32; i++) hex.update(zeros);
    writeFileSync(`${path}.sha256`, `${hex.digest('hex')}  big.dump\n`);

    const started = Date.now();
    const first = await probeBackup(dir, '*', 300);
    expect(Date.now() - started).toBeLessThan(300);
    if (!first.ok) throw new Error(first.error);
    expect(first.data.newest).toBeNull();
    expect(first.data.skipped?.[0]).toMatchObject({ file: 'big.dump', pending: true });
    expect(first.data.skipped?.[0].reason).toMatch(/^its sha256 is being checked \(\d+% read\)$/);
    // not known yet: UNKNOWN, not CRITICAL
    const c = judged(first);
    expect(c.status).toBe('UNKNOWN');
    expect(c.summary).toMatch(new RegExp(`^no verified backup matching \\* in ${dir}: big\\.dump: its sha256 is being checked \\(\\d+% read\\)$`));

    let rounds = 0;
    let last: Awaited<ReturnType<typeof probeBackup>> = first;
    while (last.ok && !last.data.newest && rounds++ < 500) last = await probeBackup(dir, '*', 300);
    if (!last.ok) throw new Error(last.error);
    expect(last.data.newest?.file).toBe('big.dump');
    expect(rounds).toBeGreaterThan(0);
  });
});
