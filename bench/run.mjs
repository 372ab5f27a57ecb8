#!/usr/bin/env node
// npm run bench: the console's own cost, measured against the local PostgreSQL.
//   1. time to first frame (and to the first frame with data), median of N runs, 120x35 pty
//   2. the idle dashboard over 30 s at a 2 s refresh, after 30 s of warm-up, in a 120x35 pty, beside
//      pg_activity (both at once): CPU (children included),
//      RSS and bytes written to the terminal
//   3. one PostgreSQL probe round on a database with 10,000 tables (bench/probe-round.ts)
//   4. task output into the run log (bench/task-output.ts), the drill's start and clean-up
//   4b. the sessions view with 1,000 client sessions against the idle dashboard, same cluster
//      (bench/sessions-view.ts)
//   5. a 100 MiB, 65,000-run journal: ops history --limit N, ops rollback, ops show
//      (bench/journal-size.ts; needs no database)
//   6. the journal mirror's cost to a run: none, live, stopped, hung (bench/mirror.mjs)
// Figures go to stdout as markdown; docs/performance.md keeps them with this command.
// Options: --runs N (first frame), --idle-seconds S, --warm-seconds S, --skip-probe, --skip-idle, --skip-frame, --skip-output,
// --skip-drill, --skip-journal, --skip-sessions, --skip-overview, --skip-mirror; --only frame,idle,probe,sessions,output,drill,journal,overview,mirror
// runs just those;
// --no-peer leaves pg_activity out (frame and idle run it beside ops when it is installed)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opsBin = join(root, 'bin/ops');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const flag = (name) => args.includes(`--${name}`);
const onlyArg = opt('only', null);
const only = onlyArg ? onlyArg.split(',') : null;
const skip = (name) => flag(`skip-${name}`) || (only !== null && !only.includes(name));
const RUNS = Number(opt('runs', 15));
const IDLE_S = Number(opt('idle-seconds', 30));
const WARM_S = Number(opt('warm-seconds', 30));
// OPS_BENCH_CMD replaces the command under test (e.g. to compare node flags); default: bin/ops
const OPS_CMD = process.env.OPS_BENCH_CMD ?? null;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

if (!existsSync(join(root, 'dist/main.js'))) {
  console.error('bench: dist/ is missing; run "npm run build" first (npm run bench does)');
  process.exit(1);
}

const env = { ...process.env, TERM: 'xterm-256color' };
delete env.CI; // ink renders only the final frame when it believes it runs in CI

/** Runs `command` in a real pty of the given size, via util-linux script(1). */
function inPty(command, cols, rows) {
  const inner = `stty rows ${rows} cols ${cols}; exec ${command}`;
  return spawn('script', ['-qfec', inner, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

const shq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

function waitFor(child, pred, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t0 = performance.now();
    const timer = setTimeout(() => {
      child.stdout.off('data', onData);
      reject(new Error(`timed out; output so far: ${JSON.stringify(buf.slice(-400))}`));
    }, timeoutMs);
    const onData = (d) => {
      buf += d.toString('latin1');
      if (pred(buf)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(performance.now() - t0);
      }
    };
    child.stdout.on('data', onData);
  });
}

const exited = (child) => new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));

/** the pid of the process that script(1) runs (the shell execs into it) */
function ptyChildPid(scriptPid) {
  const out = spawnSync('pgrep', ['-P', String(scriptPid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  return Number(out);
}

function procTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields from state (3rd) on: utime=14, stime=15, cutime=16, cstime=17 -> indexes 11..14
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

function status(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function descendants(pid) {
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

async function firstFrame() {
  const firstAny = [];
  const firstData = [];
  const bare = [];
  for (let i = 0; i < RUNS; i++) {
    const child = inPty(OPS_CMD ?? shq(opsBin), 120, 35);
    // first frame: the header line; first data frame: the verdict with its score
    const p1 = waitFor(child, (b) => b.includes('ops '), 10000);
    const p2 = waitFor(child, (b) => /score \d+%/.test(b), 15000);
    firstAny.push(await p1);
    firstData.push(await p2);
    child.stdin.write('q');
    await exited(child);
  }
  for (let i = 0; i < RUNS; i++) {
    const child = inPty(`${shq(process.execPath)} -e ${shq("process.stdout.write('ops ')")}`, 120, 35);
    bare.push(await waitFor(child, (b) => b.includes('ops '), 10000));
    await exited(child);
  }
  return { firstAny, firstData, bare };
}

async function idle(command = `${OPS_CMD ?? shq(opsBin)} --refresh 2`, ready = (b) => /score \d+%/.test(b)) {
  const child = inPty(command, 120, 35);
  try {
    await waitFor(child, ready, 15000);
  } catch (err) {
    // never leave a console running behind a failed bench
    child.kill('SIGKILL');
    spawnSync('pkill', ['-KILL', '-P', String(child.pid)]);
    throw err;
  }
  // a console stays open for hours: measure it warm. The first rounds (the connection, the first
  // CPU sample) and V8's compiling of what runs every frame are left out, on both sides alike
  await new Promise((r) => setTimeout(r, WARM_S * 1000));
  const pid = ptyChildPid(child.pid);
  const rssAtStart = status(pid, 'VmRSS');
  let bytes = 0;
  child.stdout.on('data', (d) => (bytes += d.length));
  const t0 = procTimes(pid);
  const start = performance.now();
  let maxRss = 0;
  let maxKids = 0;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, status(pid, 'VmRSS'));
    maxKids = Math.max(maxKids, descendants(pid).length);
  }, 1000);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  clearInterval(sampler);
  const t1 = procTimes(pid);
  const elapsed = (performance.now() - start) / 1000;
  const rss = status(pid, 'VmRSS');
  child.stdin.write('q');
  await exited(child);
  const cpu = (t1.self - t0.self + (t1.children - t0.children)) / elapsed;
  return { cpuPct: cpu * 100, rssMB: rss / 1048576, rssStartMB: rssAtStart / 1048576, maxRssMB: Math.max(maxRss, rss) / 1048576, bytesPerSec: bytes / elapsed, elapsed, maxKids };
}

const rows = [];
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '?');

// ---------------------------------------------------------------- the peer, side by side
// pg_activity (Debian's pg-activity) on the same database, in the same 120x35 pty, at the same
// 2 s refresh: its time to first data is its first frame with the "Sessions:" figures.
const DB_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
if (!process.env.DATABASE_URL && !process.env.PGHOST) env.DATABASE_URL = DB_URL;

/** pg_activity's path: installed with apt when it is missing and we may (root); null, said why, when not. */
function findPeer() {
  if (flag('no-peer')) return null;
  const which = () => spawnSync('sh', ['-c', 'command -v pg_activity'], { encoding: 'utf8' }).stdout.trim() || null;
  let bin = which();
  if (!bin && process.getuid?.() === 0) {
    console.error('bench: pg_activity is not installed; installing Debian\'s pg-activity');
    const r = spawnSync('sh', ['-c', 'apt-get install -y pg-activity || (apt-get update && apt-get install -y pg-activity)'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status === 0) bin = which();
  }
  if (!bin) console.error('bench: pg_activity is not installed and cannot be here (apt install pg-activity): the side-by-side figures are left out');
  return bin;
}
const PEER = skip('frame') && skip('idle') ? null : findPeer();
const peerCmd = (refresh) => `${shq(PEER)} --refresh ${refresh} ${shq(DB_URL)}`;
const plain = (b) => b.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\([A-Z0-9]|\x1b[78=>]/g, '');
const peerReady = (b) => /Sessions:\s*\d+/.test(plain(b));
const peerVersion = PEER ? spawnSync(PEER, ['--version'], { encoding: 'utf8' }).stdout.trim() : null;
/** one row of the side-by-side table: ops, the peer, and ops / peer */
const side = [];
const sideRow = (figure, ops, peer, unit, d = 1) => side.push([figure, `${fmt(ops, d)} ${unit}`, peer === null ? 'n/a' : `${fmt(peer, d)} ${unit}`, peer ? `${fmt(ops / peer, 2)}x` : '']);

async function peerFirstData() {
  const out = [];
  for (let i = 0; i < RUNS; i++) {
    const child = inPty(peerCmd(2), 120, 35);
    out.push(await waitFor(child, peerReady, 15000));
    child.stdin.write('q');
    await exited(child);
  }
  return out;
}

if (!skip('frame')) {
  const r = await firstFrame();
  rows.push(['time to first frame (median / p90)', `${fmt(median(r.firstAny), 0)} / ${fmt(pct(r.firstAny, 90), 0)} ms`, '<= 300 ms median']);
  rows.push(['time to first frame with data (median / p90)', `${fmt(median(r.firstData), 0)} / ${fmt(pct(r.firstData, 90), 0)} ms`, '']);
  rows.push(['bare node through the same pty harness (median)', `${fmt(median(r.bare), 0)} ms`, 'reference']);
  const peer = PEER ? await peerFirstData() : null;
  sideRow('time to the first frame with data (median)', median(r.firstData), peer ? median(peer) : null, 'ms', 0);
}
if (!skip('idle')) {
  // both at once, each in its own pty: on a shared machine they see the same load
  const [r, p] = await Promise.all([idle(), PEER ? idle(peerCmd(2), peerReady) : Promise.resolve(null)]);
  rows.push([`idle dashboard CPU over ${fmt(r.elapsed, 0)} s at 2 s refresh (after ${WARM_S} s), children included`, `${fmt(r.cpuPct, 2)} % of one core`, '<= 0.5 %']);
  rows.push(['idle dashboard RSS (start / end / max of the measured time)', `${fmt(r.rssStartMB)} / ${fmt(r.rssMB)} / ${fmt(r.maxRssMB)} MB`, '<= 70 MB']);
  rows.push(['bytes to the terminal, 120x35', `${fmt(r.bytesPerSec / 1024, 2)} KB/s`, '<= 1.6 KB/s']);
  rows.push(['child processes seen during the idle run', String(r.maxKids), '0']);
  sideRow(`idle CPU over ${fmt(r.elapsed, 0)} s at 2 s refresh (after ${WARM_S} s), children included`, r.cpuPct, p?.cpuPct ?? null, '%', 2);
  sideRow('RSS at the end', r.rssMB, p?.rssMB ?? null, 'MB');
  sideRow('bytes to the terminal', r.bytesPerSec, p?.bytesPerSec ?? null, 'B/s', 0);
  if (flag('baseline')) {
    const script = "process.stdin.setRawMode(true);process.stdin.on('data',d=>{if(String(d)==='q')process.exit(0)});setInterval(()=>{},2000);process.stdout.write('ready')";
    const b = await idle(`${shq(process.execPath)} -e ${shq(script)}`, (x) => x.includes('ready'));
    rows.push(['reference: bare node with a 2 s timer, same harness', `${fmt(b.cpuPct, 2)} % CPU, ${fmt(b.rssMB)} MB RSS`, '']);
  }
}
if (!skip('probe')) {
  const res = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/probe-round.ts')], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) {
    console.error('bench: probe-round failed');
    process.exit(1);
  }
  for (const line of res.stdout.trim().split('\n')) rows.push(JSON.parse(line));
}
if (!skip('sessions')) {
  // the sessions view with 1,000 sessions against the idle dashboard (bench/sessions-view.ts)
  const res = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/sessions-view.ts'), '--seconds', String(IDLE_S)], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) (console.error('bench: sessions-view failed'), (process.exitCode = 1));
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) rows.push(JSON.parse(line));
}
if (!skip('output')) {
  const res = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/task-output.ts')], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) (console.error('bench: task-output failed or lost lines'), (process.exitCode = 1));
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) rows.push(JSON.parse(line));
}

if (!skip('drill')) {
  // ops drill --keep: cluster, seed, every scenario, ready to use; then ops drill clean
  const state = mkdtempSync(join(tmpdir(), 'ops-bench-drill-'));
  const denv = { ...env, OPS_STATE_DIR: state };
  const up = [];
  const down = [];
  try {
    for (let i = 0; i < 3; i++) {
      let t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [opsBin, 'drill', '--keep'], { env: denv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`bench: ops drill failed: ${r.stderr}`);
      up.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      spawnSync(process.execPath, [opsBin, 'drill', 'clean'], { env: denv, stdio: 'ignore' });
      down.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
  rows.push(['ops drill, every scenario, until ready (median of 3)', `${fmt(median(up) / 1000, 2)} s`, '']);
  rows.push(['ops drill clean (median of 3)', `${fmt(median(down), 0)} ms`, '']);
}

if (!skip('overview')) {
  // the overview of 10 targets (10 databases on the bench's server) against the single-target
  // console, both idle at a 2 s refresh, at the same time, each in its own pty (issue 15 §1)
  const N = 10;
  const names = Array.from({ length: N }, (_, i) => `ops_bench_ov_${i}`);
  const psql = (sql) => spawnSync('psql', [DB_URL, '-qAtc', sql], { encoding: 'utf8' });
  for (const n of names) psql(`DROP DATABASE IF EXISTS ${n}`), psql(`CREATE DATABASE ${n}`);
  const confDir = mkdtempSync(join(tmpdir(), 'ops-bench-ov-'));
  const base = new URL(DB_URL);
  const targets = names.map((n) => {
    const u = new URL(base);
    u.pathname = `/${n}`;
    return { name: n.replace('ops_bench_ov_', 'db'), url: u.toString() };
  });
  writeFileSync(join(confDir, 'config.json'), JSON.stringify({ targets }));
  try {
    const countConns = () => psql(`SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'ops_bench_ov_%' AND application_name = 'ops-console'`).stdout.trim();
    const during = new Promise((r) => setTimeout(() => r(countConns()), (WARM_S + 10) * 1000));
    const [single, overview, connsDuring] = await Promise.all([
      idle(),
      idle(`env -u DATABASE_URL OPS_CONFIG_DIR=${shq(confDir)} ${OPS_CMD ?? shq(opsBin)} --refresh 2`, (b) => new RegExp(`overview \\S+ ${N} targets`).test(b) && /db9 .*\d+\/\d+/.test(b.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))),
      during,
    ]);
    const connsAfter = countConns();
    rows.push([`overview of ${N} targets, idle CPU at 2 s refresh (after ${WARM_S} s), beside the single-target console`, `${fmt(overview.cpuPct, 2)} % against ${fmt(single.cpuPct, 2)} % (${fmt(overview.cpuPct / single.cpuPct, 2)}x)`, '<= 3x']);
    rows.push([`overview of ${N} targets, RSS at the end`, `${fmt(overview.rssMB)} MB against ${fmt(single.rssMB)} MB`, '']);
    rows.push([`overview of ${N} targets, probe connections while it runs / after it quit`, `${connsDuring} / ${connsAfter}`, `${N} / 0`]);
  } finally {
    for (const n of names) psql(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
    rmSync(confDir, { recursive: true, force: true });
  }
}

if (!skip('mirror')) {
  const res = spawnSync(process.execPath, [join(root, 'bench/mirror.mjs')], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) (console.error('bench: mirror failed'), (process.exitCode = 1));
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) rows.push(JSON.parse(line));
}

if (!skip('journal')) {
  const res = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/journal-size.ts'), '--rows'], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) (console.error('bench: journal-size failed'), (process.exitCode = 1));
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) rows.push(JSON.parse(line));
}

console.log(`\n| figure | measured | target |\n|---|---|---|`);
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
if (side.length) {
  console.log(`\nSide by side, same database, same 120x35 pty, 2 s refresh:\n\n| figure | ops | ${peerVersion ?? 'pg_activity'} | ops / peer |\n|---|---|---|---|`);
  for (const [a, b, c, d] of side) console.log(`| ${a} | ${b} | ${c} | ${d} |`);
}
console.log(`\nnode ${process.version}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, ${new Date().toISOString()}`);
