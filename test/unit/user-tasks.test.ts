// Operators' YAML tasks: how a file maps to a TaskDef, and how every kind of mistake is reported
// (one line naming the file, the line and the key path), with the file then loading nothing.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/config/load';
import { parseParams } from '../../src/tasks/engine';
import type { Action, RunContext, TaskDef } from '../../src/tasks/model';
import { loadUserTasks, loadUserTasksOrThrow, userTaskSource, userTasksDir } from '../../src/tasks/user-tasks';

const BUILTINS = new Set(['backup', 'analyze', 'set-setting']);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-user-tasks-'));
  chmodSync(dir, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(name: string, text: string, mode = 0o644): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

const load = () => loadUserTasks(dir, BUILTINS);

/** the single error of a directory holding one bad file */
function errorOf(text: string, name = 'task.yaml'): string {
  const file = put(name, text);
  const r = load();
  expect(r.tasks).toEqual([]);
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0]).not.toContain('\n');
  expect(r.errors[0].startsWith(`${file}:`)).toBe(true);
  return r.errors[0].slice(file.length);
}

function act(task: TaskDef, step: number, raw: Record<string, unknown>, rollback = false): Action {
  const params = parseParams(task, raw);
  const ctx = { params, values: {} } as unknown as RunContext;
  const s = task.steps[step];
  return rollback ? s.rollback!(ctx) : s.action(ctx);
}

const VALID = `# restarts the app
id: restart-app
title: Restart the app service
description: Stops and starts it, and notes it in ops_log.
risk: medium
params:
  service: { type: string, pattern: '^[a-z0-9@._; -]+$', default: app }
  seconds: { type: number, min: 1, max: 3600 }
  token: { type: string, secret: true, default: s3cret }
  dry: { type: boolean, default: false }
steps:
  - id: stop
    title: Stop the service
    run: [systemctl, stop, '{{service}}', '--after={{ seconds }}s', 0755]
    timeout: 60
    rollback:
      run: [systemctl, start, '{{service}}']
  - id: note
    title: Record it
    sql: |
      INSERT INTO ops_log(service, at, pause, note) -- :not_a_placeholder
      VALUES (:service, now()::timestamptz, :seconds, ':service' || "a:b" || $q$:service$q$ || :service)
    irreversible: true
  - id: tail
    title: Something needing a pipe
    shell: "journalctl -u app | tail -n 20"
    readOnly: true
`;

describe('a valid task file', () => {
  it('maps to the expected TaskDef', () => {
    const file = put('restart.yaml', VALID);
    const { tasks, errors } = load();
    expect(errors).toEqual([]);
    expect(tasks).toHaveLength(1);
    const t = tasks[0];
    expect(t).toMatchObject({
      id: 'restart-app',
      title: 'Restart the app service',
      description: 'Stops and starts it, and notes it in ops_log.',
      risk: 'medium',
      secretParams: ['token'],
    });
    expect(userTaskSource(t)).toBe(file);
    expect(t.steps.map((s) => [s.id, s.title, !!s.rollback, !!s.irreversible, s.timeoutMs])).toEqual([
      ['stop', 'Stop the service', true, false, 60_000],
      ['note', 'Record it', false, true, undefined],
      ['tail', 'Something needing a pipe', false, false, undefined],
    ]);
  });

  it('puts a parameter into its one argv element as text, even with spaces and ";"', () => {
    put('restart.yaml', VALID);
    const [t] = load().tasks;
    expect(act(t, 0, { service: 'my app; rm -rf x', seconds: '30' })).toEqual({
      kind: 'command',
      argv: ['systemctl', 'stop', 'my app; rm -rf x', '--after=30s', '0755'],
    });
    expect(act(t, 0, { seconds: 5 }, true)).toEqual({ kind: 'command', argv: ['systemctl', 'start', 'app'] });
  });

  it('turns :name into bound $n parameters, a repeated name reusing its number', () => {
    put('restart.yaml', VALID);
    const [t] = load().tasks;
    const a = act(t, 1, { service: 'my app; x', seconds: '12' });
    expect(a).toEqual({
      kind: 'sql',
      text:
        'INSERT INTO ops_log(service, at, pause, note) -- :not_a_placeholder\n' +
        `VALUES ($1, now()::timestamptz, $2, ':service' || "a:b" || $q$:service$q$ || $1)`,
      values: ['my app; x', 12],
    });
  });

  it('gives shell steps the parameters as OPS_PARAM_* variables only', () => {
    put('restart.yaml', VALID);
    const [t] = load().tasks;
    expect(act(t, 2, { seconds: '7', dry: 'yes' })).toEqual({
      kind: 'command',
      shell: true,
      argv: ['journalctl -u app | tail -n 20'],
      env: { OPS_PARAM_SERVICE: 'app', OPS_PARAM_SECONDS: '7', OPS_PARAM_TOKEN: 's3cret', OPS_PARAM_DRY: 'true' },
    });
  });

  it('validates parameters: pattern, min/max, required, unknown, coerced types', () => {
    put('restart.yaml', VALID);
    const [t] = load().tasks;
    expect(parseParams(t, { seconds: '30', dry: 'no' })).toEqual({ service: 'app', seconds: 30, token: 's3cret', dry: false });
    expect(() => parseParams(t, { seconds: '30', service: 'Bad/Name' })).toThrow(/--param service: must match/);
    expect(() => parseParams(t, { seconds: '0' })).toThrow(/--param seconds/);
    expect(() => parseParams(t, { seconds: '' })).toThrow(/--param seconds/);
    expect(() => parseParams(t, {})).toThrow(/--param seconds/);
    expect(() => parseParams(t, { seconds: '1', extra: 'x' })).toThrow(/extra/);
    expect(() => parseParams(t, { seconds: '1', dry: 'maybe' })).toThrow(/--param dry/);
  });

  it('loads several files in name order, ignores other files and dot files, and accepts .yml', () => {
    put('b.yml', 'id: bee\ntitle: B\nrisk: low\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n');
    put('a.yaml', 'id: aye\ntitle: A\nrisk: high\nsteps:\n  - { id: s, title: S, sql: "SELECT 1", readOnly: true }\n');
    put('notes.txt', 'not a task');
    put('.#a.yaml', 'garbage: [');
    const r = load();
    expect(r.errors).toEqual([]);
    expect(r.tasks.map((t) => t.id)).toEqual(['aye', 'bee']);
    expect(r.tasks[0].steps[0].action({ params: {}, values: {} } as unknown as RunContext)).toEqual({ kind: 'sql', text: 'SELECT 1' });
  });

  it('a missing directory holds no tasks; the directory is <configDir>/tasks', () => {
    expect(loadUserTasks(join(dir, 'nope'), BUILTINS)).toEqual({ tasks: [], errors: [] });
    expect(userTasksDir({ OPS_CONFIG_DIR: '/etc/ops' })).toBe('/etc/ops/tasks');
  });
});

describe('mistakes name the file, the line and the key path', () => {
  const head = 'id: t1\ntitle: T\nrisk: low\n';

  it('a bad risk value', () => {
    expect(errorOf('id: t1\ntitle: T\nrisk: urgent\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n')).toBe(
      ':3: risk: must be low, medium, high or critical',
    );
  });

  it('a step without rollback, irreversible or readOnly (naming the step)', () => {
    const msg = errorOf(`${head}steps:\n  - id: ok\n    title: OK\n    run: [true]\n    readOnly: true\n  - id: change\n    title: Change\n    run: [touch, x]\n`);
    expect(msg).toMatch(/^:9: steps\[1\]: step "change" has no rollback/);
  });

  it('an unknown {{name}} in an argv element', () => {
    const msg = errorOf(`${head}params:\n  service: { type: string }\nsteps:\n  - id: a\n    title: A\n    run:\n      - systemctl\n      - '{{servic}}'\n    readOnly: true\n`);
    expect(msg).toBe(':11: steps[0].run[1]: step "a": unknown parameter "{{servic}}" (parameters: service)');
  });

  it('an unknown :name in SQL, on its own line of a | block', () => {
    const msg = errorOf(`${head}params:\n  n: { type: number }\nsteps:\n  - id: q\n    title: Q\n    sql: |\n      SELECT :n,\n        :m\n    readOnly: true\n`);
    expect(msg).toBe(':11: steps[0].sql: step "q": unknown parameter ":m" (parameters: n)');
  });

  it('an unknown placeholder in a rollback', () => {
    const msg = errorOf(`${head}steps:\n  - id: a\n    title: A\n    run: [touch, x]\n    rollback:\n      run: [rm, '{{file}}']\n`);
    expect(msg).toBe(':9: steps[0].rollback.run[1]: step "a": unknown parameter "{{file}}" (the task has no parameters)');
  });

  it('positional $1 in SQL', () => {
    expect(errorOf(`${head}steps:\n  - { id: q, title: Q, sql: "SELECT $1", readOnly: true }\n`)).toMatch(/^:5: steps\[0\]\.sql: step "q": write :name placeholders, not positional \$1/);
  });

  it('"{{" in a shell step', () => {
    const msg = errorOf(`${head}params:\n  unit: { type: string }\nsteps:\n  - id: sh\n    title: Shell\n    shell: "journalctl -u {{unit}} | tail"\n    readOnly: true\n`);
    expect(msg).toMatch(/^:9: steps\[0\]\.shell: step "sh": parameters are not substituted into shell text; use "\$OPS_PARAM_NAME"/);
  });

  it('an id that clashes with a built-in task', () => {
    expect(errorOf('title: T\nrisk: low\nid: backup\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n')).toBe(
      ':3: id: "backup" is a built-in task; choose another id',
    );
  });

  it('an id already defined in another file: the first file loads, the second does not', () => {
    const step = 'steps:\n  - { id: s, title: S, run: [true], readOnly: true }\n';
    const first = put('a.yaml', `id: twin\ntitle: A\nrisk: low\n${step}`);
    const second = put('b.yaml', `title: B\nrisk: low\n\nid: twin\n${step}`);
    const r = load();
    expect(r.tasks.map((t) => t.title)).toEqual(['A']);
    expect(r.errors).toEqual([`${second}:4: id: "twin" is already defined in ${first}`]);
  });

  it('a YAML syntax error, with its line', () => {
    expect(errorOf(`${head}steps:\n  - id: a\n    title: [unclosed\n    run: [true]\n`)).toMatch(/^:\d+: not valid YAML: /);
    expect(errorOf(`${head}steps:\n  - id: a\n  title: A\n`)).toMatch(/^:6: not valid YAML: /);
    expect(errorOf(`${head}risk: high\nsteps: []\n`)).toBe(':4: not valid YAML: Map keys must be unique');
  });

  it('an unknown key, listing the allowed ones', () => {
    expect(errorOf(`${head}steps:\n  - id: a\n    title: A\n    run: [true]\n    readonly: true\n`)).toBe(
      ':8: steps[0].readonly: unknown key (allowed: id, title, run, sql, shell, timeout, rollback, irreversible, readOnly)',
    );
    expect(errorOf(`${head}params:\n  n: { type: number, pattern: 'x' }\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n`)).toBe(
      ':5: params.n.pattern: unknown key (allowed: type, min, max, default, secret, description)',
    );
  });

  it('a missing key names the enclosing mapping', () => {
    expect(errorOf(`id: t1\nrisk: low\nsteps:\n  - id: a\n    run: [true]\n    readOnly: true\n`)).toBe(':1: title: required, missing (and 1 more problem in this file)');
  });

  it('other mistakes: two actions, a rollback on an irreversible step, a bad pattern, a default that fails its pattern, a bad type', () => {
    expect(errorOf(`${head}steps:\n  - id: a\n    title: A\n    run: [true]\n    sql: SELECT 1\n    readOnly: true\n`)).toMatch(
      /^:8: steps\[0\]\.sql: step "a": give only one of run, sql or shell/,
    );
    expect(errorOf(`${head}steps:\n  - id: a\n    title: A\n    run: [true]\n    irreversible: true\n    rollback: { run: [true] }\n`)).toMatch(
      /^:9: steps\[0\]\.rollback: step "a" is irreversible: it cannot also have a rollback/,
    );
    expect(errorOf(`${head}params:\n  s: { type: string, pattern: '[' }\nsteps:\n  - { id: a, title: A, run: [true], readOnly: true }\n`)).toMatch(
      /^:5: params\.s\.pattern: not a valid regular expression/,
    );
    expect(errorOf(`${head}params:\n  s:\n    type: string\n    pattern: '^[a-z]+$'\n    default: App\n\nsteps:\n  - { id: a, title: A, run: [true], readOnly: true }\n`)).toMatch(
      /^:8: params\.s\.default: the default does not pass its own checks: must match/,
    );
    expect(errorOf(`${head}params:\n  s: { type: text }\nsteps:\n  - { id: a, title: A, run: [true], readOnly: true }\n`)).toBe(
      ':5: params.s.type: type must be string, number or boolean',
    );
    expect(errorOf(`${head}params:\n  Big-Name: { type: string }\nsteps:\n  - { id: a, title: A, run: [true], readOnly: true }\n`)).toMatch(
      /^:5: params\.Big-Name: a parameter name is lowercase letters/,
    );
  });

  it('a file with one bad step loads no task at all; the good file beside it loads', () => {
    put('good.yaml', 'id: good\ntitle: G\nrisk: low\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n');
    const bad = put(
      'bad.yaml',
      `id: bad\ntitle: B\nrisk: low\nsteps:\n  - { id: one, title: One, run: [true], readOnly: true }\n  - { id: two, title: Two, run: [touch, x] }\n  - { id: three, title: Three, run: [true], readOnly: true }\n`,
    );
    const r = load();
    expect(r.tasks.map((t) => t.id)).toEqual(['good']);
    expect(r.errors).toEqual([expect.stringMatching(new RegExp(`^${bad.replace(/[.]/g, '\\.')}:6: steps\\[1\\]: step "two" has no rollback`))]);
  });

  it('loadUserTasksOrThrow throws a UserError with the first error', () => {
    const file = put('a.yaml', 'id: a\ntitle: A\nrisk: nope\nsteps: []\n');
    put('b.yaml', 'id: [\n');
    let err: unknown;
    try {
      loadUserTasksOrThrow(dir, BUILTINS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:3: risk: `));
    rmSync(join(dir, 'a.yaml'));
    rmSync(join(dir, 'b.yaml'));
    put('ok.yaml', 'id: ok\ntitle: OK\nrisk: low\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n');
    expect(loadUserTasksOrThrow(dir, BUILTINS).map((t) => t.id)).toEqual(['ok']);
  });
});

describe('files others could write are refused', () => {
  const OK = 'id: ok\ntitle: OK\nrisk: low\nsteps:\n  - { id: s, title: S, run: [true], readOnly: true }\n';

  it('a group-writable file', () => {
    const file = put('t.yaml', OK, 0o664);
    expect(load()).toEqual({ tasks: [], errors: [`${file}: refused: writable by group or others (chmod go-w ${file})`] });
  });

  it('a world-writable file', () => {
    const file = put('t.yaml', OK, 0o606);
    expect(load().errors).toEqual([`${file}: refused: writable by group or others (chmod go-w ${file})`]);
  });

  it('a group-writable tasks directory: nothing in it loads', () => {
    put('t.yaml', OK);
    chmodSync(dir, 0o775);
    expect(load()).toEqual({ tasks: [], errors: [`${dir}: refused: writable by group or others (chmod go-w ${dir})`] });
  });

  it('a symlink whose target is group-writable, or in a directory others can write', () => {
    const outside = mkdtempSync(join(tmpdir(), 'ops-user-tasks-target-'));
    try {
      chmodSync(outside, 0o755);
      const target = join(outside, 'real.yaml');
      writeFileSync(target, OK);
      chmodSync(target, 0o644);
      const link = join(dir, 'link.yaml');
      symlinkSync(target, link);
      expect(load()).toEqual({ tasks: [expect.objectContaining({ id: 'ok' })], errors: [] });
      chmodSync(target, 0o664);
      expect(load()).toEqual({ tasks: [], errors: [`${link}: refused: its target ${target} is writable by group or others (chmod go-w ${target})`] });
      chmodSync(target, 0o644);
      chmodSync(outside, 0o777);
      expect(load().errors).toEqual([`${link}: refused: its target's directory ${outside} is writable by group or others (chmod go-w ${outside})`]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)("a file owned by another user (run as root)", () => {
    const file = put('t.yaml', OK);
    chownSync(file, 4242, 4242);
    expect(load().errors).toEqual([`${file}: refused: owned by uid 4242, neither you (uid 0) nor root`]);
  });

  it('a directory named like a task file is not a task file', () => {
    mkdirSync(join(dir, 'sub.yaml'));
    expect(load().errors).toEqual([`${join(dir, 'sub.yaml')}: not a regular file`]);
  });
});
