// Fault injection on a throwaway cluster the test owns: hang it (SIGSTOP on the postmaster and
// every backend), let it go (SIGCONT), restart it, stop it at once; and run the built ops as a
// child the test can kill, with its own config and state directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPg, type Cluster } from '../../src/drill/cluster';
import { assertBuilt, cleanEnv, OPS_BIN, type OpsResult } from './ops';

/** The postmaster's pid (postmaster.pid's first line). */
export function postmasterPid(c: Cluster): number {
  return Number(readFileSync(join(c.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** The postmaster and all its children (backends, background workers). */
export function serverPids(c: Cluster): number[] {
  const pm = postmasterPid(c);
  const out = [pm];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pm) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

/** Stops every server process (SIGSTOP): it accepts TCP connections (the kernel does) and answers nothing. */
export function hang(c: Cluster): () => void {
  const pids = serverPids(c);
  signalAll(pids, 'SIGSTOP');
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    signalAll(pids, 'SIGCONT');
  };
}

const asUser = (c: Cluster): string | null => (process.getuid?.() === 0 ? c.runAs : null);

/** pg_ctl restart -m fast: every session is ended, the server comes back on the same port. */
export function restart(c: Cluster): void {
  runPg(join(c.bin, 'pg_ctl'), ['restart', '-D', c.data, '-m', 'fast', '-w', '-t', '60', '-l', join(c.dir, 'server.log')], asUser(c));
}

/** pg_ctl stop -m immediate: the server is gone, and stays gone. */
export function stopNow(c: Cluster): void {
  runPg(join(c.bin, 'pg_ctl'), ['stop', '-D', c.data, '-m', 'immediate', '-w', '-t', '30'], asUser(c));
}

/** pg_ctl start again after stopNow. */
export function startAgain(c: Cluster): void {
  if (existsSync(join(c.data, 'postmaster.pid'))) return; // still up
  runPg(join(c.bin, 'pg_ctl'), ['start', '-D', c.data, '-w', '-t', '60', '-l', join(c.dir, 'server.log')], asUser(c));
}

export interface OpsHome {
  root: string;
  configDir: string;
  stateDir: string;
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** writes an operator task (config dir tasks/NAME.yaml) */
  task(name: string, yaml: string): void;
  cleanup(): void;
}

/** A config and a state directory of the test's own, pointed at `url`. */
export function opsHome(url: string, config: Record<string, unknown> = {}): OpsHome {
  const root = mkdtempSync(join(tmpdir(), 'ops-fault-'));
  const configDir = join(root, 'config');
  const stateDir = join(root, 'state');
  mkdirSync(join(configDir, 'tasks'), { recursive: true, mode: 0o755 });
  chmodSync(configDir, 0o755);
  chmodSync(join(configDir, 'tasks'), 0o755);
  writeFileSync(join(configDir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
  return {
    root,
    configDir,
    stateDir,
    env: (extra = {}) => cleanEnv({ OPS_CONFIG_DIR: configDir, OPS_STATE_DIR: stateDir, DATABASE_URL: url, ...extra }),
    task(name, yaml) {
      const f = join(configDir, 'tasks', `${name}.yaml`);
      writeFileSync(f, yaml);
      chmodSync(f, 0o644);
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface OpsChild {
  child: ChildProcess;
  /** what it printed so far */
  readonly stdout: string;
  readonly stderr: string;
  /** resolves when it exits (rejects after `timeoutMs`, killing it) */
  done: Promise<OpsResult>;
  /** resolves once its output matches */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts the built ops; `done` rejects, naming what it printed, when it outlives `timeoutMs`. */
export function startOps(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): OpsChild {
  assertBuilt();
  const child = spawn(process.execPath, [OPS_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(stdout) || w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => {
    stdout += d;
    check();
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    check();
  });
  const done = new Promise<OpsResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ops ${args.join(' ')} did not return within ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    waitFor(re, ms = 20_000) {
      if (re.test(stdout) || re.test(stderr)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        waiters.push(w);
        const t = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`ops ${args.join(' ')}: no ${re} within ${ms} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        }, ms);
        done.then(() => {
          clearTimeout(t);
          if (waiters.includes(w)) reject(new Error(`ops ${args.join(' ')} exited before ${re}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        }, () => undefined);
      });
    },
  };
}

/** The journal's events (JSON lines) in `stateDir`. */
export function journalEvents(stateDir: string): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(join(stateDir, 'journal.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** Lock files left in `stateDir`/locks. */
export function lockFiles(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, 'locks')).filter((f) => f.endsWith('.lock'));
  } catch {
    return [];
  }
}
