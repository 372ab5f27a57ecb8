// End-to-end: `ops drill` as an operator runs it. The built ops in a real terminal (tmux) opens
// the console on a throwaway cluster with the DRILL badge; whichever way it ends (q, Ctrl-C, or a
// SIGKILL followed by the next drill) no postgres process, planted session or data directory is
// left; as root the cluster never runs as root; and without a terminal it refuses unless --keep.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { destroy, type DrillRecord } from '../../src/drill/drill';
import { OPS_BIN, assertBuilt, cleanEnv, runOps } from '../support/ops';
import { waitFor } from '../support/pg';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const WAIT = 60_000;
const TEST_TIMEOUT = 120_000;
const isRoot = process.getuid?.() === 0;

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// ---------------------------------------------------------------- processes, through /proc

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: the fields after it start after the last ')'
    const [state, ppid, pgrp] = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid), pgrp: Number(pgrp) };
  } catch {
    return null;
  }
}

/** running (a zombie waiting for a parent that does not reap it counts as gone) */
function running(pid: number): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** the running members of a process group */
const groupMembers = (pgid: number) => allPids().filter((p) => procStat(p)?.pgrp === pgid && running(p));

/** the running children of a process (a postmaster's backends and auxiliary processes) */
const childrenOf = (pid: number) => allPids().filter((p) => procStat(p)?.ppid === pid && running(p));

/** running processes with the directory (or a path inside it) on their command line */
function mentioning(dir: string): number[] {
  return allPids().filter((p) => p !== process.pid && running(p) && cmdline(p).some((a) => a === dir || a.includes(`${dir}/`)));
}

// ---------------------------------------------------------------- the drill's registry

function records(state: string): DrillRecord[] {
  const reg = join(state, 'drills');
  if (!existsSync(reg)) return [];
  return readdirSync(reg)
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(reg, n), 'utf8')) as DrillRecord);
}

function onlyRecord(state: string): DrillRecord {
  const rs = records(state);
  expect(rs).toHaveLength(1);
  return rs[0];
}

/** the postmaster's pid: the first line of <data>/postmaster.pid */
function postmasterPid(data: string): number {
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  expect(pid).toBeGreaterThan(1);
  return pid;
}

// ---------------------------------------------------------------- per-test environment

interface Env {
  state: string;
  conf: string;
  /** drills seen, and their postmasters, for the last-resort clean-up */
  seen: DrillRecord[];
  postmasters: { pid: number; data: string }[];
}

const envs: Env[] = [];
let session: TmuxSession | null = null;

function newEnv(): Env {
  const e: Env = { state: mkdtempSync(join(tmpdir(), 'ops-e2e-drill-state-')), conf: mkdtempSync(join(tmpdir(), 'ops-e2e-drill-conf-')), seen: [], postmasters: [] };
  envs.push(e);
  return e;
}

/** the opsEnv for runOps: no PG* / DATABASE_URL / OPS_* of the test run, the test's own dirs */
const opsEnv = (e: Env, extra: Record<string, string> = {}) => cleanEnv({ OPS_STATE_DIR: e.state, OPS_CONFIG_DIR: e.conf, ...extra });

/** ops in tmux: no PG*, DATABASE_URL or OPS_* from the test run; then EXITED:<code> */
function drillInTmux(e: Env, args: string[]): TmuxSession {
  const unset = Object.keys(process.env)
    .filter((k) => k.startsWith('PG') || k === 'DATABASE_URL' || k.startsWith('OPS_') || k === 'NO_COLOR')
    .map((k) => `-u ${shq(k)}`)
    .join(' ');
  const vars = `OPS_STATE_DIR=${shq(e.state)} OPS_CONFIG_DIR=${shq(e.conf)} TERM=xterm-256color`;
  const command = `env ${unset} ${vars} ${shq(OPS_BIN)} ${args.map(shq).join(' ')}; echo "EXITED:$?"; exec sleep 600`;
  return new TmuxSession(command, { cols: 80, rows: 24 });
}

/** the drill is up: the console shows the DRILL badge on its header line; returns its record */
async function drillOpened(s: TmuxSession, e: Env): Promise<DrillRecord> {
  await waitForScreen(s, (t) => /^\[DRILL\] ops /m.test(t) || t.includes('EXITED:'), WAIT);
  expect(s.screen()[0]).toMatch(/^\[DRILL\] ops /);
  const rec = onlyRecord(e.state);
  e.seen.push(rec);
  return rec;
}

/** the cluster of the record runs: its data directory, its postmaster; as root, not as root */
function assertClusterRunning(e: Env, rec: DrillRecord): number {
  expect(rec.dir).toMatch(/ops-drill-/);
  expect(rec.data).toBe(join(rec.dir, 'data'));
  expect(existsSync(rec.data)).toBe(true);
  const pm = postmasterPid(rec.data);
  e.postmasters.push({ pid: pm, data: rec.data });
  expect(running(pm)).toBe(true);
  // it is this drill's postmaster: started on the drill's data directory
  expect(cmdline(pm)).toContain(rec.data);
  if (isRoot) {
    const uid = statSync(`/proc/${pm}`).uid;
    expect(uid).not.toBe(0);
    expect(rec.runAs).toBeTruthy();
    expect(rec.runAs).not.toBe('root');
    expect(Number(execFileSync('id', ['-u', rec.runAs!], { encoding: 'utf8' }).trim())).toBe(uid);
    // and so do its backends and auxiliary processes
    for (const c of childrenOf(pm)) expect(statSync(`/proc/${c}`).uid).not.toBe(0);
  }
  return pm;
}

/** nothing of the drill is left: processes, directory, record */
async function assertDrillGone(e: Env, rec: DrillRecord, pids: number[]): Promise<void> {
  // pg_ctl stop -w returns once postmaster.pid is gone, a moment before the last process exits
  await waitFor(() => pids.every((p) => !running(p)), { timeoutMs: 15_000, message: `the drill's processes ${pids.join(', ')} to end` }).catch(() => undefined);
  expect(pids.filter(running), 'postgres processes of the drill still running').toEqual([]);
  for (const pgid of rec.children) expect(groupMembers(pgid), `planted session group ${pgid} still running`).toEqual([]);
  expect(existsSync(rec.dir), `${rec.dir} still exists`).toBe(false);
  expect(existsSync(join(e.state, 'drills', `${rec.id}.json`)), 'the registry record is still there').toBe(false);
  expect(mentioning(rec.dir), `processes with ${rec.dir} on their command line`).toEqual([]);
}

describe('ops drill end to end', () => {
  beforeAll(() => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
  });

  afterEach(async () => {
    session?.kill();
    session = null;
    for (const e of envs.splice(0)) {
      // for the last resort below: every drill still registered, and its postmaster while its pid file is there
      for (const rec of records(e.state)) {
        if (!e.seen.some((r) => r.id === rec.id)) e.seen.push(rec);
        try {
          e.postmasters.push({ pid: postmasterPid(rec.data), data: rec.data });
        } catch {
          // not started, or gone
        }
      }
      // whatever a failed test left: ops drill clean removes it
      await runOps(['drill', 'clean'], { env: opsEnv(e), timeoutMs: WAIT }).catch(() => undefined);
      // and should it not have, the last resort: the planted sessions, the postmaster, the files
      for (const rec of e.seen) {
        for (const pgid of rec.children) {
          // only a group that still is the drill's planted-sessions helper, on this drill's port
          const planted = groupMembers(pgid).some((p) => cmdline(p).includes('__drill-sessions') && cmdline(p).some((a) => a.includes(`127.0.0.1:${rec.port}/`)));
          if (planted) process.kill(-pgid, 'SIGKILL');
        }
        if (rec.dir.includes('ops-drill-')) rmSync(rec.dir, { recursive: true, force: true });
      }
      for (const pm of e.postmasters) {
        // SIGQUIT: PostgreSQL's immediate shutdown; only the very postmaster of that data directory
        if (running(pm.pid) && cmdline(pm.pid).includes(pm.data)) process.kill(pm.pid, 'SIGQUIT');
      }
      rmSync(e.state, { recursive: true, force: true });
      rmSync(e.conf, { recursive: true, force: true });
    }
  });

  it.each([
    ['q', 'q'],
    ['Ctrl-C', 'C-c'],
  ])(
    '%s: the console on the drill (DRILL badge) quits, and its cluster, files and record are gone',
    async (_name, key) => {
      const e = newEnv();
      session = drillInTmux(e, ['drill', '--scenario', 'backup']);
      const rec = await drillOpened(session, e);
      expect(rec.scenarios).toEqual(['backup']);
      expect(rec.keep).toBe(false);
      const pm = assertClusterRunning(e, rec);
      const pids = [pm, ...childrenOf(pm)];
      expect(pids.length).toBeGreaterThan(1);

      session.send(key);
      const after = await waitForScreen(session, (t) => t.includes('EXITED:'), WAIT);
      expect(after).toContain('drill removed');
      expect(after).toContain('EXITED:0');
      await assertDrillGone(e, rec, pids);
      expect(records(e.state)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'a kept drill whose console is open: ? shows its psql command, ops drill clean skips it, and it is removed once the console has quit',
    async () => {
      const e = newEnv();
      session = drillInTmux(e, ['drill', '--keep', '--scenario', 'backup']);
      const rec = await drillOpened(session, e);
      expect(rec.keep).toBe(true);
      const pm = assertClusterRunning(e, rec);
      const pids = [pm, ...childrenOf(pm)];
      // the psql command, on the console's own screen
      const psql = `psql postgresql://postgres@127.0.0.1:${rec.port}/shop`;
      session.send('?');
      await waitForScreen(session, (t) => t.includes(psql), WAIT);
      session.send('Escape');
      await waitForScreen(session, (t) => !t.includes(psql), WAIT);

      // clean while the console is open: skipped, with one line; the drill is untouched
      const clean = await runOps(['drill', 'clean'], { env: opsEnv(e), timeoutMs: WAIT });
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stderr).toBe('');
      expect(clean.stdout).toBe(`skipped drill ${rec.id} (port ${rec.port}): in use by its console (ops pid ${rec.pid}); quit that console first\n`);
      expect(running(pm)).toBe(true);
      expect(existsSync(rec.data)).toBe(true);
      expect(records(e.state).map((r) => r.id)).toEqual([rec.id]);
      expect(session.screen()[0]).toMatch(/^\[DRILL\] ops /);
      // the record names the console's process, and when it started (so a reused pid is not it)
      expect(cmdline(rec.pid)).toContain(OPS_BIN);
      const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
      expect(rec.pidStart).toBe(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]));

      // on q it says it kept the drill, which is true
      session.send('q');
      const after = await waitForScreen(session, (t) => t.includes('EXITED:'), WAIT);
      expect(after).toContain(`drill kept at 127.0.0.1:${rec.port}`);
      expect(after).toContain('EXITED:0');
      expect(running(pm)).toBe(true);

      // with the console gone, clean removes it
      const again = await runOps(['drill', 'clean'], { env: opsEnv(e), timeoutMs: WAIT });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`removed drill ${rec.id}`);
      await assertDrillGone(e, rec, pids);
      expect(records(e.state)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'a kept drill removed from under its open console (not by ops drill clean): on q it says nothing was kept, and leaves no record',
    async () => {
      const e = newEnv();
      session = drillInTmux(e, ['drill', '--keep', '--scenario', 'backup']);
      const rec = await drillOpened(session, e);
      const pm = assertClusterRunning(e, rec);
      const pids = [pm, ...childrenOf(pm)];
      // what an ops that did not know the console was open did: the cluster, its files, its record
      destroy(join(e.state, 'drills'), rec);
      expect(existsSync(rec.dir)).toBe(false);

      session.send('q');
      const after = await waitForScreen(session, (t) => t.includes('EXITED:'), WAIT);
      expect(after).not.toContain('drill kept');
      expect(after).toContain(`drill ${rec.id} is gone (removed while its console was open): nothing was kept`);
      expect(after).toContain('EXITED:0');
      await assertDrillGone(e, rec, pids);
      expect(records(e.state)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'a hang-up (the terminal goes away): nothing of the drill is left either',
    async () => {
      const e = newEnv();
      session = drillInTmux(e, ['drill', '--scenario', 'locks']);
      const rec = await drillOpened(session, e);
      const pm = assertClusterRunning(e, rec);
      const pids = [pm, ...childrenOf(pm)];
      expect(rec.children).toHaveLength(1);
      // closing the terminal: tmux sends the pane's processes SIGHUP
      session.kill();
      session = null;
      await waitFor(() => !running(rec.pid), { timeoutMs: WAIT });
      await assertDrillGone(e, rec, pids);
      for (const pgid of rec.children) expect(groupMembers(pgid), `planted session group ${pgid}`).toEqual([]);
      expect(records(e.state)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'SIGKILL leaves the cluster and its planted sessions; the next drill removes them, and ops drill clean the kept one',
    async () => {
      const e = newEnv();
      session = drillInTmux(e, ['drill', '--scenario', 'locks']);
      const old = await drillOpened(session, e);
      const oldPm = assertClusterRunning(e, old);
      const oldPids = [oldPm, ...childrenOf(oldPm)];
      // the locks scenario's planted sessions: one helper process group, running
      expect(old.children).toHaveLength(1);
      for (const pgid of old.children) expect(groupMembers(pgid).length, `planted session group ${pgid}`).toBeGreaterThan(0);

      // the ops process that owns the drill: node running the built bin/ops
      const argv = cmdline(old.pid);
      expect(argv.some((a) => /(^|\/)node$/.test(a)), argv.join(' ')).toBe(true);
      expect(argv).toContain(OPS_BIN);
      expect(argv).toContain('drill');
      process.kill(old.pid, 'SIGKILL');
      expect(await waitForScreen(session, (t) => t.includes('EXITED:'), WAIT)).toContain('EXITED:137');
      expect(running(old.pid)).toBe(false);

      // the leftover: cluster, planted sessions, directory and record are all still there
      expect(running(oldPm)).toBe(true);
      expect(existsSync(old.data)).toBe(true);
      for (const pgid of old.children) expect(groupMembers(pgid).length, `planted session group ${pgid}`).toBeGreaterThan(0);
      expect(records(e.state).map((r) => r.id)).toEqual([old.id]);

      // the next drill (kept, without a terminal) removes it first
      const next = await runOps(['drill', '--keep', '--scenario', 'backup'], { env: opsEnv(e), timeoutMs: WAIT });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout).toContain(`removed drill ${old.id}`);
      expect(next.stdout).toMatch(/left behind by a process that is gone/);
      await assertDrillGone(e, old, oldPids);

      const kept = onlyRecord(e.state);
      e.seen.push(kept);
      expect(kept.id).not.toBe(old.id);
      expect(kept.keep).toBe(true);
      expect(kept.scenarios).toEqual(['backup']);
      expect(next.stdout).toContain(kept.dir);
      const keptPm = assertClusterRunning(e, kept);
      const keptPids = [keptPm, ...childrenOf(keptPm)];

      const clean = await runOps(['drill', 'clean'], { env: opsEnv(e), timeoutMs: WAIT });
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toContain(`removed drill ${kept.id}`);
      await assertDrillGone(e, kept, keptPids);
      expect(records(e.state)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'without a terminal and without --keep it refuses with exit 2 and one line, and starts nothing',
    async () => {
      const e = newEnv();
      // a private TMPDIR: any ops-drill-* directory in it is one this ops made
      const tmp = mkdtempSync(join(tmpdir(), 'ops-e2e-drill-tmp-'));
      try {
        const r = await runOps(['drill'], { env: opsEnv(e, { TMPDIR: tmp }), timeoutMs: WAIT });
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        const lines = r.stderr.split('\n').filter(Boolean);
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^ops: drill: .*interactive terminal.*--keep/);
        expect(records(e.state)).toEqual([]);
        expect(existsSync(join(e.state, 'drills'))).toBe(false);
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    TEST_TIMEOUT,
  );
});
