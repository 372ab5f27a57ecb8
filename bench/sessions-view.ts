// The sessions view with 1,000 sessions (issue 12): its CPU cost at a 2 s refresh, against the
// idle dashboard on the same cluster, in the same run. A throwaway cluster (max_connections
// 1,100) gets 1,000 client sessions: most idle, some idle in a transaction, some in pg_sleep,
// and a lock chain. The built `ops` runs in a 120x35 pty (util-linux script) at --refresh 2:
// once on the dashboard, once with the sessions view open (`a`). After the first frame and 4 s
// of settling, the CPU time of the console's process (and its children) over S seconds.
// Prints JSON rows [figure, measured, target] for bench/run.mjs.
// Run alone: node_modules/.bin/tsx bench/sessions-view.ts [--sessions N] [--seconds S]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startCluster } from '../src/drill/cluster';

const root = join(import.meta.dirname, '..');
const opsBin = join(root, 'bin/ops');
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('sessions', 1000);
const SECONDS = arg('seconds', 30);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function procTimes(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime stime cutime cstime are fields 14-17 (1-based); f[0] is field 3
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

function ptyChildPid(scriptPid: number): number {
  const out = spawnSync('pgrep', ['-P', String(scriptPid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  return Number(out);
}

function waitFor(child: ChildProcess, pred: (buf: string) => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`bench: no frame matched within ${ms} ms: ${buf.slice(-300)}`)), ms);
    const on = (d: Buffer) => {
      buf += d.toString();
      if (buf.length > 200_000) buf = buf.slice(-100_000);
      if (pred(buf)) {
        clearTimeout(t);
        child.stdout!.off('data', on);
        resolve();
      }
    };
    child.stdout!.on('data', on);
  });
}

async function measure(url: string, openView: boolean): Promise<{ cpuPct: number; rssMB: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.CI;
  for (const k of Object.keys(env)) if (k.startsWith('PG') || k === 'DATABASE_URL') delete env[k];
  const inner = `stty rows 35 cols 120; exec ${opsBin} --refresh 2 --database '${url}'`;
  const child = spawn('script', ['-qfec', inner, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  await waitFor(child, (b) => /score \d+%/.test(b), 20_000);
  if (openView) {
    child.stdin!.write('a');
    await waitFor(child, (b) => /\d+ idle in tx/.test(b), 20_000);
  }
  await new Promise((r) => setTimeout(r, 4000));
  const pid = ptyChildPid(child.pid!);
  const t0 = procTimes(pid);
  const start = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const t1 = procTimes(pid);
  const elapsed = (performance.now() - start) / 1000;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  child.stdin!.write('q');
  await new Promise<void>((r) => {
    const t = setTimeout(() => (child.kill('SIGKILL'), r()), 5000);
    child.on('exit', () => (clearTimeout(t), r()));
  });
  return { cpuPct: ((t1 - t0) / elapsed) * 100, rssMB: rss };
}

async function main(): Promise<void> {
  const cluster = await startCluster({ prefix: 'ops-bench-sessions-', settings: { max_connections: N + 100 } });
  const url = `postgres://${cluster.user}@${cluster.host}:${cluster.port}/postgres`;
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, N - i) }, async (_, j) => {
          const c = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, database: 'postgres', application_name: `bench-${(i + j) % 20}` });
          c.on('error', () => {});
          await c.connect();
          return c;
        }),
      );
      clients.push(...batch);
    }
    // some busy: idle in a transaction, sleeping queries, a lock chain of three
    await Promise.all(clients.slice(0, 50).map((c) => c.query('BEGIN').then(() => c.query('SELECT 1'))));
    for (const c of clients.slice(50, 80)) void c.query('SELECT pg_sleep(3600)').catch(() => {});
    await clients[80].query('SELECT pg_advisory_lock(1)');
    await clients[81].query('SELECT pg_advisory_lock(2)');
    void clients[81].query('SELECT pg_advisory_lock(1)').catch(() => {});
    void clients[82].query('SELECT pg_advisory_lock(2)').catch(() => {});

    const dash = await measure(url, false);
    const view = await measure(url, true);
    const rows: [string, string, string][] = [
      [`idle dashboard CPU, ${N} client sessions, 2 s refresh, over ${SECONDS} s`, `${dash.cpuPct.toFixed(2)} % of one core (RSS ${dash.rssMB.toFixed(1)} MB)`, 'reference'],
      [`sessions view CPU, ${N} client sessions, 2 s refresh, over ${SECONDS} s`, `${view.cpuPct.toFixed(2)} % of one core (RSS ${view.rssMB.toFixed(1)} MB), ${(view.cpuPct / dash.cpuPct).toFixed(2)}x the dashboard`, '<= 2x the idle dashboard'],
    ];
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    cluster.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench sessions-view: ${(err as Error).message}\n`);
  process.exit(1);
});
