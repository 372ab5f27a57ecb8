// Operators' own tasks: YAML files in <configDir()>/tasks/*.yaml (and *.yml), validated on load.
// A file is all or nothing: any problem in it keeps all of it out, reported in one line as
// `<file>:<line>: <key path>: <problem>`. Like sudo and ssh, a file (or the tasks directory) that
// others could write is refused, since its commands run with the operator's rights.
//
// Parameters never pass through a shell: in `run` steps each '{{name}}' is replaced by the
// value as text inside its one argv element; in `sql` steps each :name becomes a bound $n
// parameter; `shell` steps get them only as environment variables OPS_PARAM_<NAME>.
import { join } from 'node:path';
import * as z from 'zod';
import { configDir, UserError } from '../config/load';
import { firstProblem, parseYaml, readSafely, valueAt, yamlFilesIn, zodProblems, type Locator, type Problem } from '../util/yaml-file';
import { RISKS, type Action, type Risk, type StepDef, type TaskDef } from './model';

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

// ---------------------------------------------------------------- the format

const ID_RE = /^[a-z][a-z0-9-]*$/;
const PARAM_RE = /^[a-z][a-z0-9_]*$/;

const text = (what: string) => z.string({ error: `expected ${what} (text)` }).refine((v) => v.trim() !== '', `${what} must not be empty`);

const paramCommon = {
  description: z.string({ error: 'expected text' }).optional(),
  secret: z.boolean({ error: 'expected true or false' }).optional(),
};
const ParamSpec = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('string'),
      pattern: z.string({ error: 'expected a regular expression (text)' }).optional(),
      default: z.string({ error: 'expected text (quote it)' }).optional(),
      ...paramCommon,
    }),
    z.strictObject({
      type: z.literal('number'),
      min: z.number({ error: 'expected a number' }).optional(),
      max: z.number({ error: 'expected a number' }).optional(),
      default: z.number({ error: 'expected a number' }).optional(),
      ...paramCommon,
    }),
    z.strictObject({
      type: z.literal('boolean'),
      default: z.boolean({ error: 'expected true or false' }).optional(),
      ...paramCommon,
    }),
  ],
  { error: 'type must be string, number or boolean' },
);
type ParamSpec = z.infer<typeof ParamSpec>;

const actionFields = {
  run: z.array(z.string({ error: 'expected text' }), { error: 'expected a list: [program, arg, ...]' }).min(1, 'must name a program').optional(),
  sql: text('SQL').optional(),
  shell: text('a shell script').optional(),
};
const RollbackSpec = z.strictObject(actionFields, { error: 'expected a mapping with run, sql or shell' });
const StepSpec = z.strictObject(
  {
    id: z.string({ error: 'expected a step id' }).regex(ID_RE, 'a step id is lowercase letters, digits and "-", starting with a letter'),
    title: text('a title').transform((v) => v.trim()),
    ...actionFields,
    timeout: z.number({ error: 'expected seconds (a number)' }).positive('must be more than 0 seconds').max(86_400, 'at most 86400 seconds (a day)').optional(),
    rollback: RollbackSpec.optional(),
    irreversible: z.boolean({ error: 'expected true or false' }).optional(),
    readOnly: z.boolean({ error: 'expected true or false' }).optional(),
  },
  { error: 'expected a step (a mapping with id, title and run, sql or shell)' },
);
type StepSpec = z.infer<typeof StepSpec>;
type ActionSpec = Pick<StepSpec, 'run' | 'sql' | 'shell'>;

const TaskSpec = z.strictObject(
  {
    id: z.string({ error: 'expected a task id' }).regex(ID_RE, 'a task id is lowercase letters, digits and "-", starting with a letter'),
    title: text('a title').transform((v) => v.trim()),
    description: z.string({ error: 'expected text' }).optional(),
    risk: z.enum(RISKS as unknown as [Risk, ...Risk[]], { error: 'must be low, medium, high or critical' }),
    params: z
      .record(z.string().regex(PARAM_RE, 'a parameter name is lowercase letters, digits and "_", starting with a letter'), ParamSpec, {
        error: 'expected a mapping of parameter names to { type: ... }',
      })
      .optional(),
    steps: z.array(StepSpec, { error: 'expected a list of steps' }).min(1, 'a task needs at least one step'),
  },
  { error: 'expected a task (a mapping with id, title, risk and steps)' },
);
type TaskSpec = z.infer<typeof TaskSpec>;

const ALLOWED_KEYS = {
  task: ['id', 'title', 'description', 'risk', 'params', 'steps'],
  string: ['type', 'pattern', 'default', 'secret', 'description'],
  number: ['type', 'min', 'max', 'default', 'secret', 'description'],
  boolean: ['type', 'default', 'secret', 'description'],
  step: ['id', 'title', 'run', 'sql', 'shell', 'timeout', 'rollback', 'irreversible', 'readOnly'],
  rollback: ['run', 'sql', 'shell'],
};

function allowedKeys(path: readonly PropertyKey[], data: unknown): string[] | null {
  if (path.length === 0) return ALLOWED_KEYS.task;
  if (path[0] === 'params' && path.length === 2) {
    const t = valueAt(data, path)?.type;
    return typeof t === 'string' && t in ALLOWED_KEYS ? ALLOWED_KEYS[t as 'string' | 'number' | 'boolean'] : null;
  }
  if (path[0] === 'steps' && path.length === 2) return ALLOWED_KEYS.step;
  if (path[0] === 'steps' && path.length === 3 && path[2] === 'rollback') return ALLOWED_KEYS.rollback;
  return null;
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

// ---------------------------------------------------------------- templates

type Part = string | { param: string };

/** Splits one argv element at its '{{name}}' references. */
function parseArg(arg: string, known: ReadonlySet<string>): { parts: Part[] } | { index: number; message: string } {
  const parts: Part[] = [];
  let i = 0;
  while (i < arg.length) {
    const open = arg.indexOf('{{', i);
    if (open < 0) {
      parts.push(arg.slice(i));
      break;
    }
    if (open > i) parts.push(arg.slice(i, open));
    const close = arg.indexOf('}}', open + 2);
    if (close < 0) return { index: open, message: `"{{" without a closing "}}"` };
    const name = arg.slice(open + 2, close).trim();
    if (!PARAM_RE.test(name)) return { index: open, message: `"{{${arg.slice(open + 2, close)}}}" is not a parameter reference` };
    if (!known.has(name)) return { index: open, message: `unknown parameter "{{${name}}}" (${paramList(known)})` };
    parts.push({ param: name });
    i = close + 2;
  }
  return { parts };
}

function paramList(known: ReadonlySet<string>): string {
  return known.size ? `parameters: ${[...known].join(', ')}` : 'the task has no parameters';
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Turns :name placeholders into $1, $2... (a repeated name reuses its number), skipping string
 * literals, quoted identifiers, dollar quotes, comments and `::` casts.
 */
function parseSql(sqlText: string, known: ReadonlySet<string>): { text: string; names: string[] } | { index: number; message: string } {
  const names: string[] = [];
  let out = '';
  let i = 0;
  const n = sqlText.length;
  const copyUntil = (end: number) => {
    out += sqlText.slice(i, end);
    i = end;
  };
  while (i < n) {
    const c = sqlText[i];
    const next = sqlText[i + 1];
    if (c === "'") {
      const prev = sqlText[i - 1];
      const escapes = (prev === 'E' || prev === 'e') && !IDENT_CHAR.test(sqlText[i - 2] ?? ' ');
      let j = i + 1;
      for (; j < n; j++) {
        if (escapes && sqlText[j] === '\\') j++;
        else if (sqlText[j] === "'") {
          if (sqlText[j + 1] === "'") j++;
          else break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated quoted string' };
      copyUntil(j + 1);
    } else if (c === '"') {
      let j = i + 1;
      for (; j < n; j++) {
        if (sqlText[j] === '"') {
          if (sqlText[j + 1] === '"') j++;
          else break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated quoted identifier' };
      copyUntil(j + 1);
    } else if (c === '-' && next === '-') {
      const j = sqlText.indexOf('\n', i);
      copyUntil(j < 0 ? n : j);
    } else if (c === '/' && next === '*') {
      let depth = 0;
      let j = i;
      for (; j < n; j++) {
        if (sqlText[j] === '/' && sqlText[j + 1] === '*') {
          depth++;
          j++;
        } else if (sqlText[j] === '*' && sqlText[j + 1] === '/') {
          depth--;
          j++;
          if (depth === 0) break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated /* comment' };
      copyUntil(j + 1);
    } else if (c === '$' && !IDENT_CHAR.test(sqlText[i - 1] ?? ' ')) {
      if (/[0-9]/.test(next ?? '')) return { index: i, message: `write :name placeholders, not positional ${sqlText.slice(i).match(/^\$[0-9]+/)![0]}` };
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sqlText.slice(i));
      if (!tag) {
        copyUntil(i + 1);
        continue;
      }
      const end = sqlText.indexOf(tag[0], i + tag[0].length);
      if (end < 0) return { index: i, message: `unterminated ${tag[0]} quote` };
      copyUntil(end + tag[0].length);
    } else if (c === ':' && next === ':') {
      copyUntil(i + 2);
    } else if (c === ':' && /[A-Za-z_]/.test(next ?? '')) {
      const name = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(sqlText.slice(i))![1];
      if (!known.has(name)) return { index: i, message: `unknown parameter ":${name}" (${paramList(known)})` };
      let k = names.indexOf(name);
      if (k < 0) k = names.push(name) - 1;
      out += `$${k + 1}`;
      i += 1 + name.length;
    } else {
      copyUntil(i + 1);
    }
  }
  return { text: out, names };
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
