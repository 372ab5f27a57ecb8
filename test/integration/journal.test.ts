// The journal across real processes: what a SIGKILLed process appended is on disk, and two
// processes appending at once never interleave within a line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JOURNAL_MODULE = pathToFileURL(join(ROOT, 'src/journal.ts')).href;

// The child: `durable DIR RUN` appends 3 events, printing "appended N" after each returns, then
// idles until killed; `log DIR RUN` writes 1000 log lines, flushes, prints "flushed" and idles;
// `concurrent DIR RUN COUNT` prints "ready", waits for "go" on stdin, appends COUNT notes, exits.
const CHILD = `
import { Journal } from ${JSON.stringify(JOURNAL_MODULE)};
const [mode, dir, run, count] = process.argv.slice(2);
const j = new Journal(dir, { env: {} });
const idle = () => setInterval(() => {}, 60_000);
if (mode === 'durable') {
  j.append({ type: 'run.start', run, task: 't', title: 'T', risk: 'low', params: {}, target: 'local', operator: { user: 'u', sudoUser: null, sshClient: null, tty: null, host: 'h', pid: process.pid }, steps: [{ id: 's1', title: 'S1', rollback: null, irreversible: false }], dryRun: false });
  process.stdout.write('appended 1\\n');
  j.append({ type: 'step.start', run, step: 's1', index: 0, attempt: 1, detail: 'sleep 1000' });
  process.stdout.write('appended 2\\n');
  j.append({ type: 'note', run, text: 'third' });
  process.stdout.write('appended 3\\n');
  idle();
} else if (mode === 'log') {
  const log = j.openLog(run);
  for (let i = 0; i < 1000; i++) log.write('line ' + i, 'out');
  log.flush();
  process.stdout.write('flushed\\n');
  idle();
} else {
  const letter = run.slice(-1);
  process.stdout.write('ready\\n');
  process.stdin.once('data', () => {
    for (let i = 1; i <= Number(count); i++) j.append({ type: 'note', run, text: letter.repeat(1500) + ' ' + i });
    j.close();
    process.exit(0);
  });
}
`;

let dir: string;
let script: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  const base = mkdtempSync(join(tmpdir(), 'ops-journal-it-'));
  dir = join(base, 'state');
  script = join(base, 'child.mts');
  writeFileSync(script, CHILD);
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

function child(...args: string[]): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** Resolves when the child's stdout has printed `text`; rejects if it exits first. */
function printed(c: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d));
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes(text)) {
        c.stdout!.off('data', onData);
        resolve();
      }
    };
    c.stdout!.on('data', onData);
    c.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before printing ${text}: ${out}${err}`)));
  });
}

function exited(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('journal durability across processes', () => {
  it('a process SIGKILLed right after its third append left all 3 events', async () => {
    const c = child('durable', dir, 'run-k');
    await printed(c, 'appended 3');
    c.kill('SIGKILL');
    expect(await exited(c)).toEqual({ code: null, signal: 'SIGKILL' });
    const j = new Journal(dir, { env: {} });
    expect(j.events('run-k').map((e) => [e.type, e.seq])).toEqual([
      ['run.start', 1],
      ['step.start', 2],
      ['note', 3],
    ]);
    const [s] = j.runs();
    expect(s.outcome).toBe('unfinished');
    expect(s.steps[0].status).toBe('started');
  });

  it('log lines flushed before a SIGKILL are all in the run log', async () => {
    const c = child('log', dir, 'run-l');
    await printed(c, 'flushed');
    c.kill('SIGKILL');
    await exited(c);
    const lines = readFileSync(new Journal(dir).logPath('run-l'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[out\] line 999$/);
  });

  it('two processes appending 500 events each at once: 1000 whole lines, none interleaved', async () => {
    const a = child('concurrent', dir, 'run-A', '500');
    const b = child('concurrent', dir, 'run-B', '500');
    await Promise.all([printed(a, 'ready'), printed(b, 'ready')]);
    a.stdin!.write('go\n');
    b.stdin!.write('go\n');
    expect(await Promise.all([exited(a), exited(b)])).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const text = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(1000);
    // the two really wrote at the same time: their lines alternate in the file
    const switches = lines.filter((l, i) => i > 0 && l.includes('"run-A"') !== lines[i - 1].includes('"run-A"')).length;
    expect(switches).toBeGreaterThan(0);
    const seqs: Record<string, number[]> = { 'run-A': [], 'run-B': [] };
    for (const line of lines) {
      const e = JSON.parse(line) as { run: string; seq: number; text: string };
      const letter = e.run.slice(-1);
      expect(e.text).toBe(`${letter.repeat(1500)} ${e.seq}`);
      seqs[e.run].push(e.seq);
    }
    const oneTo500 = Array.from({ length: 500 }, (_, i) => i + 1);
    expect(seqs['run-A']).toEqual(oneTo500);
    expect(seqs['run-B']).toEqual(oneTo500);
    expect(new Journal(dir, { env: {} }).runs().map((s) => s.run).sort()).toEqual(['run-A', 'run-B']);
  });
});
