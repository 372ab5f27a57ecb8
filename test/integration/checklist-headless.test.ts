// `ops checklist run NAME --yes` and `ops report` as cron and an operator run them: the built
// `ops`, a real database, real backup files, a private state and config directory each.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumText } from '../../src/backups';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

type Ev = Record<string, unknown> & { type: string; run: string };

function journal(state: string): Ev[] {
  const file = join(state, 'checklists.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
}

/** Thresholds that a busy CI host does not trip: only what a test plants makes a check fail. */
const CALM = {
  cpuPct: { warning: 1000, critical: 1000 },
  memPct: { warning: 1000, critical: 1000 },
  diskPct: { warning: 1000, critical: 1000 },
  cacheHitPct: { warning: 0, critical: 0 },
  longQuerySec: { warning: 3600, critical: 7200 },
  idleInTransactionSec: { warning: 3600, critical: 7200 },
  blockedSec: { warning: 3600, critical: 7200 },
};

function writeChecklist(confDir: string, name: string, yaml: string): void {
  const dir = join(confDir, 'checklists');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, `${name}.yaml`), yaml, { mode: 0o600 });
}

/** a complete backup's .sha256, sealed as ops backup writes it (a dump without one does not count) */
function seal(file: string): void {
  const st = statSync(file, { bigint: true });
  writeFileSync(`${file}.sha256`, checksumText(createHash('sha256').update(readFileSync(file)).digest('hex'), file, { size: st.size, mtimeNs: st.mtimeNs }));
}

describe('ops checklist run, headless', () => {
  let db: TestDatabase;
  let backups: string;
  const cleanups: (() => void)[] = [];

  /** A fresh state dir and config (with the backup dir and calm thresholds) per test. */
  function setup(extra: Record<string, unknown> = {}, thresholds: Record<string, unknown> = {}) {
    const state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    const conf = tempConfigDir({ backup: { dir: backups, glob: '*.dump' }, thresholds: { ...CALM, ...thresholds }, ...extra });
    chmodSync(conf.dir, 0o700);
    cleanups.push(() => rmSync(state, { recursive: true, force: true }), conf.cleanup);
    return { state, conf, env: cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url }) };
  }

  let own: Cluster;
  // the daily checklist judges the whole cluster (its settings, every session, slots): a cluster
  // of its own, so another database's sessions or the shared server's settings cannot decide it
  beforeAll(async () => {
    own = await startCluster({ prefix: 'ops-checklist-' });
    db = await createTestDatabase('checklist', { host: own.host, port: own.port, user: own.user, password: own.password, database: 'postgres' });
    const c = await db.client();
    await c.query('CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 200) g');
    backups = mkdtempSync(join(tmpdir(), 'ops-backups-'));
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups) c();
    await db?.drop();
    own?.stop();
    rmSync(backups, { recursive: true, force: true });
  });

  function freshBackup(): void {
    writeFileSync(join(backups, 'fresh.dump'), 'x');
    seal(join(backups, 'fresh.dump'));
  }

  it('daily: exit 0 on a healthy database, every step passed, and a report with before and after', async () => {
    freshBackup();
    const { env, state } = setup();
    const r = await runOps(['checklist', 'run', 'daily', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\[PASS\] database-up: /m);
    expect(r.stdout).toMatch(/^\[PASS\] backup-fresh: /m);
    expect(r.stdout).toMatch(/completed: every check passed/);
    expect(r.code).toBe(0);
    const events = journal(state);
    const steps = events.filter((e) => e.type === 'cl.step');
    expect(steps.map((e) => e.outcome)).toEqual(Array(8).fill('passed'));
    expect(events.filter((e) => e.type === 'cl.snapshot').map((e) => e.which)).toEqual(['start', 'end']);
    expect(events.at(-1)).toMatchObject({ type: 'cl.end', outcome: 'completed' });
    const run = events[0].run;
    const report = readFileSync(join(state, 'reports', `${run}.md`), 'utf8');
    expect(report).toContain('| 8 | Buffer cache hit ratio is healthy | check | passed |');
    expect(report).toMatch(/\| newest backup age \| \d+\.\d h \| \d+\.\d h \|/);
    expect(report).toMatch(/## Open problems\n\nNone\./);
    // ops report prints the same report
    const printed = await runOps(['report', run.slice(0, 22)], { env });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(report);
  });

  it('--json: one result on standard output (the walkthrough, its steps, its task runs), the lines on standard error', async () => {
    freshBackup();
    const { env } = setup();
    const r = await runOps(['checklist', 'run', 'daily', '--yes', '--json'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ checklist: 'daily', outcome: 'completed', changed: false, exitCode: 0, taskRuns: [], rollbacksLeft: [] });
    expect(res.walkthrough).toMatch(/-cl-daily-/);
    expect(res.steps).toHaveLength(8);
    expect(res.steps.every((s: { status: string }) => s.status === 'passed')).toBe(true);
    expect(r.stderr).toMatch(/^\[PASS\] database-up: /m);
    // a refusal before it starts has its result too
    const bad = await runOps(['checklist', 'run', 'no-such-list', '--yes', '--json'], { env });
    expect(bad.code).not.toBe(0);
    expect(JSON.parse(bad.stdout)).toMatchObject({ walkthrough: null, checklist: 'no-such-list', outcome: 'not started', error: expect.stringMatching(/no-such-list/) });
  });

  it('daily: non-zero on an unhealthy database (a session idle in a transaction too long), naming the step', async () => {
    freshBackup();
    const { env } = setup({}, { idleInTransactionSec: { warning: 1, critical: 2 } });
    const holder = await db.client();
    await holder.query('BEGIN; SELECT 1');
    try {
      const c = await db.client();
      await waitFor(async () => {
        const { rows } = await c.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction' AND now() - xact_start > interval '2.5 seconds'",
          [(holder as unknown as { processID: number }).processID],
        );
        return rows[0].n === 1;
      }, { timeoutMs: 15_000 });
      const r = await runOps(['checklist', 'run', 'daily', '--yes'], { env, timeoutMs: 60_000 });
      expect(r.stdout).toMatch(/^\[FAIL\] idle-in-transaction: .*idle in transaction CRITICAL/m);
      expect(r.stdout).toMatch(/1 check did not pass \(idle-in-transaction\)|checks did not pass \(.*idle-in-transaction/);
      expect(r.code).toBe(1);
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('daily: non-zero when the database is down, and the journal still records every step', async () => {
    const { state } = setup();
    const env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: setup().conf.dir, DATABASE_URL: 'postgresql://127.0.0.1:1/nothing' });
    const r = await runOps(['checklist', 'run', 'daily', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[FAIL\] database-up: The database answers — PostgreSQL does not answer$/m);
    expect(journal(state).filter((e) => e.type === 'cl.step')).toHaveLength(8);
  });

  it('refuses without --yes, and names a bad --confirm before anything is journaled', async () => {
    const { env, state } = setup();
    const r = await runOps(['checklist', 'run', 'daily'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: checklist run daily: .* needs --yes/);
    const bad = await runOps(['checklist', 'run', 'daily', '--yes', '--confirm', 'nope'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--confirm nope: checklist daily has no step "nope"/);
    const unknown = await runOps(['checklist', 'run', 'no-such', '--yes'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown checklist "no-such" \(checklists: .*daily/);
    expect(journal(state)).toEqual([]);
  });

  it('a manual step stops the run with the list of manual steps; pre-confirmed, a resume completes it', async () => {
    const { env, state, conf } = setup();
    writeChecklist(
      conf.dir,
      'manual',
      `id: manual
title: With manual steps
steps:
  - { id: up, kind: check, title: Database answers, condition: { metric: pg.up, atLeast: 1 } }
  - { id: ticket, kind: input, title: Change ticket, pattern: '^CHG-[0-9]+$', example: CHG-1 }
  - { id: told, kind: confirm, title: Team told, required: true }
  - { id: after, kind: check, title: Still answers, condition: { metric: pg.up, atLeast: 1 } }
`,
    );
    const r = await runOps(['checklist', 'run', 'manual', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^\[PASS\] up: /m);
    expect(r.stdout).toContain('stopped at step 2, "Change ticket": it needs a person');
    expect(r.stdout).toMatch(/^ {2}ticket +--input ticket=VALUE \(e\.g\. CHG-1\) +Change ticket$/m);
    expect(r.stdout).toMatch(/^ {2}told +--confirm told +Team told$/m);
    expect(r.stdout).not.toMatch(/\[PASS\] after/);
    const run = journal(state)[0].run;
    expect(journal(state).some((e) => e.type === 'cl.end')).toBe(false);

    // the listing names it as unfinished
    const list = await runOps(['checklist'], { env });
    expect(list.stdout).toContain(`${run}  manual`);

    // a value that does not match the pattern is refused before anything runs
    const bad = await runOps(['checklist', 'resume', run, '--yes', '--input', 'ticket=nope', '--confirm', 'told'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"nope" does not match \^CHG-\[0-9\]\+\$/);

    const done = await runOps(['checklist', 'resume', run, '--yes', '--input', 'ticket=CHG-42', '--confirm', 'told'], { env, timeoutMs: 60_000 });
    expect(done.stdout).toMatch(/^\[ENTERED\] ticket: Change ticket — CHG-42$/m);
    expect(done.stdout).toMatch(/^\[CONFIRMED\] told: /m);
    expect(done.code).toBe(0);
    const steps = journal(state).filter((e) => e.type === 'cl.step');
    // the first check is not repeated on resume
    expect(steps.map((e) => `${e.step}:${e.outcome}`)).toEqual(['up:passed', 'ticket:entered', 'told:confirmed', 'after:passed']);
    expect(journal(state).filter((e) => e.type === 'cl.resume')).toHaveLength(1);
  });

  it("the report's timeline holds what was done on the target while the walkthrough was open", async () => {
    const { env, state, conf } = setup();
    writeChecklist(
      conf.dir,
      'opened',
      `id: opened
title: Left open
steps:
  - { id: told, kind: confirm, title: Team told }
`,
    );
    const r = await runOps(['checklist', 'run', 'opened', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    const run = String(journal(state).find((e) => e.type === 'cl.start')!.run);
    // a task run outside the checklist's steps, on the same target, while it is open
    const a = await runOps(['run', 'analyze', '--yes'], { env, timeoutMs: 60_000 });
    expect(a.code).toBe(0);
    const rep = await runOps(['report', run], { env, timeoutMs: 30_000 });
    expect(rep.code).toBe(0);
    expect(rep.stdout).toContain('## Actions during the walkthrough');
    expect(rep.stdout).toMatch(/\| ran analyze \(run \S+-analyze-\S+\): succeeded; /);
    expect(rep.stdout).not.toContain('No task ran.');
  });

  it('a failing block gate stops the walkthrough: exit 2, later steps never run', async () => {
    const { env, state, conf } = setup();
    writeChecklist(
      conf.dir,
      'blocker',
      `id: blocker
title: Blocks
steps:
  - { id: quiet, kind: gate, title: No sessions at all, condition: { metric: pg.connections, below: 0 }, onFail: block }
  - { id: later, kind: confirm, title: Never reached }
`,
    );
    const r = await runOps(['checklist', 'run', 'blocker', '--yes', '--confirm', 'later'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^\[BLOCKED\] quiet: /m);
    // listed up front: the block gate no flag answers
    expect(r.stdout).toMatch(/Needs a person[^\n]*\n(.*\n)*\s+quiet\s+\(no flag\)\s+No sessions at all \(block gate: must hold\)/);
    expect(r.stdout).toMatch(/checklist blocker stopped: gate "No sessions at all" failed: .*a block gate: resume once it holds: ops checklist resume \S+ --yes\); the walkthrough stays open/);
    const steps = journal(state).filter((e) => e.type === 'cl.step');
    expect(steps.map((e) => `${e.step}:${e.outcome}`)).toEqual(['quiet:blocked']);
    // the walkthrough is left open: no cl.end, and a resume starts at the gate again
    expect(journal(state).some((e) => e.type === 'cl.end')).toBe(false);
    const run = String(journal(state).find((e) => e.type === 'cl.start')!.run);
    const again = await runOps(['checklist', 'resume', run, '--yes', '--confirm', 'later'], { env, timeoutMs: 60_000 });
    expect(again.stdout).toContain(`resuming walkthrough ${run} at step 1`);
    expect(again.code).toBe(2);
  });

  it('outside the maintenance window the warn gate stops a headless run; --confirm records the override', async () => {
    const now = new Date();
    const hh = (h: number) => `${String((now.getUTCHours() + h) % 24).padStart(2, '0')}:00`;
    // a window that opens two hours from now and shuts an hour later: now is outside it
    const { env, state, conf } = setup({ maintenanceWindow: { start: hh(2), end: hh(3), timezone: 'UTC' } });
    writeChecklist(
      conf.dir,
      'windowed',
      `id: windowed
title: Window only
steps:
  - { id: window, kind: gate, title: Inside the window, condition: { inWindow: true }, onFail: warn }
  - { id: up, kind: check, title: Database answers, condition: { metric: pg.up, atLeast: 1 } }
`,
    );
    const stopped = await runOps(['checklist', 'run', 'windowed', '--yes'], { env, timeoutMs: 60_000 });
    expect(stopped.code).toBe(2);
    expect(stopped.stdout).toMatch(/^\s+window\s+--confirm window\s+Inside the window \(warn gate/m);
    expect(stopped.stdout).toMatch(/gate "Inside the window" failed: outside the window .*--confirm window goes on anyway/);
    // the resume it suggests is accepted: the same walkthrough goes on past the gate
    const suggested = /ops checklist resume (\S+) --yes --confirm window/.exec(stopped.stdout)!;
    expect(suggested).not.toBeNull();
    const ok = await runOps(['checklist', 'resume', suggested[1], '--yes', '--confirm', 'window'], { env, timeoutMs: 60_000 });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^\[OVERRIDDEN\] window: Inside the window — outside the window/m);
    const last = journal(state).filter((e) => e.type === 'cl.step' && e.step === 'window').at(-1)!;
    expect(last).toMatchObject({ outcome: 'overridden', note: 'pre-confirmed with --confirm' });
    expect((last.by as string).length).toBeGreaterThan(0);
  });

  it('an old backup fails the backup-age check, so `when` runs the backup task; a fresh one skips it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-oldbackup-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const old = join(dir, 'old.dump');
    writeFileSync(old, 'old');
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    utimesSync(old, threeDaysAgo, threeDaysAgo);
    seal(old);
    const { env, state, conf } = setup({ backup: { dir, glob: '*.dump' } });
    writeChecklist(
      conf.dir,
      'backup-first',
      `id: backup-first
title: Backup first
steps:
  - { id: backup-fresh, kind: check, title: Newest backup under 24 h, condition: { metric: backup.age_hours, below: 24 } }
  - { id: take-backup, kind: task, title: Take a backup, task: backup, when: { failed: backup-fresh } }
  - { id: fresh-now, kind: check, title: Now there is a fresh backup, condition: { metric: backup.age_hours, below: 24 } }
`,
    );
    const r = await runOps(['checklist', 'run', 'backup-first', '--yes'], { env, timeoutMs: 120_000 });
    expect(r.stdout).toMatch(/^\[FAIL\] backup-fresh: .*newest backup age 3\.0 d: not below 24\.0 h/m);
    expect(r.stdout).toMatch(/^\[DONE\] take-backup: /m);
    expect(r.stdout).toMatch(/^\[PASS\] fresh-now: /m);
    expect(r.code).toBe(1); // the first check did fail
    const dumps = readdirSync(dir).filter((f) => f.endsWith('.dump') && f !== 'old.dump');
    expect(dumps).toHaveLength(1);
    const task = journal(state).find((e) => e.type === 'cl.step' && e.step === 'take-backup' && e.outcome === 'done')!;
    expect(task.taskRun).toMatch(/-backup-/);
    // the task run is in the task journal, succeeded
    const history = JSON.parse((await runOps(['history', '--json'], { env })).stdout) as { run: string; outcome: string }[];
    expect(history.find((h) => h.run === task.taskRun)?.outcome).toBe('succeeded');
    // and the report lists it with its outcome
    const report = (await runOps(['report', journal(state)[0].run], { env })).stdout;
    expect(report).toMatch(new RegExp(`\\| Take a backup \\| ${task.taskRun} \\(backup\\) \\| succeeded \\|`));

    // with that fresh dump in place, a second walkthrough does not run the task
    const again = await runOps(['checklist', 'run', 'backup-first', '--yes'], { env, timeoutMs: 60_000 });
    expect(again.stdout).toMatch(/^\[N\/A\] take-backup: Take a backup — "backup-fresh" passed$/m);
    expect(again.code).toBe(0);
  });

  it('a task step reads its plan first: a value the server refuses stops the step before anything runs', async () => {
    const { env, state, conf } = setup();
    writeChecklist(
      conf.dir,
      'bad-setting',
      `id: bad-setting
title: Bad setting
steps:
  - { id: set-mem, kind: task, title: Raise work_mem, task: set-setting, params: { name: work_mem, value: lots } }
  - { id: after, kind: confirm, title: Never reached }
`,
    );
    const r = await runOps(['checklist', 'run', 'bad-setting', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/^\[REFUSED\] set-mem: set-setting: .*work_mem.*lots/m);
    expect(r.stdout).not.toMatch(/\[RUNNING\] set-mem/);
    expect(r.code).not.toBe(0);
    // no task run was started, so there is nothing to roll back
    const history = JSON.parse((await runOps(['history', '--json'], { env })).stdout) as unknown[];
    expect(history).toEqual([]);
    const step = journal(state).find((e) => e.type === 'cl.step' && e.step === 'set-mem')!;
    expect(JSON.stringify(step)).toMatch(/lots/);
  });

  it('a malformed checklist file is named with its line, and is not half-loaded', async () => {
    const { env, conf } = setup();
    writeChecklist(
      conf.dir,
      'broken',
      `id: broken
title: Broken
steps:
  - { id: a, kind: confirm, title: Fine }
  - { id: b, kind: check, title: Bad metric, condition: { metric: no.such, below: 1 } }
`,
    );
    const list = await runOps(['checklist'], { env });
    expect(list.stdout).toMatch(/^warning: .*broken\.yaml:5: steps\[1\]\.condition/m);
    expect(list.stdout).not.toMatch(/^broken /m);
    const r = await runOps(['checklist', 'run', 'broken', '--yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:5: steps\[1\]\.condition/);
  });
});
