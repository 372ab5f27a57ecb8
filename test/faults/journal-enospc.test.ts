// The journal and the run log on a full disk: the state directory on a 200 KB tmpfs. A task's
// output that fills it never throws (not from the log's timer, not from a write, flush or close);
// the log says where it was cut and how many lines it lost, and gives back room so that the
// journal can still record the run's end. A journal append that does not fit is one
// StateWriteError naming the file, and the journal reads back whole once there is room again.
// Needs root (mount); elsewhere each test is skipped, saying why.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, StateWriteError, type LogWriter, type Operator } from '../../src/journal';

const isRoot = process.getuid?.() === 0;
const reason = isRoot ? '' : 'needs root to mount a small tmpfs (run the tests as root to cover ENOSPC)';
if (!isRoot) console.warn(`test/faults/journal-enospc.test.ts skipped: ${reason}`);
const rootIt = isRoot ? it : it.skip;

const OPERATOR: Operator = { user: 'alice', sudoUser: null, sshClient: null, tty: null, host: 'h', pid: 1 };
const mounts: string[] = [];

/** A fresh 200 KB tmpfs; unmounted after the test. */
function smallDisk(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-enospc-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k,mode=0700', 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of mounts.splice(0)) {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Fills the disk: a file written until ENOSPC. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  try {
    writeFileSync(path, Buffer.alloc(400 * 1024, 1));
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
  return path;
}

function startRun(j: Journal, run: string): void {
  j.append({ type: 'run.start', run, task: 'chatty', title: 'Print without end', risk: 'low', params: {}, target: 'local', operator: OPERATOR, steps: [{ id: 'talk', title: 'Talk', rollback: null, irreversible: false }], dryRun: false });
  j.append({ type: 'step.start', run, step: 'talk', index: 0, attempt: 1, detail: 'yes' });
}

const outLines = (text: string) => text.split('\n').filter((l) => / \[out\] /.test(l)).length;

describe('a full disk under the journal and the run log (tmpfs of 200 KB)', () => {
  rootIt('6,000 lines of output: the log is cut cleanly and marked, the failure told once, and the run end still recorded', async () => {
    const state = join(smallDisk(), 'state');
    const j = new Journal(state, { env: {} });
    startRun(j, 'r1');
    const errors: StateWriteError[] = [];
    const log: LogWriter = j.openLog('r1', [], { onError: (e) => errors.push(e) });
    // as a task prints: bursts, with the log's 100 ms timer flushing in between
    for (let i = 0; i < 6000; i++) {
      log.write(`line ${String(i).padStart(5, '0')}: ${'x'.repeat(48)}`, 'out');
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 120));
    }
    expect(log.failed).toBeInstanceOf(StateWriteError);
    expect(log.failed!.path).toBe(j.logPath('r1'));
    expect(log.failed!.message).toBe(`run log: cannot write ${j.logPath('r1')}: ENOSPC (no space left on device)`);
    expect(errors).toEqual([log.failed]);
    log.close();
    const text = readFileSync(j.logPath('r1'), 'utf8');
    const lines = text.trimEnd().split('\n');
    // every line is either in the log or counted; the marker says how many are not
    expect(outLines(text) + log.dropped).toBe(6000);
    expect(outLines(text)).toBe(log.lines);
    const marker = lines.findIndex((l) => l.includes('log cut here'));
    expect(lines[marker]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[notice\] … log cut here: ENOSPC; \d+ lines not written$/);
    expect(lines.slice(marker + 1).every((l) => / \[notice\] … \d+ more lines not written after the cut \(\d+ in all\)$/.test(l))).toBe(true);
    const said = lines.slice(marker).map((l) => Number(/\((\d+) in all\)$/.exec(l)?.[1] ?? /cut here: ENOSPC; (\d+) lines/.exec(l)?.[1]));
    expect(said[said.length - 1]).toBe(log.dropped);
    // lines before the marker are whole and in order
    for (const [k, l] of lines.slice(0, marker).entries()) expect(l).toMatch(new RegExp(`\\[out\\] line ${String(k).padStart(5, '0')}: x{48}$`));
    // the room the log gave back takes the journal's last events
    j.append({ type: 'step.finish', run: 'r1', step: 'talk', index: 0, outcome: 'failed', exitCode: null, durationMs: 900, error: log.failed!.message });
    j.append({ type: 'run.end', run: 'r1', outcome: 'failed', error: log.failed!.message });
    const [s] = new Journal(state, { env: {} }).runs();
    expect(s).toMatchObject({ run: 'r1', outcome: 'failed', error: `run log: cannot write ${j.logPath('r1')}: ENOSPC (no space left on device)` });
    j.close();
  });

  rootIt('with no room even for the marker, it is written at close once there is', () => {
    const disk = smallDisk();
    const state = join(disk, 'state');
    const j = new Journal(state, { env: {} });
    startRun(j, 'r2');
    const log = j.openLog('r2');
    const filler = fill(disk);
    for (let i = 0; i < 10; i++) log.write(`line ${i}`, 'out');
    expect(() => log.flush()).not.toThrow();
    expect(log.failed?.code).toBe('ENOSPC');
    log.write('one more', 'err');
    expect(log.dropped).toBe(11);
    expect(readFileSync(j.logPath('r2'), 'utf8')).toBe('');
    rmSync(filler);
    log.close();
    expect(readFileSync(j.logPath('r2'), 'utf8')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[notice\] … log cut here: ENOSPC; 11 lines not written\n$/);
    j.close();
  });

  rootIt('a journal event that does not fit: a StateWriteError naming the journal; once there is room it reads back whole', () => {
    const disk = smallDisk();
    const state = join(disk, 'state');
    const j = new Journal(state, { env: {} });
    startRun(j, 'r3');
    const filler = fill(disk);
    // bigger than what is left of the journal's last page: a part of it is written, then ENOSPC
    const values: Record<string, string> = {};
    for (let i = 0; i < 7; i++) values[`k${i}`] = 'v'.repeat(1900);
    let err: unknown = null;
    try {
      j.append({ type: 'step.finish', run: 'r3', step: 'talk', index: 0, outcome: 'ok', exitCode: 0, durationMs: 5, values });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateWriteError);
    expect((err as StateWriteError).path).toBe(j.file);
    expect((err as StateWriteError).code).toBe('ENOSPC');
    expect((err as Error).message).toBe(`journal: cannot write ${j.file}: ENOSPC (no space left on device)`);
    rmSync(filler);
    j.append({ type: 'run.end', run: 'r3', outcome: 'failed', error: (err as Error).message });
    const k = new Journal(state, { env: {} });
    expect(k.events('r3').map((e) => e.type)).toEqual(['run.start', 'step.start', 'run.end']);
    // the part that was written is a line of its own, named
    expect(k.warnings).toEqual([`journal ${k.file}: line 3 skipped: not a whole JSON line (cut short, or edited)`]);
    j.close();
  });
});
