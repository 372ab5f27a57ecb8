// Checklists: YAML files, the built-in ones in config/checklists and the operator's own in
// <configDir()>/checklists, validated on load. A file is all or nothing: any problem keeps the
// whole checklist out, reported as `<file>:<line>: <key path>: <problem>`. An operator's file
// with the id of a built-in one replaces it.
import { join } from 'node:path';
import * as z from 'zod';
import { configDir } from '../config/load';
import type { TaskDef } from '../tasks/model';
import { installedPath } from '../util/install';
import { firstProblem, parseYaml, readSafely, valueAt, yamlFilesIn, zodProblems, type Problem } from '../util/yaml-file';
import { METRICS, type Condition } from './conditions';

export type StepKind = 'confirm' | 'check' | 'gate' | 'task' | 'input' | 'note';

/** `when`: the step applies only if an earlier step passed or failed, or a condition holds now. */
export type When = { failed: string } | { passed: string } | { condition: Condition };

interface StepCommon {
  id: string;
  title: string;
  /** more words for the operator, shown with the current step */
  detail?: string;
  /** cannot be skipped */
  required: boolean;
  when?: When;
}

export type ChecklistStep = StepCommon &
  (
    | { kind: 'confirm' }
    | { kind: 'note' }
    | { kind: 'check'; condition: Condition }
    | { kind: 'gate'; condition: Condition; onFail: 'block' | 'warn' }
    | { kind: 'task'; task: string; params: Record<string, unknown> }
    | { kind: 'input'; pattern?: string; example?: string }
  );

export interface Checklist {
  id: string;
  title: string;
  description: string;
  steps: ChecklistStep[];
  /** the file it was loaded from */
  source: string;
  builtin: boolean;
}

// ---------------------------------------------------------------- the format

const ID_RE = /^[a-z][a-z0-9-]*$/;
const text = (what: string) => z.string({ error: `expected ${what} (text)` }).refine((v) => v.trim() !== '', `${what} must not be empty`);
const num = z.number({ error: 'expected a number' });

/** The zod schemas, built on first use: importing this module (every `ops` start does) stays cheap. */
function makeSpecs() {
  const ConditionSpec = z.union(
    [
      z.strictObject({
        metric: z.string({ error: 'expected a metric name' }).refine((m) => m in METRICS, { message: `unknown metric (known: ${Object.keys(METRICS).join(', ')})` }),
        below: num.optional(),
        atMost: num.optional(),
        above: num.optional(),
        atLeast: num.optional(),
      }),
      z.strictObject({
        health: text('a check: overall, a group, a check id, or an id prefix ending in *'),
        atWorst: z.enum(['OK', 'WARNING'], { error: 'must be OK or WARNING' }).optional(),
      }),
      z.strictObject({ inWindow: z.literal(true, { error: 'must be true' }) }),
      z.strictObject({ baseline: z.string().regex(ID_RE, 'must be a checklist id') }),
    ],
    { error: 'expected a condition: { metric: NAME, below: N }, { health: CHECK, atWorst: OK }, { inWindow: true } or { baseline: CHECKLIST }' },
  );

  const WhenSpec = z.union(
    [
      z.strictObject({ failed: z.string().regex(ID_RE, 'must be a step id') }),
      z.strictObject({ passed: z.string().regex(ID_RE, 'must be a step id') }),
      z.strictObject({ condition: ConditionSpec }),
    ],
    { error: 'expected { failed: STEP }, { passed: STEP } or { condition: ... }' },
  );

  const common = {
    id: z.string({ error: 'expected a step id' }).regex(ID_RE, 'a step id is lowercase letters, digits and "-", starting with a letter'),
    title: text('a title').transform((v) => v.trim()),
    detail: z.string({ error: 'expected text' }).optional(),
    required: z.boolean({ error: 'expected true or false' }).optional(),
    when: WhenSpec.optional(),
  };

  const StepSpec = z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('confirm'), ...common }),
      z.strictObject({ kind: z.literal('note'), ...common }),
      z.strictObject({ kind: z.literal('check'), ...common, condition: ConditionSpec }),
      z.strictObject({ kind: z.literal('gate'), ...common, condition: ConditionSpec, onFail: z.enum(['block', 'warn'], { error: 'must be block or warn' }) }),
      z.strictObject({
        kind: z.literal('task'),
        ...common,
        task: z.string({ error: 'expected a task id' }).regex(ID_RE, 'must be a task id'),
        params: z.record(z.string(), z.unknown(), { error: 'expected a mapping of parameter names to values' }).optional(),
      }),
      z.strictObject({ kind: z.literal('input'), ...common, pattern: z.string({ error: 'expected a regular expression (text)' }).optional(), example: z.string().optional() }),
    ],
    { error: 'kind must be confirm, check, gate, task, input or note' },
  );

  const ChecklistSpec = z.strictObject(
    {
      id: z.string({ error: 'expected a checklist id' }).regex(ID_RE, 'a checklist id is lowercase letters, digits and "-", starting with a letter'),
      title: text('a title').transform((v) => v.trim()),
      description: z.string({ error: 'expected text' }).optional(),
      steps: z.array(StepSpec, { error: 'expected a list of steps' }).min(1, 'a checklist needs at least one step'),
    },
    { error: 'expected a checklist (a mapping with id, title and steps)' },
  );
  return { ChecklistSpec };
}
let specs: ReturnType<typeof makeSpecs> | null = null;
const checklistSpec = () => (specs ??= makeSpecs()).ChecklistSpec;

const COMMON_KEYS = ['id', 'kind', 'title', 'detail', 'required', 'when'];
const STEP_KEYS: Record<string, string[]> = {
  confirm: COMMON_KEYS,
  note: COMMON_KEYS,
  check: [...COMMON_KEYS, 'condition'],
  gate: [...COMMON_KEYS, 'condition', 'onFail'],
  task: [...COMMON_KEYS, 'task', 'params'],
  input: [...COMMON_KEYS, 'pattern', 'example'],
} satisfies Record<ChecklistStep['kind'], string[]>;

/** Whether a step of each kind passes or fails, so that a later step's `when` may name it. */
const PASSES_OR_FAILS = { check: true, gate: true, task: true, confirm: false, note: false, input: false } satisfies Record<ChecklistStep['kind'], boolean>;

function allowedKeys(path: readonly PropertyKey[], data: unknown): string[] | null {
  if (path.length === 0) return ['id', 'title', 'description', 'steps'];
  if (path[0] === 'steps' && path.length === 2) {
    const kind = valueAt(data, path)?.kind;
    return typeof kind === 'string' ? (STEP_KEYS[kind] ?? null) : null;
  }
  return null;
}

// ---------------------------------------------------------------- loading

/** config/checklists of this installation (a missing one holds no checklists). */
export function builtinChecklistDir(): string {
  return installedPath('config', 'checklists') ?? join(configDir(), 'no-builtin-checklists');
}

export function userChecklistDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'checklists');
}

/** Parses one checklist file's text; `tasks` are the tasks a task step may name. */
export function parseChecklist(yamlText: string, file: string, tasks: readonly TaskDef[], builtin = false): { checklist: Checklist } | { error: string } {
  const parsedYaml = parseYaml(yamlText, file);
  if ('error' in parsedYaml) return parsedYaml;
  const { data, loc } = parsedYaml;
  const parsed = checklistSpec().safeParse(data);
  if (!parsed.success) return { error: firstProblem(file, zodProblems(parsed.error.issues, data, loc, allowedKeys), 'not a valid checklist') };

  const spec = parsed.data;
  const problems: Problem[] = [];
  const at = (i: number, ...rest: PropertyKey[]) => ['steps', i, ...rest];
  const seen = new Map<string, number>();
  const steps: ChecklistStep[] = spec.steps.map((s, i) => {
    if (seen.has(s.id)) problems.push({ line: loc.line(at(i, 'id')), path: at(i, 'id'), message: `step id "${s.id}" is already used by steps[${seen.get(s.id)}]` });
    const ref = s.when && ('failed' in s.when ? s.when.failed : 'passed' in s.when ? s.when.passed : null);
    if (ref !== null && ref !== undefined) {
      const k = seen.get(ref);
      const kind = k === undefined ? null : spec.steps[k].kind;
      const key = 'failed' in s.when! ? 'failed' : 'passed';
      if (k === undefined) problems.push({ line: loc.line(at(i, 'when', key)), path: at(i, 'when', key), message: `"${ref}" is not an earlier step of this checklist` });
      else if (kind !== null && !PASSES_OR_FAILS[kind]) {
        problems.push({ line: loc.line(at(i, 'when', key)), path: at(i, 'when', key), message: `step "${ref}" is a ${kind} step: only check, gate and task steps pass or fail` });
      }
    }
    if (!seen.has(s.id)) seen.set(s.id, i);
    const base = { id: s.id, title: s.title, required: s.required ?? false, ...(s.detail ? { detail: s.detail.trim() } : {}), ...(s.when ? { when: s.when as When } : {}) };
    switch (s.kind) {
      case 'confirm':
      case 'note':
        return { ...base, kind: s.kind };
      case 'check':
        return { ...base, kind: 'check', condition: s.condition as Condition };
      case 'gate':
        // a gate is never skipped: it passes, is overridden (warn), or stops the walkthrough (block)
        return { ...base, required: true, kind: 'gate', condition: s.condition as Condition, onFail: s.onFail };
      case 'input':
        if (s.pattern !== undefined) {
          try {
            new RegExp(s.pattern);
          } catch (err) {
            problems.push({ line: loc.line(at(i, 'pattern')), path: at(i, 'pattern'), message: `not a valid regular expression: ${(err as Error).message}` });
          }
        }
        return { ...base, kind: 'input', ...(s.pattern !== undefined ? { pattern: s.pattern } : {}), ...(s.example ? { example: s.example } : {}) };
      case 'task': {
        const task = tasks.find((t) => t.id === s.task);
        const params = s.params ?? {};
        if (!task) problems.push({ line: loc.line(at(i, 'task')), path: at(i, 'task'), message: `unknown task "${s.task}" (tasks: ${tasks.map((t) => t.id).join(', ')})` });
        else {
          const r = task.params.safeParse(params);
          if (!r.success) {
            const issue = r.error.issues[0];
            const path = at(i, 'params', ...issue.path);
            problems.push({ line: loc.line(path), path, message: `task ${task.id}: ${issue.message}` });
          }
        }
        return { ...base, kind: 'task', task: s.task, params };
      }
      default: {
        // a new kind of step fails to compile here until it is parsed
        const unhandled: never = s;
        throw new Error(`no parsing for a step of kind ${(unhandled as ChecklistStep).kind}`);
      }
    }
  });
  if (problems.length) return { error: firstProblem(file, problems, 'not a valid checklist') };
  return { checklist: { id: spec.id, title: spec.title, description: (spec.description ?? '').trim(), steps, source: file, builtin } };
}

function loadDir(dir: string, tasks: readonly TaskDef[], builtin: boolean): { checklists: Checklist[]; errors: string[] } {
  const { files, errors } = yamlFilesIn(dir, { trusted: builtin });
  const checklists: Checklist[] = [];
  for (const file of files) {
    const read = builtin ? readSafelyBuiltin(file) : readSafely(file, 'a checklist file');
    if ('error' in read) {
      errors.push(read.error);
      continue;
    }
    const r = parseChecklist(read.text, file, tasks, builtin);
    if ('error' in r) errors.push(r.error);
    else if (checklists.some((c) => c.id === r.checklist.id)) {
      errors.push(`${file}:1: id: "${r.checklist.id}" is already defined in ${checklists.find((c) => c.id === r.checklist.id)!.source}`);
    } else checklists.push(r.checklist);
  }
  return { checklists, errors };
}

/** The installation's own files are trusted as its code is (they may belong to whoever installed it). */
function readSafelyBuiltin(file: string): { text: string } | { error: string } {
  return readSafely(file, 'a checklist file', { trusted: true });
}

/** Built-in checklists, then the operator's (replacing a built-in one of the same id), and the load problems. */
export function loadChecklists(tasks: readonly TaskDef[], dirs: { builtin?: string; user?: string } = {}): { checklists: Checklist[]; errors: string[] } {
  const builtin = loadDir(dirs.builtin ?? builtinChecklistDir(), tasks, true);
  const user = loadDir(dirs.user ?? userChecklistDir(), tasks, false);
  const byId = new Map<string, Checklist>();
  for (const c of builtin.checklists) byId.set(c.id, c);
  for (const c of user.checklists) byId.set(c.id, c);
  return { checklists: [...byId.values()], errors: [...builtin.errors, ...user.errors] };
}
