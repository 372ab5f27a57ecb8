// A full disk under a running task: the state directory on a 200 KB tmpfs, a task that prints
// without end. The run stops cleanly: its process group is stopped, the lock released, the
// failure said in one line naming the path, the log marked where it was cut, and the journal
// keeps what it could. Needs root (mount); elsewhere the test is skipped, saying why.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupAlive } from '../../src/tasks/engine';
import { journalEvents, lockFiles, opsHome, type OpsHome } from '../support/faults';
import { runOps } from '../support/ops';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const isRoot = process.getuid?.() === 0;
let mounted: string | null = null;
const reason = isRoot ? '' : 'needs root to mount a small tmpfs (run the tests as root to cover ENOSPC)';
if (!isRoot) console.warn(`test/faults/full-disk.test.ts skipped: ${reason}`);

let db: TestDatabase;
let home: OpsHome;

beforeAll(async () => {
  if (!isRoot) return;
  db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'ops-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k,mode=0700', 'tmpfs', dir]);
  mounted = dir;
  home = opsHome(db.url);
  // the state directory lives on the small filesystem; the config does not
  home.stateDir = join(dir, 'state');
  mkdirSync(home.stateDir, { mode: 0o700 });
  home.task(
    'chatty',
    `
id: chatty
title: Print without end
risk: low
steps:
  - id: talk
    title: Talk
    shell: 'i=0; while :; do i=$((i+1)); echo "line $i of a task that prints more than the disk holds"; done'
    readOnly: true
    timeout: 120
`,
  );
}, 60_000);

afterAll(async () => {
  if (mounted) {
    try {
      execFileSync('umount', [mounted]);
    } catch {
      execFileSync('umount', ['-l', mounted]);
    }
    rmSync(mounted, { recursive: true, force: true });
  }
  home?.cleanup();
  await db?.drop();
});

describe.skipIf(!isRoot)('the state directory fills up while a task prints', () => {
  it('stops the run in one line naming the log, stops its process group, releases the lock, marks the log', async () => {
    const r = await runOps(['run', 'chatty', '--yes'], { env: home.env({ DATABASE_URL: db.url, OPS_STATE_DIR: home.stateDir }), timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const all = r.stdout + r.stderr;
    expect(all).not.toMatch(/internal error|Unhandled|\n\s+at /);
    expect(all).toMatch(/cannot write .*\/runs\/[^ ]+\.log: ENOSPC/);
    const events = journalEvents(home.stateDir);
    const start = events.find((e) => e.type === 'step.start');
    expect(start?.pgid).toEqual(expect.any(Number));
    expect(groupAlive(start!.pgid as number)).toBe(false);
    expect(lockFiles(home.stateDir)).toEqual([]);
    const run = String(start!.run);
    const log = readFileSync(join(home.stateDir, 'runs', `${run}.log`), 'utf8');
    expect(log).toMatch(/log cut here/);
    // what could be recorded: the step's end and the run's end, as failed
    expect(events.filter((e) => e.run === run).map((e) => e.type)).toEqual(expect.arrayContaining(['run.start', 'step.start', 'step.finish', 'run.end']));
    expect(events.find((e) => e.type === 'run.end')?.outcome).toBe('failed');
  });
});
