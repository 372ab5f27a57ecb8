// The format of an operator's task file (user-tasks.ts loads them): the zod schemas of a task,
// its parameters, its steps and their rollbacks, and the keys each mapping allows (for the
// one-line problem that names an unknown key). Built when the module loads.
import * as z from 'zod';
import { valueAt } from '../util/yaml-file';
import { RISKS, type Risk } from './model';

const ID_RE = /^[a-z][a-z0-9-]*$/;
export const PARAM_RE = /^[a-z][a-z0-9_]*$/;

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
export type ParamSpec = z.infer<typeof ParamSpec>;

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
export type ActionSpec = Pick<StepSpec, 'run' | 'sql' | 'shell'>;

export const TaskSpec = z.strictObject(
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
export type TaskSpec = z.infer<typeof TaskSpec>;

const ALLOWED_KEYS = {
  task: ['id', 'title', 'description', 'risk', 'params', 'steps'],
  string: ['type', 'pattern', 'default', 'secret', 'description'],
  number: ['type', 'min', 'max', 'default', 'secret', 'description'],
  boolean: ['type', 'default', 'secret', 'description'],
  step: ['id', 'title', 'run', 'sql', 'shell', 'timeout', 'rollback', 'irreversible', 'readOnly'],
  rollback: ['run', 'sql', 'shell'],
};

/** The keys a mapping at `path` may have, or null where any key is the schema's to judge. */
export function allowedKeys(path: readonly PropertyKey[], data: unknown): string[] | null {
  if (path.length === 0) return ALLOWED_KEYS.task;
  if (path[0] === 'params' && path.length === 2) {
    const t = valueAt(data, path)?.type;
    return typeof t === 'string' && t in ALLOWED_KEYS ? ALLOWED_KEYS[t as 'string' | 'number' | 'boolean'] : null;
  }
  if (path[0] === 'steps' && path.length === 2) return ALLOWED_KEYS.step;
  if (path[0] === 'steps' && path.length === 3 && path[2] === 'rollback') return ALLOWED_KEYS.rollback;
  return null;
}
