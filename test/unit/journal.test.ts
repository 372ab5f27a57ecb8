// The journal on real files in a temporary directory: round trips, folding into run summaries,
// damaged lines, redaction, file modes, run lookup, the run log and the history commands.
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/config/load';
import {
  Journal,
  MAX_LINE,
  MAX_STRING,
  formatOperator,
  operatorIdentity,
  parseLine,
  stateDir,
  type Operator,
  type StepPlan,
} from '../../src/journal';
import { historyCommand, showCommand } from '../../src/cli/history';

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
    expect(parseLine('{"v":1,"ts":"x","seq":1,"run":"a","type":"no{"v":1,"ts":"y","seq":2,"run":"a","type":"note","text":"t"}')).toMatchObject({
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
