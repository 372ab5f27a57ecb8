// Journal size: the commands an operator reaches for in an emergency, on a journal of 100 MiB
// (a bench script of about 500 lines: the seeded journal writer, the timing harness and the
// table it prints are used only here, and read top to bottom)
// and 65,000 runs. Writes that journal (seeded, so every run writes the same one) into a
// temporary state directory, then times the built `ops` on it, one fresh process per command
// (`node <bin/ops's node flags> bin/ops ...`): the wall time from spawn to exit, and the peak RSS
// (the process's own maxRSS, read at exit through a tiny --import hook).
//
//   node build.mjs && node_modules/.bin/tsx bench/journal-size.ts [--runs N] [--mib N] [--count N] [--compare DIR]
//   (or: npm run bench -- --only journal)
//
// --runs: how many times each command is timed (median, and the slowest); default 5.
// --compare DIR: the same commands with DIR/bin/ops too (a checkout of another commit, built),
// in the same journal (its first command runs after this build's index exists; the old build
// does not read the index).
// Prints markdown; with --rows, one JSON row per figure for bench/run.mjs.
//
// What is timed:
//   - ops --version, and ops history --limit 5 on an empty journal: what any command costs here;
//   - the first command on the journal, which builds the index (`journal.jsonl.idx`);
//   - then, with the index: ops history --limit 5, ops history --limit 50, ops rollback (the
//     list of runs needing attention: the same read as the console's start-up notice), ops show
//     of the newest run and of a run from the middle of the file, ops history --json --limit 5
//     after another process appended 2,000 more runs (the index is behind), and again once it
//     caught up;
//   - the journal's own part of those commands, timed inside a fresh process once it is loaded;
//   - what checking an event costs, by hand and as a zod 4 schema.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod';
import { parseLine } from '../src/journal';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const RUNS = Number(opt('runs', '5'));
const TARGET_BYTES = Number(opt('mib', '100')) * 1024 * 1024;
const COUNT = Number(opt('count', '65000'));
const COMPARE = opt('compare', '');
const ROWS = args.includes('--rows');
/** (for profiling) write the journal into this state directory and keep it */
const KEEP = opt('state', '');

// ---------------------------------------------------------------- the journal

/** mulberry32: the same journal on every run */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TaskShape {
  id: string;
  title: string;
  risk: 'low' | 'medium' | 'high' | 'critical';
  steps: { id: string; title: string; rollback: string | null; irreversible: boolean; detail: string }[];
}

const TASKS: TaskShape[] = [
  {
    id: 'vacuum-analyze',
    title: 'VACUUM (ANALYZE) a table',
    risk: 'low',
    steps: [
      { id: 'locks', title: 'Check for conflicting locks', rollback: null, irreversible: false, detail: "SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass" },
      { id: 'vacuum', title: 'VACUUM (ANALYZE)', rollback: null, irreversible: false, detail: 'VACUUM (ANALYZE) public.orders' },
    ],
  },
  {
    id: 'reindex',
    title: 'Rebuild an index concurrently',
    risk: 'medium',
    steps: [
      { id: 'size', title: 'Record the index size', rollback: null, irreversible: false, detail: "SELECT pg_relation_size('orders_created_idx')" },
      { id: 'build', title: 'REINDEX CONCURRENTLY', rollback: 'DROP INDEX CONCURRENTLY orders_created_idx_ccnew', irreversible: false, detail: 'REINDEX INDEX CONCURRENTLY orders_created_idx' },
    ],
  },
  {
    id: 'backup',
    title: 'pg_dump the database',
    risk: 'medium',
    steps: [
      { id: 'space', title: 'Check free space', rollback: null, irreversible: false, detail: 'df --output=avail /var/backups/pg' },
      { id: 'dump', title: 'pg_dump', rollback: 'rm -f /var/backups/pg/appdb.dump.part', irreversible: false, detail: 'pg_dump -Fc -f /var/backups/pg/appdb.dump.part appdb' },
      { id: 'publish', title: 'Rename into place', rollback: null, irreversible: false, detail: 'mv appdb.dump.part appdb.dump' },
    ],
  },
  {
    id: 'set-setting',
    title: 'ALTER SYSTEM SET and reload',
    risk: 'high',
    steps: [
      { id: 'set', title: 'ALTER SYSTEM SET', rollback: 'ALTER SYSTEM RESET work_mem', irreversible: false, detail: "ALTER SYSTEM SET work_mem = '64MB'" },
      { id: 'reload', title: 'pg_reload_conf()', rollback: 'SELECT pg_reload_conf()', irreversible: false, detail: 'SELECT pg_reload_conf()' },
    ],
  },
];

const pad2 = (n: number) => String(n).padStart(2, '0');
const runId = (ms: number, task: string, rnd: () => number) => {
  const d = new Date(ms);
  const hex = Math.floor(rnd() * 65536).toString(16).padStart(4, '0');
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}-${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}-${task}-${hex}`;
};

interface Generated {
  bytes: number;
  runs: number;
  lines: number;
  newest: string;
  middle: string;
  lastMs: number;
}

/**
 * Appends `count` runs to `file`, about `bytes` in all (a `comment` parameter pads the runs to
 * the size). Most runs succeed; some fail (their rollbacks applied, or left pending), are
 * cancelled, interrupted, or have no end (a process that died); one in 20 overlaps the next
 * (their lines interleave); one in 500 is rolled back much later (its lines are far apart).
 */
function generate(file: string, count: number, bytes: number, startMs: number, seed: number): Generated {
  const rnd = prng(seed);
  const fd = openSync(file, 'a', 0o600);
  let size = statSync(file).size;
  const first = size;
  let pending = '';
  let lines = 0;
  let ms = startMs;
  let middle = '';
  let newest = '';
  const later: { run: string; step: string; index: number; at: number }[] = [];
  const emit = (e: Record<string, unknown>) => {
    const line = `${JSON.stringify(e)}\n`;
    pending += line;
    size += Buffer.byteLength(line);
    lines++;
    if (pending.length > 4 << 20) {
      writeSync(fd, pending);
      pending = '';
    }
  };
  const iso = (t: number) => new Date(t).toISOString();
  const operator = { user: 'alice', sudoUser: null, sshClient: '10.20.30.40', tty: '/dev/pts/3', host: 'db-maint-01', pid: 4242 };
  let held: (() => void)[] | null = null;
  let padded = 0;
  for (let i = 0; i < count; i++) {
    ms += 60_000 + Math.floor(rnd() * 1_500_000);
    const task = TASKS[Math.floor(rnd() * TASKS.length)];
    const run = runId(ms, task.id, rnd);
    if (i === Math.floor(count / 2)) middle = run;
    newest = run;
    // pad every run towards the average size the journal should reach
    // (the size of a run without its comment: the average so far)
    const want = first + (bytes * (i + 1)) / count;
    const plain = i > 0 ? (size - first - padded) / i : 1500;
    const comment = 'x'.repeat(Math.max(0, Math.min(4000, Math.round(want - size - plain))));
    padded += comment.length;
    let seq = 0;
    let t = ms;
    const ev = (type: string, body: Record<string, unknown>) => {
      t += 50 + Math.floor(rnd() * 20_000);
      emit({ v: 1, ts: iso(t), seq: ++seq, run, type, ...body });
    };
    const r = rnd();
    const outcome = r < 0.94 ? 'succeeded' : r < 0.96 ? 'failed' : r < 0.97 ? 'failed-pending' : r < 0.98 ? 'cancelled' : r < 0.99 ? 'interrupted' : 'unfinished';
    const lines0: (() => void)[] = [];
    lines0.push(() =>
      ev('run.start', {
        task: task.id,
        title: task.title,
        risk: task.risk,
        params: { database: 'appdb', table: 'public.orders', ticket: `OPS-${1000 + i}`, comment },
        target: 'postgres://app@db1.internal:5432/appdb',
        operator: { ...operator, pid: 4000 + (i % 30000) },
        steps: task.steps.map(({ id, title, rollback, irreversible }) => ({ id, title, rollback, irreversible })),
        dryRun: false,
      }),
    );
    const stopAt = outcome === 'succeeded' ? task.steps.length : Math.max(1, Math.floor(rnd() * task.steps.length));
    for (let s = 0; s < stopAt; s++) {
      const st = task.steps[s];
      const last = s === stopAt - 1 && outcome !== 'succeeded';
      lines0.push(() => ev('step.start', { step: st.id, index: s, attempt: 1, detail: st.detail, pgid: 20000 + (i % 40000) }));
      if (last && (outcome === 'interrupted' || outcome === 'unfinished')) break;
      const failed = last && (outcome === 'failed' || outcome === 'failed-pending' || outcome === 'cancelled');
      lines0.push(() =>
        ev('step.finish', {
          step: st.id,
          index: s,
          outcome: failed ? (outcome === 'cancelled' ? 'cancelled' : 'failed') : 'ok',
          exitCode: failed ? 1 : 0,
          durationMs: 40 + Math.floor(rnd() * 90_000),
          ...(failed ? { error: 'ERROR:  canceling statement due to lock timeout' } : { values: {} }),
        }),
      );
    }
    if (outcome === 'failed') {
      for (let s = stopAt - 2; s >= 0; s--) {
        const st = task.steps[s];
        if (!st.rollback) continue;
        lines0.push(() => ev('rollback.start', { step: st.id, index: s, detail: st.rollback }));
        lines0.push(() => ev('rollback.finish', { step: st.id, index: s, outcome: 'ok', exitCode: 0, durationMs: 30 }));
      }
    }
    if (outcome === 'interrupted') lines0.push(() => ev('note', { text: 'SIGHUP: the terminal is gone; the running step finishes, then the run stops' }));
    if (outcome !== 'unfinished') {
      const end = outcome === 'failed' ? 'rolled back' : outcome === 'failed-pending' ? 'failed' : outcome;
      lines0.push(() => ev('run.end', { outcome: end, ...(end === 'failed' ? { error: 'step failed: ERROR:  canceling statement due to lock timeout' } : {}) }));
    }
    if (i % 500 === 250 && outcome === 'succeeded') {
      const s = task.steps.findIndex((x) => x.rollback);
      if (s >= 0) later.push({ run, step: task.steps[s].id, index: s, at: i + 200 });
    }
    // one in 20 overlaps the next run: their lines alternate
    if (held) {
      for (let k = 0; k < Math.max(held.length, lines0.length); k++) {
        held[k]?.();
        lines0[k]?.();
      }
      held = null;
    } else if (rnd() < 0.05 && i + 1 < count) held = lines0;
    else for (const l of lines0) l();
    // a rollback of a run from long ago
    while (later.length && later[0].at <= i) {
      const x = later.shift()!;
      emit({ v: 1, ts: iso(ms + 1000), seq: 90, run: x.run, type: 'rollback.start', step: x.step, index: x.index, detail: 'undo, a week later' });
      emit({ v: 1, ts: iso(ms + 2000), seq: 91, run: x.run, type: 'rollback.finish', step: x.step, index: x.index, outcome: 'ok', exitCode: 0, durationMs: 25 });
    }
  }
  if (held) for (const l of held as (() => void)[]) l();
  writeSync(fd, pending);
  closeSync(fd);
  return { bytes: size - first, runs: count, lines, newest, middle, lastMs: ms };
}

// ---------------------------------------------------------------- checking events: by hand or zod

/** The checks src/journal.ts makes by hand, as a zod 4 schema: what the hand checks are measured against. */
function zodSchema() {
  const base = { v: z.literal(1), ts: z.iso.datetime(), seq: z.int().nonnegative(), run: z.string().min(1) };
  const outcome = z.enum(['ok', 'failed', 'cancelled', 'timeout']);
  const pid = z.int().positive().optional();
  return z.discriminatedUnion('type', [
    z.object({
      ...base,
      type: z.literal('run.start'),
      task: z.string(),
      title: z.string(),
      risk: z.enum(['low', 'medium', 'high', 'critical']),
      params: z.record(z.string(), z.unknown()),
      target: z.string(),
      operator: z.object({ user: z.string(), sudoUser: z.string().nullable(), sshClient: z.string().nullable(), tty: z.string().nullable(), host: z.string(), pid: z.int().nonnegative() }).nullable(),
      steps: z.array(z.object({ id: z.string(), title: z.string(), rollback: z.string().nullable(), irreversible: z.boolean() })),
      dryRun: z.boolean(),
      resumeOf: z.string().optional(),
    }),
    z.object({ ...base, type: z.literal('step.start'), step: z.string(), index: z.int().nonnegative(), attempt: z.int().nonnegative(), detail: z.string(), pgid: pid, backendPid: pid }),
    z.object({ ...base, type: z.literal('step.finish'), step: z.string(), index: z.int().nonnegative(), outcome, exitCode: z.int().nullable(), durationMs: z.number(), error: z.string().optional(), values: z.record(z.string(), z.unknown()).optional() }),
    z.object({ ...base, type: z.literal('rollback.start'), step: z.string(), index: z.int().nonnegative(), detail: z.string() }),
    z.object({ ...base, type: z.literal('rollback.finish'), step: z.string(), index: z.int().nonnegative(), outcome, exitCode: z.int().nullable(), durationMs: z.number(), error: z.string().optional() }),
    z.object({ ...base, type: z.literal('run.end'), outcome: z.enum(['succeeded', 'failed', 'cancelled', 'rolled back', 'interrupted', 'refused']), error: z.string().optional() }),
    z.object({ ...base, type: z.literal('note'), text: z.string() }),
  ]);
}

/**
 * µs per line over `lines`, the best of 9 rounds, the three taken in turn in each round:
 * JSON.parse alone; parseLine (JSON.parse and the hand checks), so the checks cost the
 * difference; the zod schema on the lines already parsed.
 */
function checkCost(lines: string[]): { parse: number; hand: number; zod: number } {
  const schema = zodSchema();
  const parsed = lines.map((l) => JSON.parse(l) as unknown);
  let ok = 0;
  const kinds = [
    () => {
      for (const l of lines) if (JSON.parse(l)) ok++;
    },
    () => {
      for (const l of lines) if (parseLine(l)) ok++;
    },
    () => {
      for (const x of parsed) if (schema.safeParse(x).success) ok++;
    },
  ];
  const best = [Infinity, Infinity, Infinity];
  for (let r = 0; r < 9; r++) {
    kinds.forEach((fn, k) => {
      const t0 = performance.now();
      fn();
      best[k] = Math.min(best[k], ((performance.now() - t0) * 1000) / lines.length);
    });
  }
  if (!ok) throw new Error('journal-size: no line passed');
  return { parse: best[0], hand: best[1] - best[0], zod: best[2] };
}

// ---------------------------------------------------------------- timing ops

/** node's flags from bin/ops's `#!/usr/bin/env -S node ...` line: how `ops` really runs */
function opsFlags(checkout: string): string[] {
  const first = readFileSync(join(checkout, 'bin/ops'), 'utf8').split('\n')[0];
  const m = /\bnode\b(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

interface Timed {
  ms: number;
  /** user + system CPU time of the process: less swayed by a busy machine than the wall time */
  cpuMs: number;
  rssMB: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function once(checkout: string, argv: string[], env: NodeJS.ProcessEnv, hook: string, rssFile: string): Timed {
  rmSync(rssFile, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...opsFlags(checkout), '--import', hook, join(checkout, 'bin/ops'), ...argv], {
    env: { ...env, OPS_BENCH_RSS_FILE: rssFile },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rss = NaN;
  let cpu = NaN;
  try {
    const u = JSON.parse(readFileSync(rssFile, 'utf8')) as { rss: number; cpu: number };
    rss = u.rss / 1024; // maxRSS is in KiB
    cpu = u.cpu;
  } catch {
    // the hook did not run
  }
  return { ms, cpuMs: cpu, rssMB: rss, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Figure {
  ms: number;
  maxMs: number;
  cpuMs: number;
  rssMB: number;
  last: Timed;
}

function timed(checkout: string, argv: string[], env: NodeJS.ProcessEnv, hook: string, rssFile: string, n = RUNS): Figure {
  const all: Timed[] = [];
  for (let i = 0; i < n; i++) all.push(once(checkout, argv, env, hook, rssFile));
  const last = all[all.length - 1];
  if (last.code !== 0) throw new Error(`journal-size: ops ${argv.join(' ')} exited ${last.code}: ${last.stderr.slice(0, 400)}`);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ms: med(all.map((x) => x.ms)), maxMs: Math.max(...all.map((x) => x.ms)), cpuMs: med(all.map((x) => x.cpuMs)), rssMB: Math.max(...all.map((x) => x.rssMB)), last };
}

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '?');

// ---------------------------------------------------------------- the journal's own part

type Reader = 'history' | 'rollback' | 'notice' | 'show';

/**
 * In a fresh process, with everything loaded: the time and the RSS growth of only the journal's
 * work for one command (a new Journal, then what the command asks of it). What the whole `ops`
 * process adds on top is node and the bundle starting (ops --version).
 */
async function ownPart(what: Reader, state: string, run: string): Promise<void> {
  const { Journal } = await import('../src/journal');
  const { runsNeedingAttention, startupNotice } = await import('../src/cli/rollback');
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  const j = new Journal(state, { env: {} });
  if (what === 'history') j.runs({ limit: 5 });
  else if (what === 'rollback') runsNeedingAttention(j);
  else if (what === 'notice') startupNotice(j);
  else j.summary(j.findRun(run));
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, rssMB: (process.memoryUsage.rss() - rss0) / 1048576 }));
}

const childMode = opt('child', '');
if (childMode) {
  await ownPart(childMode as Reader, opt('dir', ''), opt('run', ''));
  process.exit(0);
}

function ownPartTimed(what: Reader, state: string, run: string): { ms: number; maxMs: number; rssMB: number } {
  const all: { ms: number; rssMB: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', what, '--dir', state, '--run', run], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`journal-size: the ${what} child failed`);
    all.push(JSON.parse(r.stdout) as { ms: number; rssMB: number });
  }
  const ms = all.map((x) => x.ms).sort((a, b) => a - b);
  return { ms: ms[Math.floor(ms.length / 2)], maxMs: ms[ms.length - 1], rssMB: Math.max(...all.map((x) => x.rssMB)) };
}

const work = mkdtempSync(join(tmpdir(), 'ops-bench-journal-'));
try {
  const hook = join(work, 'rss-hook.mjs');
  writeFileSync(
    hook,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { try { const u = process.resourceUsage(); writeFileSync(process.env.OPS_BENCH_RSS_FILE, JSON.stringify({ rss: u.maxRSS, cpu: (u.userCPUTime + u.systemCPUTime) / 1000 })); } catch {} });\n",
  );
  const hookUrl = pathToFileURL(hook).href;
  const rssFile = join(work, 'rss');
  const state = KEEP || join(work, 'state');
  const empty = join(work, 'empty-state');
  const conf = join(work, 'config');
  for (const d of [state, empty, conf]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf, DATABASE_URL: 'postgresql://app@127.0.0.1:1/appdb', TZ: 'UTC' };
  const file = join(state, 'journal.jsonl');
  writeFileSync(file, '', { mode: 0o600 });
  rmSync(`${file}.idx`, { force: true });

  const g0 = Date.now();
  const gen = generate(file, COUNT, TARGET_BYTES, Date.UTC(2023, 0, 1), 9);
  const genS = (Date.now() - g0) / 1000;
  if (KEEP && args.includes('--generate-only')) {
    console.log(`${file}: ${gen.runs} runs, ${gen.lines} lines, ${(gen.bytes / 1048576).toFixed(1)} MiB; newest ${gen.newest}, middle ${gen.middle}`);
    process.exit(0);
  }
  const rows: [string, string, string][] = [];
  const say = (what: string, t: Figure, target = '') => rows.push([what, `${f(t.ms)} ms (slowest ${f(t.maxMs)}), CPU ${f(t.cpuMs)} ms, ${f(t.rssMB, 1)} MB`, target]);
  const TARGET = '<= 200 ms, <= 100 MB';

  const checkouts = [{ name: 'this build', dir: root }, ...(COMPARE ? [{ name: `build in ${COMPARE}`, dir: COMPARE }] : [])];
  for (const { name, dir } of checkouts) {
    const tag = checkouts.length > 1 ? ` [${name}]` : '';
    say(`ops --version${tag}`, timed(dir, ['--version'], env, hookUrl, rssFile));
    say(`ops history --limit 5, empty journal${tag}`, timed(dir, ['history', '--limit', '5'], { ...env, OPS_STATE_DIR: empty }, hookUrl, rssFile));
    if (dir === root) say(`first command on the journal: ops history --limit 5, builds the index${tag}`, timed(dir, ['history', '--limit', '5'], env, hookUrl, rssFile, 1));
    say(`ops history --limit 5${tag}`, timed(dir, ['history', '--limit', '5'], env, hookUrl, rssFile), TARGET);
    say(`ops history --limit 50${tag}`, timed(dir, ['history', '--limit', '50'], env, hookUrl, rssFile));
    const rb = timed(dir, ['rollback'], env, hookUrl, rssFile);
    say(`ops rollback (runs needing attention; the start-up notice reads the same)${tag}`, rb, TARGET);
    say(`ops show RUN, the newest run${tag}`, timed(dir, ['show', gen.newest], env, hookUrl, rssFile), TARGET);
    say(`ops show RUN, a run from the middle of the file${tag}`, timed(dir, ['show', gen.middle], env, hookUrl, rssFile), TARGET);
    if (dir === root) {
      const rbLines = rb.last.stdout.trim().split('\n').length;
      rows.push([`(ops rollback listed ${rbLines} lines)`, '', '']);
    }
  }
  const own = (label: string, t: { ms: number; maxMs: number; rssMB: number }) =>
    rows.push([`the journal's part of ${label} (in process)`, `${f(t.ms, 1)} ms (slowest ${f(t.maxMs, 1)}), RSS +${f(t.rssMB, 1)} MB`, '']);
  own('ops history --limit 5', ownPartTimed('history', state, gen.newest));
  own('ops rollback', ownPartTimed('rollback', state, gen.newest));
  own('the start-up notice (startupNotice)', ownPartTimed('notice', state, gen.newest));
  own('ops show RUN, a run from the middle', ownPartTimed('show', state, gen.middle));

  // another process appends 2,000 runs: the index is behind until a reader catches up
  const more = generate(file, 2000, (TARGET_BYTES / COUNT) * 2000, gen.lastMs, 11);
  say('ops history --limit 5, 2,000 runs appended since the index was written', timed(root, ['history', '--limit', '5'], env, hookUrl, rssFile, 1));
  say('ops history --limit 5, then', timed(root, ['history', '--limit', '5'], env, hookUrl, rssFile), TARGET);
  const last = timed(root, ['history', '--json', '--limit', '1'], env, hookUrl, rssFile, 1);
  const newestShown = (JSON.parse(last.last.stdout) as { run: string }[])[0]?.run;
  if (newestShown !== more.newest) throw new Error(`journal-size: history shows ${newestShown}, not the newest run ${more.newest}`);

  // the cost of checking, in this process, over the first 100,000 lines
  const head = Buffer.alloc(40 << 20);
  const hfd = openSync(file, 'r');
  const got = readSync(hfd, head, 0, head.length, 0);
  closeSync(hfd);
  const sample = head.toString('utf8', 0, got).split('\n', 100_000).slice(0, -1);
  const cost = checkCost(sample);
  const schema = zodSchema();
  const zodAgrees = sample.every((l) => (parseLine(l) !== null) === schema.safeParse(JSON.parse(l)).success);
  rows.push([
    'checking one event (in process, 100,000 lines)',
    `JSON.parse ${f(cost.parse, 2)} µs; then the hand checks ${f(cost.hand, 2)} µs, or the same checks as a zod 4 schema ${f(cost.zod, 2)} µs${zodAgrees ? '' : ' (they disagree on some line!)'}`,
    '',
  ]);

  const size = statSync(file).size;
  const idx = statSync(`${file}.idx`, { throwIfNoEntry: false })?.size ?? 0;
  const title = `journal ${f(gen.bytes / 1048576, 1)} MiB, ${COUNT} runs, ${gen.lines} lines (written in ${f(genS, 1)} s), then ${more.runs} runs (${f(more.bytes / 1048576, 1)} MiB) appended: ${f(size / 1048576, 1)} MiB; index ${f(idx / 1048576, 1)} MiB`;
  if (ROWS) {
    console.log(JSON.stringify([title, '', '']));
    for (const r of rows) console.log(JSON.stringify(r));
  } else {
    console.log(`\n${title}\n\n| figure | measured (median of ${RUNS}) | target |\n|---|---|---|`);
    for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
    console.log(`\nnode ${process.version}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
