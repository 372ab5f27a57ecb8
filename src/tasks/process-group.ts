// A step's processes: the signals that stop a command's process group, whether any of the group
// still runs (the attention queries ask it of a run left behind), and the look-up of a command's
// executable before it is started.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';

/** SIGINT to the whole process group, then SIGTERM, then SIGKILL, `graceMs` apart. */
export async function killGroup(pid: number, graceMs: number): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    if (!groupAlive(pid)) return;
    try {
      process.kill(-pid, sig);
    } catch {
      return; // the group is gone
    }
    if (sig === 'SIGKILL') return;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (!groupAlive(pid)) return;
    }
  }
}

/**
 * Whether any process of the group still runs. Zombies do not count: an orphaned grandchild
 * that was killed stays a zombie until whoever adopted it reaps it, which can take a while.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true; // no /proc: the signal test above is all we have
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state, ppid, pgrp
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}

/** Whether `cmd` names an executable file (a path, or a name found on `path`). */
export function findExecutable(cmd: string, path: string, cwd?: string): boolean {
  const ok = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return ok(cmd.startsWith('/') || !cwd ? cmd : `${cwd}/${cmd}`);
  return path.split(':').some((dir) => dir !== '' && ok(`${dir}/${cmd}`));
}
