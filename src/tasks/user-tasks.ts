// Operators' own tasks: YAML files in <configDir()>/tasks/*.yaml (and *.yml), validated on load.
// A file is all or nothing: any problem in it keeps all of it out, reported in one line as
// `<file>:<line>: <key path>: <problem>`. Like sudo and ssh, a file (or the tasks directory) that
// others could write is refused, since its commands run with the operator's rights.
//
// Parameters never pass through a shell: in `run` steps each '{{name}}' is replaced by the
// value as text inside its one argv element; in `sql` steps each :name becomes a bound $n
// parameter; `shell` steps get them only as environment variables OPS_PARAM_<NAME>.
//
// The file's format (its zod schemas) is user-task-spec.ts; the parameter references in argv
// and SQL are user-task-templates.ts.
import { join } from 'node:path';
import * as z from 'zod';
import { configDir, UserError } from '../config/load';
import { firstProblem, parseYaml, readSafely, valueAt, yamlFilesIn, zodProblems, type Locator, type Problem } from '../util/yaml-file';
import type { Action, StepDef, TaskDef } from './model';
import { allowedKeys, TaskSpec, type ActionSpec, type ParamSpec } from './user-task-spec';
import { parseArg, parseSql, type Part } from './user-task-templates';

/** Where operators' task files live. */
export function userTasksDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'tasks');
}

const sources = new WeakMap<TaskDef, string>();

/** The file a user task was loaded from (undefined for a built-in task). */
export function userTaskSource(task: TaskDef): string | undefined {
  return sources.get(task);
}

/** Loads every task file in `dir`; a missing directory holds no tasks. Files are read in name order. */
export function loadUserTasks(dir: string, builtinIds: ReadonlySet<string>): { tasks: TaskDef[]; errors: string[] } {
  const tasks: TaskDef[] = [];
  const { files, errors } = yamlFilesIn(dir);
  const seen = new Map<string, string>();
  for (const file of files) {
    const r = loadFile(file, builtinIds, seen);
    if ('error' in r) errors.push(r.error);
    else {
      tasks.push(r.task);
      seen.set(r.task.id, file);
      sources.set(r.task, file);
    }
  }
  return { tasks, errors };
}

/** As loadUserTasks, but any problem is a UserError (the first one). */
export function loadUserTasksOrThrow(dir: string, builtinIds: ReadonlySet<string>): TaskDef[] {
  const { tasks, errors } = loadUserTasks(dir, builtinIds);
  if (errors.length) throw new UserError(errors[0]);
  return tasks;
}

// ---------------------------------------------------------------- parameters

function buildParamSchema(spec: ParamSpec, re: RegExp | null): z.ZodType {
  let s: z.ZodType;
  if (spec.type === 'string') {
    s = re ? z.string().regex(re, `must match ${spec.pattern}`) : z.string();
  } else if (spec.type === 'number') {
    let n = z.coerce.number();
    if (spec.min !== undefined) n = n.min(spec.min);
    if (spec.max !== undefined) n = n.max(spec.max);
    // an empty --param n= is a mistake, not 0
    s = z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), n);
  } else {
    const words: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false };
    s = z.preprocess((v) => (typeof v === 'string' ? (words[v.trim().toLowerCase()] ?? v) : v), z.boolean());
  }
  return spec.default !== undefined ? (s as z.ZodType<unknown>).default(spec.default as never) : s;
}

/** A parameter's value as text: what goes into an argv element or an OPS_PARAM_* variable. */
function asText(name: string, v: unknown): string {
  if (v === undefined || v === null) throw new Error(`parameter ${name} has no value`);
  return String(v);
}

// ---------------------------------------------------------------- building the task

type Compiled = (params: Record<string, unknown>) => Action;

function compileAction(
  spec: ActionSpec,
  path: readonly PropertyKey[],
  stepId: string,
  known: ReadonlySet<string>,
  loc: Locator,
  problems: Problem[],
): Compiled | null {
  const kinds = (['run', 'sql', 'shell'] as const).filter((k) => spec[k] !== undefined);
  if (kinds.length !== 1) {
    problems.push({
      line: loc.line(kinds.length ? [...path, kinds[1]] : path, true),
      path: kinds.length ? [...path, kinds[1]] : path,
      message: kinds.length ? `step "${stepId}": give only one of run, sql or shell (found ${kinds.join(' and ')})` : `step "${stepId}": needs one of run, sql or shell`,
    });
    return null;
  }
  if (spec.run) {
    const argv: Part[][] = [];
    for (let j = 0; j < spec.run.length; j++) {
      const r = parseArg(spec.run[j], known);
      if ('message' in r) {
        problems.push({ line: loc.line([...path, 'run', j]), path: [...path, 'run', j], message: `step "${stepId}": ${r.message}` });
        return null;
      }
      argv.push(r.parts);
    }
    return (params) => ({
      kind: 'command',
      argv: argv.map((parts) => parts.map((p) => (typeof p === 'string' ? p : asText(p.param, params[p.param]))).join('')),
    });
  }
  if (spec.sql !== undefined) {
    const r = parseSql(spec.sql, known);
    if ('message' in r) {
      problems.push({ line: loc.lineInValue([...path, 'sql'], r.index), path: [...path, 'sql'], message: `step "${stepId}": ${r.message}` });
      return null;
    }
    const { text: sqlText, names } = r;
    const body = sqlText.trimEnd();
    return (params) => (names.length ? { kind: 'sql', text: body, values: names.map((nm) => params[nm]) } : { kind: 'sql', text: body });
  }
  const script = spec.shell!;
  const at = script.indexOf('{{');
  if (at >= 0) {
    problems.push({
      line: loc.lineInValue([...path, 'shell'], at),
      path: [...path, 'shell'],
      message: `step "${stepId}": parameters are not substituted into shell text; use "$OPS_PARAM_NAME" (quoted) instead of "{{"`,
    });
    return null;
  }
  const names = [...known];
  return (params) => ({
    kind: 'command',
    shell: true,
    argv: [script],
    env: Object.fromEntries(names.filter((nm) => params[nm] !== undefined).map((nm) => [`OPS_PARAM_${nm.toUpperCase()}`, asText(nm, params[nm])])),
  });
}

function buildTask(spec: TaskSpec, loc: Locator, problems: Problem[]): TaskDef | null {
  const before = problems.length;
  const shape: Record<string, z.ZodType> = {};
  const secretParams: string[] = [];
  for (const [name, p] of Object.entries(spec.params ?? {})) {
    const at = ['params', name];
    let re: RegExp | null = null;
    if (p.type === 'string' && p.pattern !== undefined) {
      try {
        re = new RegExp(p.pattern);
      } catch (err) {
        problems.push({ line: loc.line([...at, 'pattern']), path: [...at, 'pattern'], message: `not a valid regular expression: ${(err as Error).message}` });
        continue;
      }
    }
    if (p.type === 'number' && p.min !== undefined && p.max !== undefined && p.min > p.max) {
      problems.push({ line: loc.line([...at, 'min']), path: [...at, 'min'], message: `min ${p.min} is above max ${p.max}` });
      continue;
    }
    const schema = buildParamSchema(p, re);
    if (p.default !== undefined) {
      const r = schema.safeParse(p.default);
      if (!r.success) {
        problems.push({ line: loc.line([...at, 'default']), path: [...at, 'default'], message: `the default does not pass its own checks: ${r.error.issues[0]?.message}` });
        continue;
      }
    }
    shape[name] = schema;
    if (p.secret) secretParams.push(name);
  }
  const known = new Set(Object.keys(spec.params ?? {}));

  const steps: StepDef[] = [];
  const stepIds = new Map<string, number>();
  spec.steps.forEach((s, i) => {
    const at = ['steps', i];
    const firstUse = stepIds.get(s.id);
    if (firstUse !== undefined) {
      problems.push({ line: loc.line([...at, 'id']), path: [...at, 'id'], message: `step id "${s.id}" is already used by steps[${firstUse}]` });
    } else stepIds.set(s.id, i);

    const action = compileAction(s, at, s.id, known, loc, problems);
    let rollback: Compiled | null = null;
    if (s.rollback) {
      if (s.irreversible || s.readOnly) {
        const flag = s.irreversible ? 'irreversible' : 'readOnly';
        problems.push({ line: loc.line([...at, 'rollback'], true), path: [...at, 'rollback'], message: `step "${s.id}" is ${flag}: it cannot also have a rollback` });
      } else rollback = compileAction(s.rollback, [...at, 'rollback'], s.id, known, loc, problems);
    } else if (!s.irreversible && !s.readOnly) {
      problems.push({
        line: loc.line(at),
        path: at,
        message: `step "${s.id}" has no rollback: give rollback (run, sql or shell), or mark it irreversible: true, or readOnly: true when it changes nothing`,
      });
    }
    if (s.irreversible && s.readOnly) {
      problems.push({ line: loc.line([...at, 'readOnly'], true), path: [...at, 'readOnly'], message: `step "${s.id}" cannot be both irreversible and readOnly` });
    }
    if (!action) return;
    const step: StepDef = { id: s.id, title: s.title, action: (ctx) => action(ctx.params) };
    if (rollback) {
      const rb = rollback;
      step.rollback = (ctx) => rb(ctx.params);
    }
    if (s.irreversible) step.irreversible = true;
    if (s.timeout !== undefined) step.timeoutMs = Math.round(s.timeout * 1000);
    steps.push(step);
  });
  if (problems.length > before) return null;

  const task: TaskDef = {
    id: spec.id,
    title: spec.title,
    description: spec.description?.trim() ?? '',
    risk: spec.risk,
    params: z.strictObject(shape) as unknown as TaskDef['params'],
    steps,
  };
  if (secretParams.length) task.secretParams = secretParams;
  return task;
}

function loadFile(file: string, builtinIds: ReadonlySet<string>, seen: ReadonlyMap<string, string>): { task: TaskDef } | { error: string } {
  const read = readSafely(file);
  if ('error' in read) return read;

  const parsedYaml = parseYaml(read.text, file);
  if ('error' in parsedYaml) return parsedYaml;
  const { data, loc } = parsedYaml;

  // argv elements are text as written: `[chmod, 0755, f]` means "0755", not the number 755
  const steps = (data as { steps?: unknown } | null)?.steps;
  if (Array.isArray(steps)) {
    for (let i = 0; i < steps.length; i++) {
      for (const path of [['steps', i, 'run'], ['steps', i, 'rollback', 'run']]) {
        const run = valueAt(data, path) as unknown;
        if (!Array.isArray(run)) continue;
        run.forEach((el, j) => {
          if (typeof el === 'number' || typeof el === 'boolean') run[j] = loc.source([...path, j]) ?? String(el);
        });
      }
    }
  }

  const problems: Problem[] = [];
  let task: TaskDef | null = null;
  const parsed = TaskSpec.safeParse(data);
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error.issues, data, loc, allowedKeys));
  } else {
    const spec = parsed.data;
    if (builtinIds.has(spec.id)) {
      problems.push({ line: loc.line(['id']), path: ['id'], message: `"${spec.id}" is a built-in task; choose another id` });
    } else if (seen.has(spec.id)) {
      problems.push({ line: loc.line(['id']), path: ['id'], message: `"${spec.id}" is already defined in ${seen.get(spec.id)}` });
    }
    task = buildTask(spec, loc, problems);
  }
  if (problems.length || !task) return { error: firstProblem(file, problems, 'not a valid task') };
  return { task };
}
