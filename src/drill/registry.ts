// The drills' registry: <state>/drills/<id>.json, one record per drill, written the moment its
// directory exists. It is how a drill left behind by a killed process is found (its owning ops
// process is gone, by pid and start time) and removed: its planted sessions, its postmaster and
// its files. `ops drill` reaps on every start, `ops drill clean` on request.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runPg } from './cluster';

export interface DrillRecord {
  id: string;
  /** the ops process that owns it: the drill's console while it is open */
  pid: number;
  /**
   * that process's start time (field 22 of /proc/PID/stat, clock ticks since boot), so that a
   * pid reused by another process is not taken for the console; null in records of older ops
   */
  pidStart: number | null;
  host: string;
  dir: string;
  data: string;
  bin: string;
  runAs: string | null;
  port: number;
  url: string;
  scenarios: string[];
  /** process groups of the planted sessions (the locks scenario's helper process) */
  children: number[];
  keep: boolean;
  startedAt: string;
}

export function registryDir(stateDir: string): string {
  return join(stateDir, 'drills');
}

export function recordPath(reg: string, id: string): string {
  return join(reg, `${id}.json`);
}

export function writeRecord(reg: string, r: DrillRecord): void {
  mkdirSync(reg, { recursive: true, mode: 0o700 });
  writeFileSync(recordPath(reg, r.id), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
}

export function listRecords(reg: string): DrillRecord[] {
  let names: string[] = [];
  try {
    names = readdirSync(reg).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: DrillRecord[] = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(readFileSync(join(reg, n), 'utf8')) as DrillRecord);
    } catch {
      // a torn record: nothing to act on
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time (clock ticks after boot) and state, from /proc/PID/stat; null when it is gone. */
export function processStart(pid: number): { start: number; state: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: the fields after it start
    // after the last ')', with the state (field 3) first, so the start time (22) is the 20th
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const start = Number(f[19]);
    return Number.isFinite(start) ? { start, state: f[0] } : null;
  } catch {
    return null;
  }
}

/**
 * Whether the ops process that owns a drill (its console, while open) still runs: its pid is
 * alive, not a zombie, and started when the record says (so a reused pid does not count). A
 * record of an older ops, with no start time, goes by the pid alone.
 */
export function ownerAlive(r: Pick<DrillRecord, 'pid' | 'pidStart'>): boolean {
  if (!(r.pid > 0)) return false;
  const p = processStart(r.pid);
  if (p) return p.state !== 'Z' && p.state !== 'X' && (r.pidStart == null || p.start === r.pidStart);
  // no /proc entry we can read: the pid alone
  return r.pidStart == null && alive(r.pid);
}

/** Stops a drill's sessions and cluster and removes its directory and record. Never throws. */
export function destroy(reg: string, r: DrillRecord): void {
  for (const pgid of r.children) {
    try {
      // only the drill's own planted sessions: their leader's command line names its address
      if (!readFileSync(`/proc/${pgid}/cmdline`, 'utf8').includes(`127.0.0.1:${r.port}/`)) continue;
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const pidFile = join(r.data, 'postmaster.pid');
  let postmaster = 0;
  try {
    postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || 0;
  } catch {
    // never started, or already stopped
  }
  if (postmaster > 1) {
    try {
      runPg(join(r.bin, 'pg_ctl'), ['stop', '-D', r.data, '-m', 'immediate', '-w', '-t', '30'], r.runAs);
    } catch {
      // pg_ctl could not: the signals below do it
    }
    // whatever pg_ctl said, the postmaster must be gone before its files go (checked to be this
    // drill's postmaster: after a reboot the pid may belong to something else)
    const ours = () => {
      try {
        return readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes(r.data);
      } catch {
        return false;
      }
    };
    for (const [sig, waitMs] of [['SIGQUIT', 3000], ['SIGKILL', 2000]] as const) {
      if (!ours()) break;
      try {
        process.kill(postmaster, sig);
      } catch {
        break;
      }
      const until = Date.now() + waitMs;
      while (ours() && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  if (basename(r.dir).startsWith('ops-drill-')) rmSync(r.dir, { recursive: true, force: true });
  rmSync(recordPath(reg, r.id), { force: true });
}

/**
 * Removes drills whose ops process is gone (a kill -9, a crash); with `all`, kept ones too. A
 * drill whose console is open (its ops process still runs) is never removed: with `all` it is
 * named in a line of its own, skipped. Returns one line per drill removed or skipped.
 */
export function reap(reg: string, opts: { all?: boolean; host: string } = { host: '' }): string[] {
  const out: string[] = [];
  for (const r of listRecords(reg)) {
    if (r.pid === process.pid) continue;
    const mine = r.host === opts.host;
    if (!mine) continue;
    if (ownerAlive(r)) {
      if (opts.all) out.push(`skipped drill ${r.id} (port ${r.port}): in use by its console (ops pid ${r.pid}); quit that console first`);
      continue;
    }
    if (!r.keep || opts.all) {
      destroy(reg, r);
      out.push(`removed drill ${r.id} (port ${r.port}, ${r.dir})${r.keep ? ', kept earlier' : ', left behind by a process that is gone'}`);
    }
  }
  return out;
}
