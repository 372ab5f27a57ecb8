// Task output: a command step printing 2,000,000 lines, run through the real TaskRunner
// (src/tasks/engine.ts) into the real run log (src/journal.ts's LogWriter), with the real
// Journal in a temporary state directory, all in this process. Measures lines/s into the run
// log (wall time of run()), that the log holds every line exactly once and in order, peak RSS
// (sampled every 50 ms) and event-loop lag (a 20 ms timer, how late it fires: what would delay
// a key press). The reference is execa alone reading the same command's stdout line by line.
// Prints one JSON row per figure for bench/run.mjs.
//
//   node_modules/.bin/tsx bench/task-output.ts [--runs N] [--lines N]
//
// Each measurement runs in a fresh child process (this script with --child engine|execa), so
// one does not warm up or grow the heap of the next; the figures are the median of N runs
// (default 5). The children run under the node flags of bin/ops's first line
// (--max-semi-space-size=1), as `ops` does; one more engine run per round under node's
// defaults is reported as a reference. Under tsx, about 47 MB of the RSS is tsx itself
// (bare node 39 MB, tsx 86 MB): see "RSS ... when the run starts".
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import * as z from 'zod';
import type { ResolvedTarget } from '../src/config/load';
import { DEFAULT_CONFIG } from '../src/config/schema';
import { Journal } from '../src/journal';
import { TaskRunner } from '../src/tasks/engine';
import type { TaskDef } from '../src/tasks/model';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const LINES = Number(opt('lines', '2000000'));
const RUNS = Number(opt('runs', '5'));
const COMMAND = ['seq', '1', String(LINES)];
const RSS_EVERY_MS = 50;
const LAG_EVERY_MS = 20;

interface Sample {
  ms: number;
  /** CPU time of this process (all its threads, user + system) during the run */
  cpuMs: number;
  lines: number;
  /** RSS when the run starts (node, tsx, the modules loaded) */
  rssStartMB: number;
  rssPeakMB: number;
  lag: number[];
  /** engine only: what the log check found */
  check?: { outLines: number; inOrder: boolean; firstBad: string | null };
}

/** Samples RSS every 50 ms and event-loop lag with a 20 ms timer, until stopped. */
function monitor(): () => { rssStartMB: number; rssPeakMB: number; lag: number[] } {
  const rssStart = process.memoryUsage.rss();
  let rssPeak = rssStart;
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, RSS_EVERY_MS);
  const lag: number[] = [];
  let due = performance.now() + LAG_EVERY_MS;
  let lagTimer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    lag.push(Math.max(0, now - due));
    due = now + LAG_EVERY_MS;
    lagTimer = setTimeout(tick, LAG_EVERY_MS);
  };
  lagTimer = setTimeout(tick, LAG_EVERY_MS);
  return () => {
    clearInterval(rssTimer);
    clearTimeout(lagTimer);
    // a timer already due but not yet run (the run's last synchronous stretch: run.end, the
    // log's flush, fsync and close) counts too
    const late = performance.now() - due;
    if (late > 0) lag.push(late);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    return { rssStartMB: rssStart / 1048576, rssPeakMB: rssPeak / 1048576, lag };
  };
}

/**
 * Reads the log in chunks (not as one string) and checks its `[out]` lines: exactly 1..N, in
 * order. Other lines (the step's `[info]` start and finish lines) are skipped.
 */
function checkLog(path: string, n: number): { outLines: number; inOrder: boolean; firstBad: string | null } {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(4 * 1024 * 1024);
  let rest = '';
  let outLines = 0;
  let firstBad: string | null = null;
  const TAG = ' [out] ';
  const onLine = (line: string) => {
    const at = line.indexOf(TAG);
    if (at !== 12) return; // `HH:MM:SS.mmm [out] text`
    outLines++;
    if (firstBad === null && line.slice(at + TAG.length) !== String(outLines)) firstBad = line;
  };
  try {
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      const text = rest + buf.toString('utf8', 0, got);
      let from = 0;
      let nl = text.indexOf('\n');
      while (nl >= 0) {
        onLine(text.slice(from, nl));
        from = nl + 1;
        nl = text.indexOf('\n', from);
      }
      rest = text.slice(from);
    }
    if (rest) onLine(rest);
  } finally {
    closeSync(fd);
  }
  return { outLines, inOrder: firstBad === null && outLines === n, firstBad };
}

async function engineRun(): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-output-'));
  try {
    const journal = new Journal(dir, { env: {} });
    const task: TaskDef = {
      id: 'bench-output',
      title: `print ${LINES} lines`,
      description: 'bench/task-output.ts',
      risk: 'low',
      params: z.object({}).strict() as unknown as TaskDef['params'],
      steps: [{ id: 'print', title: 'print lines', action: () => ({ kind: 'command', argv: COMMAND }) }],
    };
    const target: ResolvedTarget = { name: 'none', source: 'default', connection: {}, display: 'none', database: 'none', secrets: [] };
    const runId = journal.newRunId(task.id);
    const log = journal.openLog(runId);
    const runner = new TaskRunner({ task, params: {}, runId, target, config: DEFAULT_CONFIG, journal, log });
    const stop = monitor();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const state = await runner.run();
    const ms = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    const m = stop();
    journal.close();
    if (state.outcome !== 'succeeded') throw new Error(`the run did not succeed: ${state.outcome} ${state.steps[0].error ?? ''}`);
    const check = checkLog(journal.logPath(runId), LINES);
    return { ms, cpuMs: (c1.user + c1.system) / 1000, lines: check.outLines, ...m, check };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function execaRun(): Promise<Sample> {
  const stop = monitor();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let lines = 0;
  for await (const line of execa(COMMAND[0], COMMAND.slice(1), { stdin: 'ignore' })) {
    void line;
    lines++;
  }
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  return { ms, cpuMs: (c1.user + c1.system) / 1000, lines, ...stop() };
}

// ---------------------------------------------------------------- the parent

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: number[]): number => pct(xs, 50);
const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '?');

/** node's flags from bin/ops's `#!/usr/bin/env -S node ...` line: how `ops` really runs the engine */
function consoleFlags(): string[] {
  const first = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../bin/ops'), 'utf8').split('\n')[0];
  const m = /\bnode\b(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

function child(mode: 'engine' | 'execa', nodeFlags: string[]): Sample {
  const self = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, [...nodeFlags, ...process.execArgv, self, '--child', mode, '--lines', String(LINES)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`task-output: the ${mode} run failed (exit ${res.status ?? res.signal})`);
  return JSON.parse(res.stdout) as Sample;
}

const mode = opt('child', '');
if (mode === 'engine' || mode === 'execa') {
  const s = mode === 'engine' ? await engineRun() : await execaRun();
  process.stdout.write(JSON.stringify(s));
} else {
  // the figures held to the target run under bin/ops's node flags (a 1 MB young generation);
  // one more engine run per round under V8's defaults shows what those flags cost
  const flags = consoleFlags();
  const load0 = loadavg()[0];
  const engine: Sample[] = [];
  const plain: Sample[] = [];
  const base: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    engine.push(child('engine', flags));
    base.push(child('execa', flags));
    if (flags.length) plain.push(child('engine', []));
  }
  const rate = (s: Sample) => s.lines / (s.ms / 1000) / 1e6;
  const cpuPerM = (s: Sample) => s.cpuMs / 1000 / (s.lines / 1e6);
  // other work on the machine slows the runs down: say how busy it was
  process.stderr.write(`task-output: load average ${f(load0, 2)} before, ${f(loadavg()[0], 2)} after, ${cpus().length} cores\n`);
  const lost = [...engine, ...plain].filter((s) => !s.check?.inOrder);
  const rates = engine.map(rate);
  const lag = engine.flatMap((s) => s.lag);
  const lines = LINES.toLocaleString('en');
  const range = (xs: number[], d: number) => (xs.length > 1 ? `; ${f(Math.min(...xs), d)} to ${f(Math.max(...xs), d)} over ${xs.length} runs` : '');
  const lossNote = lost.length
    ? `LOST OR OUT OF ORDER in ${lost.length} of ${engine.length + plain.length} runs: ${lost.map((s) => `${s.check!.outLines} lines, first bad ${JSON.stringify(s.check!.firstBad)}`).join('; ')}`
    : 'none lost';
  const under = flags.length ? `; node ${flags.join(' ')}, as bin/ops` : '';
  const rows = [
    [`task output, ${lines} lines, into the run log`, `${f(median(rates), 2)} M lines/s (${lossNote}${under}${range(rates, 2)}; ${f(median(engine.map(cpuPerM)), 2)} s of CPU per M lines)`, '>= 1 M lines/s'],
    [
      'event-loop lag while streaming (p99 / max)',
      `${f(pct(lag, 99), 0)} / ${f(Math.max(...lag), 0)} ms (p50 ${f(pct(lag, 50), 1)} ms; ${lag.length} samples of a 20 ms timer over ${engine.length} runs)`,
      'p99 <= 100 ms',
    ],
    [
      'RSS peak while streaming',
      `${f(median(engine.map((s) => s.rssPeakMB)))} MB (worst ${f(Math.max(...engine.map((s) => s.rssPeakMB)))}; ${f(median(engine.map((s) => s.rssStartMB)))} MB when the run starts)`,
      '<= 150 MB',
    ],
    ['reference: execa alone, same command', `${f(median(base.map(rate)), 2)} M lines/s (${f(median(base.map(cpuPerM)), 2)} s of CPU per M lines; RSS peak ${f(median(base.map((s) => s.rssPeakMB)))} MB)`, ''],
  ];
  if (plain.length) {
    rows.push([`reference: the same task output under node's default young generation`, `${f(median(plain.map(rate)), 2)} M lines/s (${f(median(plain.map(cpuPerM)), 2)} s of CPU per M lines${range(plain.map(rate), 2)})`, '']);
  }
  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
  if (lost.length) process.exitCode = 1;
}
