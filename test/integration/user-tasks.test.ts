// An operator's YAML task run for real through the TaskRunner: a command step creating a file
// whose name (a parameter) has spaces and a ";", a shell step reading parameters from OPS_PARAM_*,
// a failure, and the rollbacks undoing both; then SQL steps with bound :name parameters.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import { TaskRunner, type JournalSink, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';
import { loadUserTasksOrThrow } from '../../src/tasks/user-tasks';
import { createTestDatabase, type TestDatabase } from '../support/pg';

type Ev = Parameters<JournalSink['append']>[0];

function sinks() {
  const events: Ev[] = [];
  const lines: { line: string; stream: string }[] = [];
  const journal: JournalSink = { append: (e) => void events.push(structuredClone(e)) };
  const log: LogSink = { write: (line, stream) => void lines.push({ line, stream }), flush: () => undefined, close: () => undefined };
  return { events, lines, journal, log };
}

const localTarget: ResolvedTarget = { name: 'none', source: 'default', connection: {}, display: 'none', database: 'none', secrets: [] };

let root: string;
let tasksDir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ops-user-task-run-'));
  tasksDir = join(root, 'tasks');
  mkdirSync(tasksDir, { mode: 0o755 });
  chmodSync(tasksDir, 0o755);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function loadOne(name: string, yaml: string): TaskDef {
  const file = join(tasksDir, name);
  writeFileSync(file, yaml);
  chmodSync(file, 0o644);
  const tasks = loadUserTasksOrThrow(tasksDir, new Set(['backup']));
  rmSync(file);
  expect(tasks).toHaveLength(1);
  return tasks[0];
}

describe('a user task with command steps', () => {
  const yaml = `
id: make-note
title: Make a note file
risk: low
params:
  dir: { type: string }
  name: { type: string, pattern: '^[^/]+$' }
  text: { type: string, default: hello }
steps:
  - id: create
    title: Create the note
    run: [touch, '{{dir}}/{{name}}']
    rollback:
      run: [rm, '--', '{{dir}}/{{name}}']
  - id: copy
    title: Copy it through a shell
    shell: 'printf "%s" "$OPS_PARAM_TEXT" > "$OPS_PARAM_DIR/$OPS_PARAM_NAME.copy"'
    rollback:
      shell: 'rm -- "$OPS_PARAM_DIR/$OPS_PARAM_NAME.copy"'
  - id: fail
    title: Fail on purpose
    run: [sh, -c, 'echo "failing with $1"; exit 4', sh, '{{name}}']
    readOnly: true
`;

  it('runs with the parameter kept as one argv element, fails at step 3, and its rollbacks undo steps 2 and 1', async () => {
    const task = loadOne('note.yaml', yaml);
    const work = mkdtempSync(join(root, 'work-'));
    const name = 'my note; touch pwned $(id) *';
    const text = `it's "quoted"; $HOME`;
    const { events, lines, journal, log } = sinks();
    const r = new TaskRunner({ task, params: { dir: work, name, text }, runId: 'user-task', target: localTarget, config: DEFAULT_CONFIG, journal, log, graceMs: 400 });

    expect(r.plan()[0].detail).toBe(`touch '${work}/${name}'`);
    const state = await r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'failed']);
    expect(state.steps[2].exitCode).toBe(4);
    expect(lines).toContainEqual({ line: `failing with ${name}`, stream: 'out' });

    // exactly one file with the whole name; nothing the name "says" was run
    expect(existsSync(join(work, name))).toBe(true);
    expect(existsSync(join(work, 'pwned'))).toBe(false);
    expect(existsSync('pwned')).toBe(false);
    expect(readFileSync(join(work, `${name}.copy`), 'utf8')).toBe(text);

    const plan = r.rollbackPlan();
    expect(plan.map((p) => p.step)).toEqual(['copy', 'create']);
    expect(plan[1].detail).toBe(`rm -- '${work}/${name}'`);
    expect(await r.rollback(plan.map((p) => p.step))).toEqual([
      { step: 'copy', ok: true },
      { step: 'create', ok: true },
    ]);
    expect(existsSync(join(work, name))).toBe(false);
    expect(existsSync(join(work, `${name}.copy`))).toBe(false);
    r.end();
    expect(r.state.outcome).toBe('rolled back');
    expect(events.map((e) => [e.type, e.step ?? null])).toEqual([
      ['run.start', null],
      ['step.start', 'create'],
      ['step.finish', 'create'],
      ['step.start', 'copy'],
      ['step.finish', 'copy'],
      ['step.start', 'fail'],
      ['step.finish', 'fail'],
      ['rollback.start', 'copy'],
      ['rollback.finish', 'copy'],
      ['rollback.start', 'create'],
      ['rollback.finish', 'create'],
      ['run.end', null],
    ]);
  });
});

describe('a user task with SQL steps', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('user_task');
    const c = await db.client();
    await c.query('CREATE TABLE ops_log (service text, n int, note text)');
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

  it('binds :name parameters (a repeated one once), and its rollback deletes the row', async () => {
    const task = loadOne(
      'log.yaml',
      `
id: log-it
title: Log it
risk: medium
params:
  service: { type: string }
  n: { type: number, min: 0 }
  secret_note: { type: string, secret: true }
steps:
  - id: insert
    title: Insert a row
    sql: |
      INSERT INTO ops_log (service, n, note)
      VALUES (:service, :n, :service || '/' || :secret_note)
    rollback:
      sql: "DELETE FROM ops_log WHERE service = :service AND n = :n"
  - id: fail
    title: Fail
    sql: "SELECT 1/0"
    readOnly: true
`,
    );
    const target: ResolvedTarget = { name: 'test', source: 'flag', connection: db.connection, display: db.url, database: db.name, secrets: [] };
    const service = `x'); DROP TABLE ops_log; --`;
    const { events, journal, log } = sinks();
    const r = new TaskRunner({ task, params: { service, n: '7', secret_note: 'hunter2' }, runId: 'sql-task', target, config: DEFAULT_CONFIG, journal, log, connect });
    const state = await r.run();
    expect(state.outcome).toBe('failed');
    expect(state.steps[1].error).toMatch(/division by zero/);
    const c = await db.client();
    expect((await c.query('SELECT service, n, note FROM ops_log')).rows).toEqual([{ service, n: 7, note: `${service}/hunter2` }]);
    expect(JSON.stringify(events)).not.toContain('hunter2');

    expect(await r.rollback(['insert'])).toEqual([{ step: 'insert', ok: true }]);
    expect((await c.query('SELECT count(*)::int AS n FROM ops_log')).rows[0].n).toBe(0);
    r.end();
    expect(r.state.outcome).toBe('rolled back');
  });
});
