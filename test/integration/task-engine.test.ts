// The task engine with real child processes and real PostgreSQL: failure and rollback in
// reverse order, cancel reaching the whole process group, values passed forward, SQL notices,
// and the set-setting task applied and rolled back.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as z from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { StepDef, TaskDef } from '../../src/tasks/model';
import { setSetting } from '../../tasks/set-setting';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

type Ev = Parameters<JournalSink['append']>[0];

function sinks() {
  const events: Ev[] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  return { events, lines, journal, log };
}

const localTarget: ResolvedTarget = { name: 'none', source: 'default', connection: {}, display: 'none', database: 'none', secrets: [] };

function runner(task: TaskDef, params: unknown = {}, extra: Partial<ConstructorParameters<typeof TaskRunner>[0]> = {}) {
  const s = sinks();
  const r = new TaskRunner({ task, params, runId: 'test-run', target: localTarget, config: DEFAULT_CONFIG, journal: s.journal, log: s.log, graceMs: 400, ...extra });
  return { r, ...s };
}

const noParams = z.object({}).strict() as unknown as TaskDef['params'];

describe('a task that fails at step 3 of 4', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-task-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fileStep = (n: number): StepDef => ({
    id: `s${n}`,
    title: `make marker ${n}`,
    action: () => ({ kind: 'command', argv: ['touch', join(dir, `m${n}`)] }),
    rollback: () => ({ kind: 'command', argv: ['rm', join(dir, `m${n}`)] }),
  });
  const task: TaskDef = {
    id: 'four-steps',
    title: 'Four steps',
    description: '',
    risk: 'medium',
    params: noParams,
    steps: [
      fileStep(1),
      fileStep(2),
      { id: 's3', title: 'fail', action: () => ({ kind: 'command', argv: ['sh', '-c', 'echo about to fail; echo oops >&2; exit 3'] }) , rollback: () => ({ kind: 'command', argv: ['true'] }) },
      fileStep(4),
    ],
  };

  it('offers the rollbacks of steps 2 and 1, in that order; "all" runs both; the journal has every event', async () => {
    const { r, events, lines } = runner(task);
    const state = await r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'failed', 'pending']);
    expect(state.steps[2]).toMatchObject({ exitCode: 3 });
    expect(existsSync(join(dir, 'm1')) && existsSync(join(dir, 'm2'))).toBe(true);
    expect(existsSync(join(dir, 'm4'))).toBe(false);
    expect(lines).toContainEqual({ line: 'about to fail', stream: 'out' });
    expect(lines).toContainEqual({ line: 'oops', stream: 'err' });

    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['s2', 's1']);
    expect(plan[0].detail).toBe(`rm ${join(dir, 'm2')}`);

    const results = await r.rollback(plan.map((p) => p.step));
    expect(results).toEqual([{ step: 's2', ok: true }, { step: 's1', ok: true }]);
    expect(existsSync(join(dir, 'm1')) || existsSync(join(dir, 'm2'))).toBe(false);
    r.end();
    expect(r.state.outcome).toBe('rolled back');

    expect(events.map((e) => [e.type, e.step ?? null, e.outcome ?? null])).toEqual([
      ['run.start', null, null],
      ['step.start', 's1', null],
      ['step.finish', 's1', 'ok'],
      ['step.start', 's2', null],
      ['step.finish', 's2', 'ok'],
      ['step.start', 's3', null],
      ['step.finish', 's3', 'failed'],
      ['rollback.start', 's2', null],
      ['rollback.finish', 's2', 'ok'],
      ['rollback.start', 's1', null],
      ['rollback.finish', 's1', 'ok'],
      ['run.end', null, 'rolled back'],
    ]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[6]).toMatchObject({ exitCode: 3 });
  });

  it('choosing only some rollbacks leaves the rest pending, and the run stays "failed"', async () => {
    const { r } = runner(task);
    await r.run();
    await r.rollback(['s2']);
    expect(r.rollbackPlan().map((p) => p.step)).toEqual(['s1']);
    r.end();
    expect(r.state.outcome).toBe('failed');
    rmSync(join(dir, 'm1'), { force: true });
  });
});

/** any process of the group still running (not a zombie), read from /proc */
function groupAlive(pgid: number): boolean {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

describe('cancel mid-step', () => {
  const sleeper = (script: string): TaskDef => ({
    id: 'sleeper',
    title: 'Sleeps',
    description: '',
    risk: 'low',
    params: noParams,
    steps: [{ id: 'sleep', title: 'sleep', action: () => ({ kind: 'command', argv: ['sh', '-c', script] }) }],
  });

  for (const [name, script, within] of [
    // a non-interactive shell's background jobs ignore SIGINT: SIGTERM, one grace period later, ends them
    ['children that ignore SIGINT', 'sleep 300 & sleep 300 & echo started; wait', 2 * 400],
    // nothing but SIGKILL, two grace periods later, ends these
    ['a group that ignores SIGINT and SIGTERM', "trap '' INT TERM; sleep 300 & echo started; wait; wait", 3 * 400],
  ] as const) {
    it(`${name}: the whole process group is gone within the grace period`, async () => {
      const { r, events } = runner(sleeper(script));
      const done = r.run();
      await waitFor(() => r.state.output.lines().includes('started'), { timeoutMs: 5000 });
      const pgid = Number(execFileSync('sh', ['-c', `pgrep -f ${JSON.stringify(script.slice(0, 12))} -o`], { encoding: 'utf8' }).trim());
      expect(groupAlive(pgid)).toBe(true);
      const t0 = Date.now();
      r.cancel();
      const state = await done;
      expect(state.outcome).toBe('cancelled');
      expect(state.steps[0].status).toBe('cancelled');
      await waitFor(() => !groupAlive(pgid), { timeoutMs: within + 2000 });
      // the escalation's grace periods plus scheduling slack
      expect(Date.now() - t0).toBeLessThan(within + 700);
      r.end();
      expect(events.at(-1)).toMatchObject({ type: 'run.end', outcome: 'cancelled' });
    });
  }
});

describe('steps with PostgreSQL', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('task');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const connect = async () => {
    const c = new pg.Client({ ...db.connection, application_name: 'ops-console/task' });
    await c.connect();
    clients.push(c);
    return c;
  };
  const target = (): ResolvedTarget => ({ name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] });

  it('passes values forward, binds parameters and streams notices (VACUUM VERBOSE)', async () => {
    const c = await db.client();
    await c.query('CREATE TABLE "odd name" (id int); INSERT INTO "odd name" SELECT generate_series(1, 100)');
    const task: TaskDef = {
      id: 'vac',
      title: 'vacuum',
      description: '',
      risk: 'low',
      params: z.object({ table: z.string() }).strict() as unknown as TaskDef['params'],
      steps: [
        {
          id: 'count',
          title: 'count',
          action: (ctx) => ({ kind: 'sql', text: 'SELECT count(*)::int AS n FROM pg_class WHERE relname = $1', values: [ctx.params.table] }),
          capture: (res) => ({ found: res.rows[0].n }),
        },
        {
          id: 'vacuum',
          title: 'vacuum',
          action: (ctx) => {
            if (ctx.values.found !== 1) throw new Error('table not found');
            return { kind: 'sql', text: `VACUUM (VERBOSE) "${String(ctx.params.table).replace(/"/g, '""')}"` };
          },
        },
      ],
    };
    const { r, lines, events } = runner(task, { table: 'odd name' }, { connect, target: target() });
    const state = await r.run();
    expect(state.outcome).toBe('succeeded');
    expect(events.find((e) => e.type === 'step.finish' && e.step === 'count')).toMatchObject({ values: { found: 1 } });
    expect(lines.some((l) => l.stream === 'notice' && /vacuuming .*odd name/i.test(l.line))).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'run.end', outcome: 'succeeded' });
  });

  it('a long statement is cancelled on the server', async () => {
    const task: TaskDef = {
      id: 'slow',
      title: 'slow',
      description: '',
      risk: 'low',
      params: noParams,
      steps: [{ id: 'sleep', title: 'sleep', action: () => ({ kind: 'sql', text: 'SELECT pg_sleep(300)' }) }],
    };
    const { r } = runner(task, {}, { connect, target: target() });
    const done = r.run();
    const admin = await db.client();
    await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)' AND state = 'active'")).rowCount === 1, { timeoutMs: 5000 });
    r.cancel();
    const state = await done;
    expect(state.outcome).toBe('cancelled');
    expect((await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)' AND state = 'active'")).rowCount).toBe(0);
    r.end();
  });

  it('set-setting: applied, then rolled back, and the value is verifiably restored', async () => {
    const admin = await db.client();
    const show = async () => {
      const c = await connect(); // a new session sees the reloaded configuration
      return String((await c.query("SELECT setting FROM pg_settings WHERE name = 'log_min_duration_statement'")).rows[0].setting);
    };
    const auto = async () =>
      (await admin.query("SELECT setting FROM pg_file_settings WHERE name = 'log_min_duration_statement' AND sourcefile LIKE '%postgresql.auto.conf'")).rows;
    const before = await show();
    const autoBefore = await auto();
    const newValue = before === '4321' ? '4322' : '4321';

    const { r, events } = runner(setSetting, { name: 'log_min_duration_statement', value: newValue }, { connect, target: target() });
    expect(r.plan()[1].detail).toBe(`ALTER SYSTEM SET "log_min_duration_statement" = '${newValue}'; SELECT pg_reload_conf()`);
    const state = await r.run();
    expect(state.outcome).toBe('succeeded');
    await waitFor(async () => (await show()) === newValue, { timeoutMs: 5000 });
    expect(events.find((e) => e.type === 'step.finish' && e.step === 'read')).toMatchObject({ values: { previous: before } });

    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['alter']);
    const results = await r.rollback(['alter']);
    expect(results).toEqual([{ step: 'alter', ok: true }]);
    await waitFor(async () => (await show()) === before, { timeoutMs: 5000 });
    expect(await auto()).toEqual(autoBefore);
  });

  it('set-setting refuses an unknown setting, and a bad name never reaches SQL', async () => {
    const { r } = runner(setSetting, { name: 'no_such_setting_xyz', value: '1' }, { connect, target: target() });
    const state = await r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps[0].error).toBe('no such setting: no_such_setting_xyz');
    expect(() => runner(setSetting, { name: 'work_mem; DROP TABLE x', value: '1' })).toThrow(/--param name: a setting name/);
  });
});

describe('parameters', () => {
  it('are validated with the parameter named, in one line', () => {
    expect(() => runner(setSetting, { name: 'work_mem' })).toThrow(/^set-setting: --param value: /);
    expect(() => runner(setSetting, { name: 'work_mem', value: '1', extra: 1 })).toThrow(/set-setting: parameters: .*extra/);
  });
  it('quote literals and identifiers for SQL', async () => {
    const { quoteIdent, quoteLiteral } = await import('../../src/tasks/model');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
  });
});


describe('a hang-up mid-run (interrupt)', () => {
  it('lets the running step finish, records it, and stops before the next step', async () => {
    const task: TaskDef = {
      id: 'two',
      title: 'Two steps',
      description: '',
      risk: 'low',
      params: noParams,
      steps: [
        { id: 'slow', title: 'slow', action: () => ({ kind: 'command', argv: ['sh', '-c', 'echo started; sleep 0.5; echo finished'] }), rollback: () => ({ kind: 'command', argv: ['true'] }) },
        { id: 'next', title: 'next', action: () => ({ kind: 'command', argv: ['true'] }) },
      ],
    };
    const { r, events, lines } = runner(task);
    const done = r.run();
    await waitFor(() => r.state.output.lines().includes('started'), { timeoutMs: 5000 });
    r.interrupt('terminal hung up (SIGHUP)');
    const state = await done;
    expect(state.outcome).toBe('interrupted');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'pending']);
    expect(lines).toContainEqual({ line: 'finished', stream: 'out' });
    r.end('interrupted');
    expect(events.map((e) => e.type)).toEqual(['run.start', 'step.start', 'note', 'step.finish', 'run.end']);
    expect(events.at(-1)).toMatchObject({ outcome: 'interrupted' });
    // what ran can still be undone later
    expect(r.rollbackPlan().map((p) => p.step)).toEqual(['slow']);
  });
});

describe('streamed output', () => {
  it('keeps multi-byte characters whole across chunk boundaries, and loses no line', async () => {
    const task: TaskDef = {
      id: 'utf8',
      title: 'utf8',
      description: '',
      risk: 'low',
      params: noParams,
      steps: [{ id: 'print', title: 'print', action: () => ({ kind: 'command', argv: [process.execPath, '-e', "let s = ''; for (let i = 0; i < 20000; i++) s += 'é'.repeat(7) + ' ' + i + '\\n'; process.stdout.write(s)"] }) }],
    };
    const { r, lines } = runner(task);
    const state = await r.run();
    expect(state.outcome).toBe('succeeded');
    const out = lines.filter((l) => l.stream === 'out').map((l) => l.line);
    expect(out).toHaveLength(20000);
    expect(out.every((l, i) => l === `${'é'.repeat(7)} ${i}`)).toBe(true);
  });
});
