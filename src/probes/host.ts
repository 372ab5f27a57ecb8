// Host probe: CPU, memory, swap, load, uptime and filesystem use.
// The refresh path reads /proc and calls statfs; it starts no child processes
// (systeminformation's fsSize() would start four per call). /proc files are read synchronously:
// they are generated in memory, never wait on a disk, and a sync read costs a fraction of the
// promise machinery around an async one.
//
// A statfs can hang (an NFS or CIFS server that stopped answering) and cannot be cancelled: it
// holds one of libuv's few threads until it returns. A round waits a short while for each
// filesystem; one that takes longer is reported as not answering, and is not asked again until
// its call has returned, so a hung mount costs one thread, not one per round, and never holds
// the CPU, memory and other disks back.
import { readFileSync, type StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import type { Filesystem, HostData, ProbeResult } from '../types';
import { withTimeout } from '../util/timeout';

/** Filesystem types that hold data an operator can fill up. */
const REAL_FS = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'jfs', 'reiserfs', 'vfat', 'exfat', 'ntfs', 'ntfs3',
  'overlay', 'fuseblk', 'nfs', 'nfs4', 'cifs', 'smb3', 'ceph', 'glusterfs', 'virtiofs', '9p', 'hfsplus', 'apfs',
]);

const MIN_CPU_INTERVAL_MS = 100;
/** the longest a round waits for one filesystem's statfs (less when the probe's timeout is short) */
const STATFS_WAIT_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CpuSample {
  idle: number;
  total: number;
}

function parseCpu(stat: string): CpuSample {
  const line = stat.slice(0, stat.indexOf('\n'));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already in user)
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  return { idle, total };
}

function parseMeminfo(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (match) m.set(match[1], Number(match[2]) * (line.endsWith('kB') ? 1024 : 1));
  }
  return m;
}

/** Decodes the octal escapes (\040 for a space) that /proc/mounts uses. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  device: string;
  mount: string;
  fstype: string;
}

export function parseMounts(text: string, extraIgnored: readonly string[] = []): MountEntry[] {
  const seen = new Set<string>();
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, mountRaw, fstype] = line.split(' ');
    if (!device || !mountRaw || !fstype || !REAL_FS.has(fstype)) continue;
    const mount = unescapeMount(mountRaw);
    if (extraIgnored.some((p) => mount === p || mount.startsWith(`${p}/`))) continue;
    // bind mounts and the same device mounted twice: report it once, at its shortest path
    const key = `${device}|${fstype}`;
    if (seen.has(key) && fstype !== 'overlay') continue;
    seen.add(key);
    out.push({ device, mount, fstype });
  }
  return out;
}

export interface HostProbeOptions {
  timeoutMs: number;
  /** mount points (and everything below them) to leave out */
  ignoreMounts?: string[];
  /** for tests: read these files instead of /proc */
  procRoot?: string;
  /** for tests: stands in for fs.promises.statfs */
  statfs?: (path: string) => Promise<StatsFs>;
}

type FsAnswer = { fs: Filesystem } | { stalled: MountEntry & { since: number } } | null;

export class HostProbe {
  private prevCpu: CpuSample | null = null;
  private prevCpuAt = 0;
  /** the console's own CPU use when the first sample was taken (see collect) */
  private ownAtPrime: NodeJS.CpuUsage | null = null;
  private readonly host = hostname();
  private readonly cores = Math.max(1, cpus().length);
  private readonly proc: string;
  private readonly statfs: (path: string) => Promise<StatsFs>;
  /** mount point -> since when its statfs call has not returned */
  private readonly pendingStatfs = new Map<string, number>();

  constructor(private readonly opts: HostProbeOptions) {
    this.proc = opts.procRoot ?? '/proc';
    this.statfs = opts.statfs ?? ((p) => statfs(p));
  }

  /** Takes a CPU sample so that the next probe() can report CPU use over the interval. */
  async prime(): Promise<void> {
    try {
      this.prevCpu = parseCpu(readFileSync(`${this.proc}/stat`, 'utf8'));
      this.prevCpuAt = Date.now();
      this.ownAtPrime = process.cpuUsage();
    } catch {
      /* probe() will report it */
    }
  }

  async probe(): Promise<ProbeResult<HostData>> {
    const started = Date.now();
    try {
      const data = await withTimeout(this.collect(), this.opts.timeoutMs, 'host probe');
      return { ok: true, data, at: Date.now(), ms: Date.now() - started };
    } catch (err) {
      return { ok: false, error: (err as Error).message, at: Date.now(), ms: Date.now() - started };
    }
  }

  private async collect(): Promise<HostData> {
    // CPU use is a difference of two samples: make sure they are far enough apart to mean something.
    const since = Date.now() - this.prevCpuAt;
    if (this.prevCpu && since < MIN_CPU_INTERVAL_MS) await sleep(MIN_CPU_INTERVAL_MS - since);
    const read = (name: string) => readFileSync(`${this.proc}/${name}`, 'utf8');
    const [stat, meminfo, loadavg, uptime, mounts] = ['stat', 'meminfo', 'loadavg', 'uptime', 'mounts'].map(read);
    const cpu = parseCpu(stat);
    let cpuPct: number | null = null;
    if (this.prevCpu && cpu.total > this.prevCpu.total) {
      const dt = cpu.total - this.prevCpu.total;
      const di = cpu.idle - this.prevCpu.idle;
      let busy = (dt - di) / dt;
      if (this.ownAtPrime) {
        // The first interval is short and overlaps the console's own start-up (its first render,
        // its first connection): leave that out, or every start would show a CPU spike.
        const own = process.cpuUsage(this.ownAtPrime);
        const wallSec = Math.max(0.001, (Date.now() - this.prevCpuAt) / 1000);
        busy -= (own.user + own.system) / 1e6 / (wallSec * this.cores);
        this.ownAtPrime = null;
      }
      cpuPct = Math.min(100, Math.max(0, 100 * busy));
    }
    this.prevCpu = cpu;
    this.prevCpuAt = Date.now();

    const mem = parseMeminfo(meminfo);
    const memTotal = mem.get('MemTotal') ?? 0;
    const memAvailable =
      mem.get('MemAvailable') ?? (mem.get('MemFree') ?? 0) + (mem.get('Buffers') ?? 0) + (mem.get('Cached') ?? 0);
    const swapTotal = mem.get('SwapTotal') ?? 0;
    const swapFree = mem.get('SwapFree') ?? 0;
    const [l1, l5, l15] = loadavg.split(' ').map(Number);

    const entries = parseMounts(mounts, this.opts.ignoreMounts);
    const wait = Math.max(20, Math.min(STATFS_WAIT_MS, Math.floor(this.opts.timeoutMs / 2)));
    const answers = await Promise.all(entries.map((e) => this.statOne(e, wait)));
    const filesystems: Filesystem[] = [];
    const stalled: NonNullable<HostData['stalledMounts']> = [];
    for (const a of answers) {
      if (a && 'fs' in a) filesystems.push(a.fs);
      else if (a) stalled.push(a.stalled);
    }

    return {
      hostname: this.host,
      cores: this.cores,
      cpuPct,
      memTotalBytes: memTotal,
      memAvailableBytes: memAvailable,
      memUsedPct: memTotal > 0 ? (100 * (memTotal - memAvailable)) / memTotal : 0,
      swapTotalBytes: swapTotal,
      swapUsedBytes: swapTotal - swapFree,
      load: [l1 || 0, l5 || 0, l15 || 0],
      uptimeSec: Number(uptime.split(' ')[0]) || 0,
      filesystems,
      ...(stalled.length ? { stalledMounts: stalled } : {}),
    };
  }

  /** One filesystem's figures, or that it is not answering; null when it cannot be read. */
  private async statOne(e: MountEntry, waitMs: number): Promise<FsAnswer> {
    const pendingSince = this.pendingStatfs.get(e.mount);
    if (pendingSince !== undefined) return { stalled: { ...e, since: pendingSince } };
    const since = Date.now();
    let returned = false;
    const call = this.statfs(e.mount).then(
      (s): FsAnswer => {
        const size = s.blocks * s.bsize;
        if (size === 0) return null;
        const used = (s.blocks - s.bfree) * s.bsize;
        const avail = s.bavail * s.bsize;
        const usedPct = used + avail > 0 ? (100 * used) / (used + avail) : 0;
        return { fs: { mount: e.mount, device: e.device, fstype: e.fstype, sizeBytes: size, usedBytes: used, availBytes: avail, usedPct } };
      },
      () => null, // unmounted between reading /proc/mounts and statfs, or no permission
    );
    void call.finally(() => {
      returned = true;
      if (this.pendingStatfs.get(e.mount) === since) this.pendingStatfs.delete(e.mount);
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), waitMs);
    });
    try {
      const r = await Promise.race([call, late]);
      if (r !== 'late') return r;
      if (!returned) this.pendingStatfs.set(e.mount, since);
      return { stalled: { ...e, since } };
    } finally {
      clearTimeout(timer);
    }
  }
}
