// `ops drill clean` and the drill's registry record: a drill whose owning ops process (its
// console) runs is skipped with one line, and is removed once that process is gone. The process
// is known by its pid and its start time (/proc/PID/stat field 22), so a pid that now belongs to
// another process does not keep a drill alive. A real kept drill on a real cluster; the record's
// owner is pointed at a process of the test's own to stand for a console.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../src/drill/drill';
import { cleanEnv, runOps } from '../support/ops';

const children: ChildProcess[] = [];
const states: string[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of states) {
    await runOps(['drill', 'clean'], { env: cleanEnv({ OPS_STATE_DIR: s }), timeoutMs: 60_000 }).catch(() => undefined);
    rmSync(s, { recursive: true, force: true });
  }
});

function startTime(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
}

function postmasterRunning(rec: DrillRecord): boolean {
  try {
    const pid = Number(readFileSync(join(rec.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(rec.data);
  } catch {
    return false;
  }
}

describe('ops drill clean and a drill in use', () => {
  it('skips a drill whose console runs (pid and start time), names it in one line, and removes it once that process is not the console', async () => {
    const state = mkdtempSync(join(tmpdir(), 'ops-drill-clean-'));
    states.push(state);
    const env = cleanEnv({ OPS_STATE_DIR: state });
    const up = await runOps(['drill', '--keep', '--scenario', 'backup'], { env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const reg = join(state, 'drills');
    const [name] = readdirSync(reg);
    const file = join(reg, name);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as DrillRecord;
    expect(rec.pid).toBeGreaterThan(0);

    // a process standing for the console: the drill is in use while it runs
    const stand = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(stand);
    const pid = stand.pid!;
    const write = (r: Partial<DrillRecord>) => writeFileSync(file, JSON.stringify({ ...rec, ...r }, null, 2));
    write({ pid, pidStart: startTime(pid) });

    const skipped = await runOps(['drill', 'clean'], { env, timeoutMs: 60_000 });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toBe(`skipped drill ${rec.id} (port ${rec.port}): in use by its console (ops pid ${pid}); quit that console first\n`);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(rec.data)).toBe(true);
    expect(postmasterRunning(rec)).toBe(true);
    // the ops that set it up recorded its own pid and start time
    expect(typeof rec.pidStart).toBe('number');

    // a record written by an older ops has no start time: the live pid alone keeps it
    const { pidStart: _omit, ...older } = { ...rec, pid };
    writeFileSync(file, JSON.stringify(older, null, 2));
    const skippedOld = await runOps(['drill', 'clean'], { env, timeoutMs: 60_000 });
    expect(skippedOld.stdout).toMatch(/^skipped drill /);
    expect(existsSync(rec.data)).toBe(true);

    // the same pid, started at another time: not the console (the pid was reused), so it goes
    write({ pid, pidStart: startTime(pid) + 1 });
    const removed = await runOps(['drill', 'clean'], { env, timeoutMs: 60_000 });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`removed drill ${rec.id} (port ${rec.port}, ${rec.dir}), kept earlier\n`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(rec.dir)).toBe(false);
    expect(postmasterRunning(rec)).toBe(false);
  }, 180_000);
});
