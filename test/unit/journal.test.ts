// The journal on real files in a temporary directory: round trips, folding into run summaries,
// damaged lines, redaction, file modes, run lookup, the run log and the history commands; every
// line checked when read, the index beside the journal after a crash or another process's
// appends, and writes that fail (a full disk, through /dev/full).
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/config/load';
import {
  Journal,
  MAX_LINE,
  MAX_STRING,
  formatOperator,
  operatorIdentity,
  parseLine,
  setJournalWarningHandler,
  stateDir,
  StateWriteError,
  type Operator,
  type StepPlan,
} from '../../src/journal';
import { historyCommand, showCommand } from '../../src/cli/history';
import { runsNeedingAttention } from '../../src/tasks/attention';

const ALICE: Operator = { user: 'alice', sudoUser: null, sshClient: '10.0.0.7', tty: '/dev/pts/3', host: 'db1', pid: 4242 };

const PLAN: StepPlan[] = [
  { id: 'snapshot', title: 'Snapshot the table', rollback: 'drop the snapshot', irreversible: false },
  { id: 'swap', title: 'Swap the tables', rollback: 'swap back', irreversible: false },
  { id: 'reindex', title: 'Reindex', rollback: 'drop the new index', irreversible: false },
  { id: 'analyze', title: 'Analyze', rollback: null, irreversible: false },
];

let dir: string;
let journal: Journal;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'ops-journal-')), 'state');
  journal = new Journal(dir, { env: {} });
});
afterEach(() => {
  journal.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

function start(j: Journal, run: string, opts: { ts?: string; task?: string; target?: string; steps?: StepPlan[] } = {}) {
  return j.append({
    type: 'run.start',
    run,
    ts: opts.ts,
    task: opts.task ?? 'vacuum-table',
    title: 'Vacuum a table',
    risk: 'high',
    params: { table: 'public.orders' },
    target: opts.target ?? 'postgres://app@db1/prod',
    operator: ALICE,
    steps: opts.steps ?? PLAN,
    dryRun: false,
  });
}

function step(j: Journal, run: string, index: number, outcome: 'ok' | 'failed', extra: { error?: string; durationMs?: number } = {}) {
  const id = PLAN[index].id;
  j.append({ type: 'step.start', run, step: id, index, attempt: 1, detail: `run ${id}` });
  j.append({
    type: 'step.finish',
    run,
    step: id,
    index,
    outcome,
    exitCode: outcome === 'ok' ? 0 : 2,
    durationMs: extra.durationMs ?? 1500,
    ...(extra.error ? { error: extra.error } : {}),
  });
}

/** steps 1-2 ok, 3 failed, rollback of 2 ok, run.end failed */
function failedRun(j: Journal, run: string, ts?: string) {
  start(j, run, { ts });
  step(j, run, 0, 'ok');
  step(j, run, 1, 'ok');
  step(j, run, 2, 'failed', { error: 'ERROR: could not extend file: No space left on device' });
  j.append({ type: 'rollback.start', run, step: 'swap', index: 1, detail: 'ALTER TABLE ... RENAME' });
  j.append({ type: 'rollback.finish', run, step: 'swap', index: 1, outcome: 'ok', exitCode: 0, durationMs: 40 });
  j.append({ type: 'run.end', run, outcome: 'failed', error: 'step reindex failed' });
}

describe('where and who', () => {
  it('stateDir: OPS_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state', () => {
    expect(stateDir({ OPS_STATE_DIR: '/x/state', XDG_STATE_HOME: '/y' })).toBe('/x/state');
    expect(stateDir({ XDG_STATE_HOME: '/y' })).toBe('/y/ops-console');
    expect(stateDir({ HOME: '/home/al' })).toBe('/home/al/.local/state/ops-console');
  });

  it('operatorIdentity reads USER, SUDO_USER and the SSH client address', () => {
    const op = operatorIdentity({ USER: 'root', SUDO_USER: 'alice', SSH_CLIENT: '10.0.0.7 51234 22' });
    expect(op).toMatchObject({ user: 'root', sudoUser: 'alice', sshClient: '10.0.0.7', pid: process.pid });
    expect(op.host.length).toBeGreaterThan(0);
    expect(op.tty === null || op.tty.startsWith('/')).toBe(true);
    expect(operatorIdentity({ USER: 'bob', SSH_CONNECTION: '192.0.2.1 40000 192.0.2.9 22' }).sshClient).toBe('192.0.2.1');
    expect(operatorIdentity({ USER: 'bob' })).toMatchObject({ sudoUser: null, sshClient: null });
    expect(formatOperator(op)).toBe('root(alice)@10.0.0.7');
    expect(formatOperator(ALICE)).toBe('alice@10.0.0.7');
  });

  it('newRunId is sortable and names the task', () => {
    expect(journal.newRunId('Vacuum Table!')).toMatch(/^\d{8}-\d{6}-vacuum-table-[0-9a-f]{4}$/);
    const year = String(new Date().getUTCFullYear());
    expect(journal.newRunId('x').startsWith(year)).toBe(true);
  });
});

describe('append and read back', () => {
  it('round-trips events with v, ts and seq per run from 1', () => {
    const e = start(journal, 'r1');
    journal.append({ type: 'note', run: 'r1', text: 'SIGHUP: terminal gone, waiting for step to finish' });
    start(journal, 'r2');
    journal.append({ type: 'run.end', run: 'r1', outcome: 'succeeded' });
    expect(e).toMatchObject({ v: 1, seq: 1, run: 'r1', type: 'run.start', task: 'vacuum-table' });
    const events = journal.events('r1');
    expect(events.map((x) => [x.type, x.seq])).toEqual([
      ['run.start', 1],
      ['note', 2],
      ['run.end', 3],
    ]);
    expect(events[0]).toEqual(e);
    expect(Date.parse(events[2].ts)).toBeGreaterThanOrEqual(Date.parse(events[0].ts));
    expect(journal.events('r2').map((x) => x.seq)).toEqual([1]);
    // one line per event
    expect(readFileSync(journal.file, 'utf8').split('\n')).toHaveLength(5);
  });

  it('keeps v, ts and seq of events stamped by the caller (the task engine\'s JournalSink)', () => {
    const sink: { append(event: { v: 1; ts: string; seq: number; run: string; type: string; [k: string]: unknown }): void } = journal;
    sink.append({ v: 1, ts: '2026-11-23T18:45:00.000Z', seq: 7, run: 'r1', type: 'note', text: 'from the engine' });
    journal.append({ type: 'note', run: 'r1', text: 'next' });
    expect(journal.events('r1').map((e) => [e.ts, e.seq])).toEqual([
      ['2026-11-23T18:45:00.000Z', 7],
      [expect.stringMatching(/^\d{4}-\d\d-\d\dT/), 8],
    ]);
    for (const line of readFileSync(journal.file, 'utf8').trimEnd().split('\n')) expect(line.startsWith('{"v":1,"ts":"')).toBe(true);
  });

  it('a second journal on the same directory continues a run\'s seq', () => {
    start(journal, 'r1');
    journal.append({ type: 'note', run: 'r1', text: 'a' });
    const other = new Journal(dir, { env: {} });
    expect(other.append({ type: 'note', run: 'r1', text: 'b' }).seq).toBe(3);
    other.close();
  });

  it('folds a run: steps 1-2 ok, 3 failed, rollback of 2 ok: one pending rollback (step 1)', () => {
    failedRun(journal, 'r1');
    const [s] = journal.runs();
    expect(s).toMatchObject({
      run: 'r1',
      task: 'vacuum-table',
      title: 'Vacuum a table',
      risk: 'high',
      target: 'postgres://app@db1/prod',
      operator: ALICE,
      outcome: 'failed',
      error: 'step reindex failed',
      pendingRollbacks: 1,
    });
    expect(s.endedAt).not.toBeNull();
    expect(s.steps.map((x) => [x.id, x.status, x.rolledBack])).toEqual([
      ['snapshot', 'ok', false],
      ['swap', 'ok', true],
      ['reindex', 'failed', false],
      ['analyze', 'pending', false],
    ]);
    expect(s.steps[2]).toMatchObject({ exitCode: 2, durationMs: 1500, error: 'ERROR: could not extend file: No space left on device' });
    expect(s.steps[0]).toMatchObject({ rollback: 'drop the snapshot', irreversible: false, attempts: 1 });
  });

  it('a step started but never finished is "started"; a run without run.end is "unfinished"', () => {
    start(journal, 'r1');
    step(journal, 'r1', 0, 'ok');
    journal.append({ type: 'step.start', run: 'r1', step: 'swap', index: 1, attempt: 1, detail: 'ALTER TABLE' });
    const [s] = journal.runs();
    expect(s.outcome).toBe('unfinished');
    expect(s.endedAt).toBeNull();
    expect(s.steps.map((x) => x.status)).toEqual(['ok', 'started', 'pending', 'pending']);
    // only completed steps count as pending rollbacks
    expect(s.pendingRollbacks).toBe(1);
  });

  it('lists runs newest first, with a limit', () => {
    failedRun(journal, 'older', '2026-11-23T10:00:00.000Z');
    start(journal, 'newer', { ts: '2026-11-23T11:00:00.000Z' });
    start(journal, 'oldest', { ts: '2026-11-22T09:00:00.000Z' });
    expect(journal.runs().map((s) => s.run)).toEqual(['newer', 'older', 'oldest']);
    expect(journal.runs({ limit: 1 }).map((s) => s.run)).toEqual(['newer']);
  });

  it('an empty or missing journal reads as no runs', () => {
    expect(journal.runs()).toEqual([]);
    expect(journal.events('x')).toEqual([]);
  });
});

describe('damaged and foreign lines', () => {
  it('skips a torn last line and reads the rest; the next append starts a fresh line', () => {
    start(journal, 'r1');
    journal.append({ type: 'note', run: 'r1', text: 'before the crash' });
    journal.close();
    appendFileSync(journal.file, '{"v":1,"ts":"2026-11-23T18:45:00.000Z","seq":3,"run":"r1","type":"st');
    expect(journal.events('r1').map((e) => e.type)).toEqual(['run.start', 'note']);
    expect(journal.runs()[0].outcome).toBe('unfinished');

    const after = new Journal(dir, { env: {} });
    after.append({ type: 'run.end', run: 'r1', outcome: 'interrupted' });
    after.close();
    // the torn fragment keeps a line of its own
    expect(readFileSync(journal.file, 'utf8').split('\n')[2]).toBe('{"v":1,"ts":"2026-11-23T18:45:00.000Z","seq":3,"run":"r1","type":"st');
    expect(journal.events('r1').map((e) => e.type)).toEqual(['run.start', 'note', 'run.end']);
    expect(journal.runs()[0].outcome).toBe('interrupted');
  });

  it('recovers a whole event written right after a torn one on the same line', () => {
    start(journal, 'r1');
    appendFileSync(journal.file, '{"v":1,"ts":"2026-11-23T18:4'); // while this journal's fd is open
    journal.append({ type: 'note', run: 'r1', text: 'still here' });
    expect(journal.events('r1').map((e) => e.type)).toEqual(['run.start', 'note']);
    expect(parseLine('{"v":1,"ts":"2026-11-23T18:45:00.000Z","seq":1,"run":"a","type":"no{"v":1,"ts":"2026-11-23T18:45:01.000Z","seq":2,"run":"a","type":"note","text":"t"}')).toMatchObject({
      seq: 2,
      text: 't',
    });
  });

  it('skips garbage and events of unknown (future) types', () => {
    start(journal, 'r1');
    appendFileSync(journal.file, 'not json at all\n');
    appendFileSync(journal.file, '{"v":1,"ts":"2026-11-23T18:45:00.000Z","seq":2,"run":"r1","type":"step.progress","pct":50}\n');
    appendFileSync(journal.file, '{"v":2,"ts":"2026-11-23T18:45:00.000Z","seq":3,"run":"r1","type":"note","text":"v2"}\n');
    appendFileSync(journal.file, '[1,2,3]\n\n');
    journal.append({ type: 'run.end', run: 'r1', outcome: 'succeeded' });
    expect(journal.events('r1').map((e) => e.type)).toEqual(['run.start', 'run.end']);
    expect(journal.runs()).toHaveLength(1);
    expect(journal.runs()[0].outcome).toBe('succeeded');
  });
});

describe('secrets and size', () => {
  it('never writes URL passwords, PGPASSWORD or password-named params to the journal', () => {
    const j = new Journal(dir, { env: { PGPASSWORD: 'Pgp4ss-xyz', DATABASE_URL: 'postgres://app:Db-Url-Pw9@db1/prod' } });
    j.append({
      type: 'run.start',
      run: 'r1',
      task: 'dump',
      title: 'Dump',
      risk: 'low',
      params: { url: 'postgres://u:Secr3t@h/db', nested: { password: 'plainpw123', list: ['postgres://u:Secr3t@h/other'] } },
      target: 'postgres://u:Secr3t@h/db',
      operator: ALICE,
      steps: [],
      dryRun: true,
    });
    j.append({ type: 'step.start', run: 'r1', step: 'dump', index: 0, attempt: 1, detail: 'PGPASSWORD=Pgp4ss-xyz pg_dump -h h db' });
    j.append({
      type: 'step.finish',
      run: 'r1',
      step: 'dump',
      index: 0,
      outcome: 'failed',
      exitCode: 1,
      durationMs: 3,
      error: 'password authentication failed (tried Pgp4ss-xyz and Db-Url-Pw9)',
    });
    j.close();
    const text = readFileSync(j.file, 'utf8');
    for (const secret of ['Secr3t', 'Pgp4ss-xyz', 'plainpw123', 'Db-Url-Pw9']) expect(text).not.toContain(secret);
    const [s] = j.runs();
    expect(s.target).toBe('postgres://u:***@h/db');
    const events = j.events('r1');
    expect(events[0]).toMatchObject({ params: { url: 'postgres://u:***@h/db', nested: { password: '***' } } });
    expect(events[1]).toMatchObject({ detail: 'PGPASSWORD=*** pg_dump -h h db' });
    expect(events[2]).toMatchObject({ error: 'password authentication failed (tried *** and ***)' });
  });

  it('secrets added later and given per log are redacted too', () => {
    journal.addSecrets('tok-abcdef');
    journal.append({ type: 'note', run: 'r1', text: 'using tok-abcdef' });
    expect(journal.events('r1')[0]).toMatchObject({ text: 'using ***' });
  });

  it('cuts huge strings and keeps every line small', () => {
    start(journal, 'r1');
    journal.append({ type: 'step.finish', run: 'r1', step: 'x', index: 0, outcome: 'failed', exitCode: 1, durationMs: 1, error: 'E'.repeat(10_000) });
    const big: Record<string, string> = {};
    for (let i = 0; i < 100; i++) big[`k${i}`] = 'v'.repeat(1000);
    journal.append({ type: 'step.finish', run: 'r1', step: 'y', index: 1, outcome: 'ok', exitCode: 0, durationMs: 1, values: big });
    const lines = readFileSync(journal.file, 'utf8').trimEnd().split('\n');
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(MAX_LINE);
    const [, fin, fin2] = journal.events('r1');
    expect(fin.type === 'step.finish' && fin.error?.length).toBe(MAX_STRING);
    expect(fin.type === 'step.finish' && fin.error?.startsWith('EEEE')).toBe(true);
    expect(fin2.type === 'step.finish' && Object.keys(fin2.values ?? {}).length).toBe(100);
  });
});

describe('files', () => {
  it('creates the directory 0700 and the journal and logs 0600', () => {
    const old = process.umask(0o022);
    try {
      start(journal, 'r1');
      const log = journal.openLog('r1');
      log.write('hello', 'out');
      log.close();
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(journal.file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'runs')).mode & 0o777).toBe(0o700);
      expect(journal.logPath('r1')).toBe(join(dir, 'runs', 'r1.log'));
      expect(statSync(journal.logPath('r1')).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('tightens a journal file that exists with a looser mode', () => {
    start(journal, 'r1');
    journal.close();
    chmodSync(journal.file, 0o644);
    const again = new Journal(dir, { env: {} });
    again.append({ type: 'note', run: 'r1', text: 'x' });
    again.close();
    expect(statSync(journal.file).mode & 0o777).toBe(0o600);
  });
});

describe('findRun', () => {
  beforeEach(() => {
    for (const r of ['20261123-100000-vacuum-aa11', '20261123-100500-vacuum-ab22', '20261124-090000-reindex-cc33', 'r-1', 'r-10']) start(journal, r);
  });

  it('finds the one run a prefix names, and an exact id even when it prefixes another', () => {
    expect(journal.findRun('20261124')).toBe('20261124-090000-reindex-cc33');
    expect(journal.findRun('20261123-1005')).toBe('20261123-100500-vacuum-ab22');
    expect(journal.findRun('r-1')).toBe('r-1');
    expect(journal.findRun('r-10')).toBe('r-10');
  });

  it('ambiguous, unknown and empty prefixes are one-line UserErrors', () => {
    const message = (p: string) => {
      try {
        journal.findRun(p);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return (err as Error).message;
      }
      throw new Error(`findRun(${p}) did not throw`);
    };
    const amb = message('20261123');
    expect(amb).toBe('"20261123" matches 2 runs (20261123-100500-vacuum-ab22, 20261123-100000-vacuum-aa11): give more of the id');
    expect(message('zzz')).toBe(`no run matches "zzz" in ${journal.file}`);
    expect(message('  ')).toMatch(/^name a run/);
    for (const m of [amb, message('zzz'), message('')]) expect(m.split('\n')).toHaveLength(1);
  });
});

describe('the run log', () => {
  it('writes stamped lines with their stream, split on newlines, after flush', () => {
    const log = journal.openLog('r1');
    log.write('first', 'out');
    log.write('oops', 'err');
    log.write('two\nlines\n', 'notice');
    log.write('', 'info');
    expect(readFileSync(log.path, 'utf8')).toBe(''); // buffered
    log.flush();
    const lines = readFileSync(log.path, 'utf8').split('\n');
    expect(lines.map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ''))).toEqual([
      '[out] first',
      '[err] oops',
      '[notice] two',
      '[notice] lines',
      '[info] ',
      '',
    ]);
    for (const l of lines.slice(0, 5)) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[/);
    expect(log.lines).toBe(5);
    log.close();
  });

  it('flushes by itself within 100 ms of a line', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const log = journal.openLog('r1');
      log.write('soon on disk', 'out');
      expect(readFileSync(log.path, 'utf8')).toBe('');
      vi.advanceTimersByTime(100);
      expect(readFileSync(log.path, 'utf8')).toMatch(/ \[out\] soon on disk\n$/);
      log.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps every line of a large burst, in order, and lines written after close', () => {
    const log = journal.openLog('r1');
    const n = 200_000;
    for (let i = 0; i < n; i++) log.write(`line ${i}`, 'out');
    log.close();
    log.write('late line', 'info');
    const lines = readFileSync(log.path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(n + 1);
    expect(lines[0]).toMatch(/ \[out\] line 0$/);
    expect(lines[123_456]).toMatch(/ \[out\] line 123456$/);
    expect(lines[n]).toMatch(/ \[info\] late line$/);
  });

  it('redacts URL passwords, PGPASSWORD and the secrets it was given', () => {
    const j = new Journal(dir, { env: { PGPASSWORD: 'Pgp4ss-xyz' } });
    const log = j.openLog('r1', ['tok-abcdef']);
    log.write('connecting to postgres://u:Secr3t@h/db', 'out');
    log.write('psql: password authentication failed: Pgp4ss-xyz', 'err');
    log.write('header Authorization: tok-abcdef', 'out');
    log.write('+ PGPASSWORD=zzz9q pg_dump db', 'info');
    log.close();
    const text = readFileSync(log.path, 'utf8');
    for (const secret of ['Secr3t', 'Pgp4ss-xyz', 'tok-abcdef', 'zzz9q']) expect(text).not.toContain(secret);
    expect(text).toContain('[out] connecting to postgres://u:***@h/db');
    expect(text).toContain('[info] + PGPASSWORD=*** pg_dump db');
  });
});

describe('history and show', () => {
  it('history: a table newest first; --json gives the summaries', () => {
    failedRun(journal, '20261123-100000-vacuum-table-aa11', '2026-11-23T10:00:00.000Z');
    start(journal, '20261123-110000-reindex-bb22', { ts: '2026-11-23T11:00:00.000Z', task: 'reindex', target: 'postgres://app:pw@db2/prod' });
    const out = historyCommand(journal, { json: false });
    const lines = out.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^RUN\s+STARTED\s+TASK\s+TARGET\s+OPERATOR\s+OUTCOME\s+PENDING ROLLBACKS$/);
    expect(lines[1]).toMatch(/^20261123-110000-reindex-bb22\s+2026-11-23 \d\d:00:00\s+reindex\s+postgres:\/\/app:\*\*\*@db2\/prod\s+alice@10\.0\.0\.7\s+unfinished\s+0$/);
    expect(lines[2]).toMatch(/^20261123-100000-vacuum-table-aa11\s+2026-11-23 \d\d:00:00\s+vacuum-table\s+postgres:\/\/app@db1\/prod\s+alice@10\.0\.0\.7\s+failed\s+1$/);
    const json = JSON.parse(historyCommand(journal, { json: true }));
    expect(json.map((s: { run: string; pendingRollbacks: number }) => [s.run, s.pendingRollbacks])).toEqual([
      ['20261123-110000-reindex-bb22', 0],
      ['20261123-100000-vacuum-table-aa11', 1],
    ]);
  });

  it('history of an empty journal says so', () => {
    expect(historyCommand(journal, { json: false })).toBe(`No task runs yet (journal: ${journal.file}).`);
    expect(historyCommand(journal, { json: true })).toBe('[]');
  });

  it('show: header, each step with status and duration, then the full log', () => {
    const run = '20261123-100000-vacuum-table-aa11';
    failedRun(journal, run, '2026-11-23T10:00:00.000Z');
    journal.append({ type: 'note', run, text: 'SIGHUP: terminal gone, waiting for step to finish' });
    const log = journal.openLog(run);
    log.write('VACUUM', 'out');
    log.write('ERROR: could not extend file', 'err');
    log.close();
    const out = showCommand(journal, '20261123-1000');
    const lines = out.split('\n');
    expect(lines[0]).toBe(`Run ${run} · vacuum-table · Vacuum a table`);
    expect(out).toContain('  outcome   failed: step reindex failed');
    expect(out).toContain('  operator  alice@10.0.0.7 (on db1, tty /dev/pts/3, pid 4242)');
    expect(out).toContain('  pending rollbacks: 1 (snapshot)');
    const stepLines = lines.filter((l) => /^ {2}\d\. /.test(l));
    expect(stepLines).toHaveLength(4);
    expect(stepLines[0]).toMatch(/^ {2}1\.\s+snapshot\s+Snapshot the table\s+ok\s+1\.5s\s+rollback pending: drop the snapshot$/);
    expect(stepLines[1]).toMatch(/^ {2}2\.\s+swap\s+Swap the tables\s+ok\s+1\.5s\s+rolled back$/);
    expect(stepLines[2]).toMatch(/^ {2}3\.\s+reindex\s+Reindex\s+failed\s+1\.5s\s+exit 2; ERROR: could not extend file: No space left on device$/);
    expect(stepLines[3]).toMatch(/^ {2}4\.\s+analyze\s+Analyze\s+pending\s+-$/);
    expect(out).toMatch(/\n {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}SIGHUP: terminal gone, waiting for step to finish\n/);
    expect(out).toContain(`Log ${journal.logPath(run)}\n`);
    expect(lines.slice(-2).map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ''))).toEqual(['[out] VACUUM', '[err] ERROR: could not extend file']);
  });

  it('show: a step started without a finish reads as outcome unknown; no log says so', () => {
    start(journal, 'r1');
    journal.append({ type: 'step.start', run: 'r1', step: 'snapshot', index: 0, attempt: 1, detail: 'x' });
    const out = showCommand(journal, 'r1');
    expect(out).toContain('  outcome   unfinished');
    expect(out).toMatch(/1\.\s+snapshot\s+Snapshot the table\s+started\s+-\s+started, no finish recorded: outcome unknown/);
    expect(out).toContain(`Log: none (${journal.logPath('r1')})`);
    expect(() => showCommand(journal, 'nope')).toThrow(UserError);
  });
});

// ---------------------------------------------------------------- lines checked when read

/** A journal line as ops writes it, with `over` replacing or adding fields. */
function line(run: string, type: string, seq: number, over: Record<string, unknown> = {}): string {
  const base: Record<string, Record<string, unknown>> = {
    'run.start': { task: 'vacuum-table', title: 'Vacuum a table', risk: 'high', params: {}, target: 'postgres://app@db1/prod', operator: ALICE, steps: PLAN, dryRun: false },
    'step.start': { step: 'snapshot', index: 0, attempt: 1, detail: 'run snapshot' },
    'step.finish': { step: 'snapshot', index: 0, outcome: 'ok', exitCode: 0, durationMs: 12 },
    'rollback.start': { step: 'snapshot', index: 0, detail: 'drop it' },
    'rollback.finish': { step: 'snapshot', index: 0, outcome: 'ok', exitCode: 0, durationMs: 3 },
    'run.end': { outcome: 'succeeded' },
    note: { text: 'a note' },
  };
  return `${JSON.stringify({ v: 1, ts: `2026-11-23T10:00:${String(seq).padStart(2, '0')}.000Z`, seq, run, type, ...base[type], ...over })}\n`;
}

describe('every line is checked when read', () => {
  afterEach(() => setJournalWarningHandler(null));

  it('a line of the wrong shape is skipped with one warning naming its line; it hides no other run', () => {
    failedRun(journal, 'r-good', '2026-11-23T09:00:00.000Z');
    journal.close();
    // line numbers: failedRun wrote 10 lines
    appendFileSync(journal.file, line('r-nullstep', 'run.start', 1, { steps: [null] })); // 11
    appendFileSync(journal.file, line('r-op', 'run.start', 1, { operator: 'str' })); // 12
    appendFileSync(journal.file, line('r-good', 'note', 11, { text: 'kept' })); // 13
    appendFileSync(journal.file, line('r-good', 'step.start', 12, { index: '1' })); // 14
    const j = new Journal(dir, { env: {} });
    start(j, 'r-after', { ts: '2026-11-23T11:00:00.000Z' }); // 15
    j.append({ type: 'step.start', run: 'r-after', step: 'snapshot', index: 0, attempt: 1, detail: 'x' }); // 16

    const runs = j.runs();
    expect(runs.map((r) => r.run)).toEqual(['r-after', 'r-good']);
    expect(runs[1].notes.map((n) => n.text)).toEqual(['kept']);
    expect(j.warnings).toEqual([
      `journal ${j.file}: line 11 skipped: run.start: steps[0] is not an object`,
      `journal ${j.file}: line 12 skipped: run.start: operator is not an object or null`,
      `journal ${j.file}: line 14 skipped: step.start: index is not a whole number`,
    ]);
    // reading again, one run or all, warns no more
    j.runs({ limit: 1 });
    j.summary('r-good');
    j.events('r-after');
    j.findRun('r-af');
    expect(j.warnings).toHaveLength(3);
    j.close();
  });

  it('history, show and the rollback list read the other runs; each line is warned once per process', () => {
    const seen: string[] = [];
    setJournalWarningHandler((m) => seen.push(m));
    start(journal, '20261123-100000-vacuum-table-aa11', { ts: '2026-11-23T10:00:00.000Z' });
    journal.append({ type: 'step.start', run: '20261123-100000-vacuum-table-aa11', step: 'snapshot', index: 0, attempt: 1, detail: 'x' });
    journal.append({ type: 'run.end', run: '20261123-100000-vacuum-table-aa11', outcome: 'interrupted' });
    journal.close();
    appendFileSync(journal.file, line('20261123-110000-bad-bb22', 'run.start', 1, { steps: [null], ts: '2026-11-23T11:00:00.000Z' }));
    appendFileSync(journal.file, line('20261123-110000-bad-bb22', 'run.end', 2, { outcome: 'perhaps' }));

    const a = new Journal(dir, { env: {} });
    expect(historyCommand(a, { json: false })).toContain('20261123-100000-vacuum-table-aa11');
    expect(JSON.parse(historyCommand(a, { json: true }))).toHaveLength(1);
    expect(showCommand(a, '20261123-10')).toContain('Run 20261123-100000-vacuum-table-aa11');
    expect(() => showCommand(a, '20261123-11')).toThrow(UserError); // its every line was unreadable
    expect(runsNeedingAttention(a).map((r) => r.run)).toEqual(['20261123-100000-vacuum-table-aa11']);
    // a second Journal in the same process (the CLI may open two) does not warn again
    const b = new Journal(dir, { env: {} });
    expect(b.runs()).toHaveLength(1);
    expect(b.warnings).toHaveLength(2);
    expect(seen).toEqual([
      `journal ${a.file}: line 4 skipped: run.start: steps[0] is not an object`,
      `journal ${a.file}: line 5 skipped: run.end: outcome is not a run outcome`,
    ]);
    expect(a.unreadable).toEqual({ count: 2, lines: [4, 5] });
  });

  it('an own onWarning gets each warning once; past 10, one more line counts the rest', () => {
    start(journal, 'r1');
    journal.close();
    for (let i = 0; i < 25; i++) appendFileSync(journal.file, line('r1', 'note', i + 2, { text: i }));
    const got: string[] = [];
    const j = new Journal(dir, { env: {}, onWarning: (m) => got.push(m) });
    expect(j.runs()[0].run).toBe('r1');
    j.runs();
    expect(got).toHaveLength(11);
    expect(got[0]).toBe(`journal ${j.file}: line 2 skipped: note: text is not a string`);
    expect(got[9]).toBe(`journal ${j.file}: line 11 skipped: note: text is not a string`);
    expect(got[10]).toBe(`journal ${j.file}: 15 more unreadable lines skipped`);
    for (const m of got) expect(m.split('\n')).toHaveLength(1);
  });

  it('checks every field the readers use, with its type', () => {
    const bad: [string, Record<string, unknown>, string][] = [
      ['run.start', { steps: [null] }, 'steps[0] is not an object'],
      ['run.start', { steps: [{ id: 'a', title: 'A', rollback: null }] }, 'steps[0].irreversible is missing'],
      ['run.start', { steps: 'all' }, 'steps is not a list'],
      ['run.start', { operator: 'str' }, 'operator is not an object or null'],
      ['run.start', { operator: { ...ALICE, pid: 'x' } }, 'operator.pid is not a whole number'],
      ['run.start', { operator: { ...ALICE, sudoUser: 7 } }, 'operator.sudoUser is not a string or null'],
      ['run.start', { risk: 'extreme' }, 'risk is not a risk level'],
      ['run.start', { params: [] }, 'params is not an object'],
      ['run.start', { task: 7 }, 'task is not a string'],
      ['run.start', { dryRun: 'no' }, 'dryRun is not true or false'],
      ['run.start', { resumeOf: 5 }, 'resumeOf is not a string'],
      ['step.start', { index: '1' }, 'index is not a whole number'],
      ['step.start', { index: -1 }, 'index is not a whole number'],
      ['step.start', { step: null }, 'step is not a string'],
      ['step.start', { attempt: 1.5 }, 'attempt is not a whole number'],
      ['step.start', { pgid: 0 }, 'pgid is not a process id'],
      ['step.start', { backendPid: '77' }, 'backendPid is not a process id'],
      ['step.finish', { outcome: 'maybe' }, 'outcome is not a step outcome'],
      ['step.finish', { exitCode: '1' }, 'exitCode is not a whole number or null'],
      ['step.finish', { durationMs: null }, 'durationMs is not a number'],
      ['step.finish', { values: 'v' }, 'values is not an object'],
      ['step.finish', { error: {} }, 'error is not a string'],
      ['rollback.start', { detail: 1 }, 'detail is not a string'],
      ['rollback.finish', { outcome: 'ok!' }, 'outcome is not a step outcome'],
      ['run.end', { outcome: 5 }, 'outcome is not a run outcome'],
      ['note', { text: ['a'] }, 'text is not a string'],
      ['note', { seq: 'x' }, 'seq is not a whole number'],
      ['note', { ts: 'yesterday' }, 'ts is not a time (ISO 8601)'],
      ['note', { run: 42 }, 'run is not a string'],
      ['note', { run: '' }, 'run is empty'],
    ];
    for (const [type, over, why] of bad) {
      expect(parseLine(line('r1', type, 1, over)), `${type} ${JSON.stringify(over)}`).toBeNull();
      const j = new Journal(join(dir, `case-${bad.indexOf(bad.find((b) => b[1] === over)!)}`), { env: {} });
      mkdirSync(j.dir, { recursive: true });
      writeFileSync(j.file, line('r1', type, 1, over));
      j.runs();
      expect(j.warnings).toEqual([`journal ${j.file}: line 1 skipped: ${type}: ${why}`]);
    }
    // what is optional may be left out; operator may be null; unknown fields are kept
    expect(parseLine(line('r1', 'run.start', 1, { operator: null, later: { x: 1 } }))).toMatchObject({ operator: null, later: { x: 1 } });
    expect(parseLine(line('r1', 'step.finish', 1, { exitCode: null }))).toMatchObject({ exitCode: null });
    expect(parseLine(line('r1', 'step.start', 1, { pgid: 4321, backendPid: 987 }))).toMatchObject({ pgid: 4321, backendPid: 987 });
  });

  it('quietly skips events of types and versions this ops does not know, and a last line still being written', () => {
    start(journal, 'r1');
    journal.close();
    appendFileSync(journal.file, line('r1', 'step.progress', 2, { pct: 50 }));
    appendFileSync(journal.file, `${JSON.stringify({ v: 2, ts: 'soon', seq: 3, run: 'r1', type: 'note', text: 7 })}\n\n`);
    appendFileSync(journal.file, line('r1', 'note', 4).slice(0, 40));
    const j = new Journal(dir, { env: {} });
    expect(j.events('r1').map((e) => e.type)).toEqual(['run.start']);
    expect(j.warnings).toEqual([]);
    // once another event follows, the torn line is a line of its own, and named
    j.append({ type: 'note', run: 'r1', text: 'after the crash' });
    expect(j.events('r1').map((e) => e.type)).toEqual(['run.start', 'note']);
    expect(j.warnings).toEqual([`journal ${j.file}: line 5 skipped: not a whole JSON line (cut short, or edited)`]);
    // its seq goes on from the highest of the run's readable lines (the unknown type's too)
    expect(j.events('r1')[1].seq).toBe(3);
    j.close();
  });

  it('a step start carries its process group and backend pid into the summary (null when absent)', () => {
    start(journal, 'r1');
    journal.append({ type: 'step.start', run: 'r1', step: 'snapshot', index: 0, attempt: 1, detail: 'x', pgid: 4321, backendPid: 987 });
    const [s] = journal.runs();
    expect(s.steps[0]).toMatchObject({ status: 'started', pgid: 4321, backendPid: 987 });
    expect(s.steps[1]).toMatchObject({ status: 'pending', pgid: null, backendPid: null });
    // a later attempt without them: null again
    journal.append({ type: 'step.start', run: 'r1', step: 'snapshot', index: 0, attempt: 2, detail: 'x' });
    expect(journal.summary('r1')!.steps[0]).toMatchObject({ attempts: 2, pgid: null, backendPid: null });
  });
});

// ---------------------------------------------------------------- the index

describe('the index beside the journal', () => {
  /** A journal that keeps its index file whatever its size. */
  const indexed = (opts: { onWarning?: (m: string) => void } = {}) => new Journal(dir, { env: {}, indexMinBytes: 0, ...opts });
  const names = (j: Journal, limit?: number) => j.runs({ limit }).map((r) => r.run);
  const at = (h: number, m = 0) => `2026-11-23T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00.000Z`;

  it('is written on first read, and read back by the next journal; a small journal has none', () => {
    failedRun(journal, 'small');
    expect(journal.runs()).toHaveLength(1);
    expect(journal.indexFile).toBe(`${journal.file}.idx`);
    expect(existsSync(journal.indexFile)).toBe(false); // below 1 MiB the file is read whole
    rmSync(journal.file);
    const j = indexed();
    for (let i = 0; i < 5; i++) failedRun(j, `r${i}`, at(10 + i));
    expect(existsSync(j.indexFile)).toBe(false); // appends do not touch it
    expect(names(j, 2)).toEqual(['r4', 'r3']);
    expect(existsSync(j.indexFile)).toBe(true);
    expect(statSync(j.indexFile).mode & 0o777).toBe(0o600);
    const k = indexed();
    expect(names(k)).toEqual(['r4', 'r3', 'r2', 'r1', 'r0']);
    expect(k.summary('r2')).toMatchObject({ outcome: 'failed', pendingRollbacks: 1 });
    expect(k.findRun('r3')).toBe('r3');
    j.close();
  });

  it('an index older than the file: lines appended since (by another process) are read from where it stops', () => {
    const j = indexed();
    failedRun(j, 'old1', at(9));
    start(j, 'old2', { ts: at(10) });
    expect(names(j)).toEqual(['old2', 'old1']);
    const indexBytes = readFileSync(j.indexFile);
    // "another process": a second journal, and lines written straight to the file
    const other = new Journal(dir, { env: {} });
    other.append({ type: 'step.start', run: 'old2', step: 'snapshot', index: 0, attempt: 1, detail: 'x' });
    other.append({ type: 'step.finish', run: 'old2', step: 'snapshot', index: 0, outcome: 'ok', exitCode: 0, durationMs: 5 });
    other.close();
    appendFileSync(j.file, line('new1', 'run.start', 1, { ts: at(12) }));
    appendFileSync(j.file, line('early', 'run.start', 1, { ts: at(8) })); // started before the others
    expect(readFileSync(j.indexFile)).toEqual(indexBytes); // still the old index
    for (const k of [j, indexed()]) {
      expect(names(k)).toEqual(['new1', 'old2', 'old1', 'early']);
      expect(names(k, 2)).toEqual(['new1', 'old2']);
      expect(k.summary('old2')!.steps[0]).toMatchObject({ status: 'ok', durationMs: 5 });
      expect(k.summary('old2')!.pendingRollbacks).toBe(1);
      expect(k.findRun('ear')).toBe('early');
      expect(() => k.findRun('old')).toThrow('"old" matches 2 runs (old2, old1)');
    }
    // the next event of a run indexed before goes on from its last seq
    expect(indexed().append({ type: 'note', run: 'old2', text: 'n' }).seq).toBe(4);
    j.close();
  });

  it('a run indexed before that starts again later moves to its new start time', () => {
    const j = indexed();
    start(j, 'a', { ts: at(9) });
    start(j, 'b', { ts: at(10) });
    start(j, 'c', { ts: at(11) });
    expect(names(j, 1)).toEqual(['c']);
    expect(existsSync(j.indexFile)).toBe(true);
    appendFileSync(j.file, line('a', 'run.start', 2, { ts: at(12), task: 'again' }));
    for (const k of [j, indexed()]) {
      expect(names(k, 1)).toEqual(['a']);
      expect(names(k, 2)).toEqual(['a', 'c']);
      expect(names(k)).toEqual(['a', 'c', 'b']);
      expect(k.summary('a')!.task).toBe('again');
    }
    j.close();
  });

  it('a torn last line is left out of the index until it is a whole line', () => {
    const j = indexed();
    failedRun(j, 'r1', at(9));
    j.close();
    appendFileSync(j.file, line('r2', 'run.start', 1, { ts: at(10) }).slice(0, 50));
    expect(names(j)).toEqual(['r1']);
    expect(j.warnings).toEqual([]);
    const k = indexed();
    start(k, 'r3', { ts: at(11) }); // ends the torn line, then its own
    expect(names(indexed())).toEqual(['r3', 'r1']);
    expect(names(j)).toEqual(['r3', 'r1']);
    expect(j.warnings).toEqual([`journal ${j.file}: line 11 skipped: not a whole JSON line (cut short, or edited)`]);
    k.close();
  });

  it('a journal replaced, truncated or edited in place is indexed again from the file', () => {
    const j = indexed();
    for (let i = 0; i < 3; i++) failedRun(j, `r${i}`, at(10 + i));
    j.close();
    expect(names(indexed())).toEqual(['r2', 'r1', 'r0']);
    const first = readFileSync(j.indexFile);

    // replaced: another file renamed over it (an editor's save), as long as the old one
    const text = readFileSync(j.file, 'utf8');
    writeFileSync(`${j.file}.new`, text.replaceAll('"r1"', '"x1"'));
    renameSync(`${j.file}.new`, j.file);
    expect(names(indexed())).toEqual(['r2', 'x1', 'r0']);
    expect(readFileSync(j.indexFile)).not.toEqual(first); // written again, for the new file
    expect(names(j)).toEqual(['r2', 'x1', 'r0']); // the index it kept in memory too

    // edited in place, same length: a line of r0 now names another run
    const fd = openSync(j.file, 'r+');
    const pos = readFileSync(j.file, 'utf8').indexOf('"type":"step.start","run":"r0"');
    expect(pos).toBeGreaterThan(0);
    writeSync(fd, '"type":"step.start","run":"z0"', pos);
    closeSync(fd);
    const edited = indexed();
    expect(names(edited).sort()).toEqual(['r0', 'r2', 'x1', 'z0']);
    expect(edited.events('z0').map((e) => e.type)).toEqual(['step.start']);

    // truncated to its first run (z0's line among them)
    const firstRun = readFileSync(j.file, 'utf8').split('\n').slice(0, 10).join('\n') + '\n';
    writeFileSync(j.file, firstRun);
    expect(names(indexed())).toEqual(['z0', 'r0']);
    expect(names(j)).toEqual(['z0', 'r0']);
  });

  it('a damaged or foreign index file is ignored and written again', () => {
    const j = indexed();
    failedRun(j, 'r1', at(9));
    start(j, 'r2', { ts: at(10) });
    j.runs();
    const good = readFileSync(j.indexFile);
    for (const junk of [Buffer.from('garbage'), good.subarray(0, good.length - 9), Buffer.alloc(good.length)]) {
      writeFileSync(j.indexFile, junk);
      expect(names(indexed())).toEqual(['r2', 'r1']);
      expect(readFileSync(j.indexFile)).toEqual(good);
    }
    // the index of another journal
    const otherDir = join(dir, 'other');
    const other = new Journal(otherDir, { env: {}, indexMinBytes: 0 });
    start(other, 'elsewhere');
    other.runs();
    other.close();
    writeFileSync(j.indexFile, readFileSync(other.indexFile));
    expect(names(indexed())).toEqual(['r2', 'r1']);
    j.close();
  });

  it('reads only the lines of the runs it lists: a damaged line of an older run is found once that run is read', () => {
    const j = indexed();
    // more than the 4 KiB it hashes at either end before and after the runs
    start(j, 'pad-head', { ts: at(1) });
    for (let i = 0; i < 3; i++) j.append({ type: 'note', run: 'pad-head', text: 'h'.repeat(1900) });
    for (let i = 0; i < 4; i++) failedRun(j, `r${i}`, at(10 + i));
    start(j, 'pad-tail', { ts: at(2) });
    for (let i = 0; i < 3; i++) j.append({ type: 'note', run: 'pad-tail', text: 't'.repeat(1900) });
    j.close();
    expect(names(indexed(), 1)).toEqual(['r3']);
    // damage r0's run.end in place (the same length, so the index still matches)
    const text = readFileSync(j.file, 'utf8');
    const pos = text.indexOf('"outcome":"failed","error":"step reindex failed"');
    const fd = openSync(j.file, 'r+');
    writeSync(fd, '"outcome":"fa!led"', pos);
    closeSync(fd);
    const k = indexed();
    expect(names(k, 2)).toEqual(['r3', 'r2']);
    expect(k.warnings).toEqual([]);
    // reading r0 finds it, and with it the index is built again from the file
    expect(k.summary('r0')!.outcome).toBe('unfinished');
    expect(k.warnings).toEqual([`journal ${k.file}: line 14 skipped: run.end: outcome is not a run outcome`]);
    expect(names(k)).toEqual(['r3', 'r2', 'r1', 'r0', 'pad-tail', 'pad-head']);
  });
});

// ---------------------------------------------------------------- writes that fail

describe('writes that fail (a full device: every write is ENOSPC)', () => {
  // /dev/full; as root a node of its own in the test's directory, so that no code under test can
  // change the real one's mode
  let full = '/dev/full';
  const haveFull = existsSync(full);
  beforeEach(() => {
    if (process.getuid?.() !== 0) return;
    full = join(dir, '..', 'full');
    execFileSync('mknod', [full, 'c', '1', '7']);
    chmodSync(full, 0o666);
  });

  it.skipIf(!haveFull)('the run log: no throw from its timer, write, flush or close; the failure is kept and told once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const errors: StateWriteError[] = [];
      const j = new Journal(dir, { env: {} });
      mkdirSync(join(dir, 'runs'), { recursive: true });
      symlinkSync(full, j.logPath('r1'));
      const log = j.openLog('r1', [], { onError: (e) => errors.push(e) });
      log.write('one', 'out');
      log.write('two\nthree', 'err');
      expect(() => vi.advanceTimersByTime(100)).not.toThrow(); // the timer's flush
      expect(log.failed).toBeInstanceOf(StateWriteError);
      expect(log.failed).toBeInstanceOf(UserError);
      expect(log.failed!.path).toBe(j.logPath('r1'));
      expect(log.failed!.message).toBe(`run log: cannot write ${j.logPath('r1')}: ENOSPC (no space left on device)`);
      expect(errors).toEqual([log.failed]);
      expect(log.dropped).toBe(3);
      expect(log.lines).toBe(0);
      for (let i = 0; i < 50_000; i++) log.write(`line ${i}`, 'out'); // past the 32 KiB chunk
      expect(() => log.flush()).not.toThrow();
      expect(log.dropped).toBe(50_003);
      expect(() => log.close()).not.toThrow();
      expect(() => log.write('after close', 'info')).not.toThrow();
      expect(errors).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it.skipIf(!haveFull)('the run log: a failure in the exit hook is not thrown either, nor an owner\'s handler that throws', () => {
    mkdirSync(join(dir, 'runs'), { recursive: true });
    const j = new Journal(dir, { env: {} });
    symlinkSync(full, j.logPath('r2'));
    const script = join(dir, '..', 'exit.mts');
    const module = pathToFileURL(join(import.meta.dirname, '../../src/journal.ts')).href;
    writeFileSync(
      script,
      `import { Journal } from ${JSON.stringify(module)};
const log = new Journal(${JSON.stringify(dir)}, { env: {} }).openLog('r2');
log.onError = (e) => { process.stdout.write('told: ' + e.message + '\\n'); throw new Error('an owner whose handler throws'); };
log.write('still buffered when the process exits', 'out');
`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`told: run log: cannot write ${j.logPath('r2')}: ENOSPC (no space left on device)\n`);
  });

  it.skipIf(!haveFull)('Journal.append throws a one-line StateWriteError naming the file; appending later starts a new line', () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    symlinkSync(full, join(dir, 'journal.jsonl'));
    const j = new Journal(dir, { env: {} });
    let err: unknown;
    try {
      start(j, 'r1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateWriteError);
    expect(err).toBeInstanceOf(UserError);
    expect((err as StateWriteError).path).toBe(j.file);
    expect((err as Error).message).toBe(`journal: cannot write ${j.file}: ENOSPC (no space left on device)`);
    expect(() => j.append({ type: 'note', run: 'r1', text: 'again' })).toThrow(StateWriteError);
    expect(statSync(full).mode & 0o777).toBe(0o666); // only regular files are made 0600
  });

  it('a state directory that cannot be created is a StateWriteError naming it', () => {
    writeFileSync(join(dir, '..', 'plain-file'), '');
    const j = new Journal(join(dir, '..', 'plain-file', 'state'), { env: {} });
    expect(() => start(j, 'r1')).toThrow(StateWriteError);
    expect(() => j.openLog('r1')).toThrow(/^run log: cannot create .*plain-file\/state\/runs: (ENOTDIR|EEXIST)/);
  });
});
