// Checking each line read from the journal: parsed, and every field a reader uses checked by hand.
import { isObj, type JournalEvent, type Obj, type Risk, type RunOutcome, type StepEnd } from './events';

// Hand-written checks, not zod: building the index checks every line of the file, and these
// cost a third or less of the same checks as a zod 4 schema (about 0.5 µs an event against 1.6
// to 2.4 µs; JSON.parse itself takes 1.5 to 2.5 µs: docs/performance.md, "Journal size"). Every
// field a reader uses is checked with its type; fields this ops does not know are left alone (a
// newer ops may add some), and so are the contents of params and values (the task's own).

type Want =
  | 'time'
  | 'string'
  | 'string?'
  | 'string|null'
  | 'number'
  | 'count'
  | 'integer|null'
  | 'pid?'
  | 'boolean'
  | 'object'
  | 'object?'
  | 'risk'
  | 'step outcome'
  | 'run outcome';

const RISKS: ReadonlySet<unknown> = new Set<Risk>(['low', 'medium', 'high', 'critical']);
const STEP_OUTCOMES: ReadonlySet<unknown> = new Set<StepEnd>(['ok', 'failed', 'cancelled', 'timeout']);
const RUN_OUTCOMES: ReadonlySet<unknown> = new Set<RunOutcome>(['succeeded', 'failed', 'cancelled', 'rolled back', 'interrupted', 'refused']);

/**
 * The time (ms) an event's ts gives, or NaN. ops writes `2026-11-23T18:45:00.000Z` (toISOString):
 * that form is read by hand, many times faster than Date.parse; anything else goes to Date.parse.
 */
export function timeMs(ts: string): number {
  if (ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */ && ts[4] === '-' && ts[7] === '-' && ts[10] === 'T' && ts[13] === ':' && ts[16] === ':' && ts[19] === '.') {
    const mo = digits(ts, 5, 2);
    const day = digits(ts, 8, 2);
    const h = digits(ts, 11, 2);
    const mi = digits(ts, 14, 2);
    const sec = digits(ts, 17, 2);
    if (mo >= 1 && mo <= 12 && day >= 1 && day <= 31 && h <= 23 && mi <= 59 && sec <= 59) {
      const ms = Date.UTC(digits(ts, 0, 4), mo - 1, day, h, mi, sec, digits(ts, 20, 3));
      // a day past the month's end (02-30) rolls over into the next month
      if (day <= 28 || new Date(ms).getUTCDate() === day) return ms;
    }
    return NaN;
  }
  return Date.parse(ts);
}

/** The number `n` decimal digits of `s` at `at` give, or NaN. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

function fits(v: unknown, want: Want): boolean {
  switch (want) {
    case 'time':
      return typeof v === 'string' && Number.isFinite(timeMs(v));
    case 'string':
      return typeof v === 'string';
    case 'string?':
      return v === undefined || typeof v === 'string';
    case 'string|null':
      return v === null || typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'integer|null':
      return v === null || Number.isSafeInteger(v);
    case 'pid?':
      return v === undefined || (Number.isSafeInteger(v) && (v as number) > 0);
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return isObj(v);
    case 'object?':
      return v === undefined || isObj(v);
    case 'risk':
      return RISKS.has(v);
    case 'step outcome':
      return STEP_OUTCOMES.has(v);
    case 'run outcome':
      return RUN_OUTCOMES.has(v);
  }
}

const WANTED: Record<Want, string> = {
  time: 'a time (ISO 8601)',
  string: 'a string',
  'string?': 'a string',
  'string|null': 'a string or null',
  number: 'a number',
  count: 'a whole number',
  'integer|null': 'a whole number or null',
  'pid?': 'a process id',
  boolean: 'true or false',
  object: 'an object',
  'object?': 'an object',
  risk: 'a risk level',
  'step outcome': 'a step outcome',
  'run outcome': 'a run outcome',
};

type Shape = readonly (readonly [string, Want])[];

const BASE: Shape = [
  ['ts', 'time'],
  ['seq', 'count'],
  ['run', 'string'],
];
const OPERATOR: Shape = [
  ['user', 'string'],
  ['sudoUser', 'string|null'],
  ['sshClient', 'string|null'],
  ['tty', 'string|null'],
  ['host', 'string'],
  ['pid', 'count'],
];
const STEP_PLAN: Shape = [
  ['id', 'string'],
  ['title', 'string'],
  ['rollback', 'string|null'],
  ['irreversible', 'boolean'],
];
const SHAPES = new Map<string, Shape>([
  [
    'run.start',
    [
      ['task', 'string'],
      ['title', 'string'],
      ['risk', 'risk'],
      ['params', 'object'],
      ['target', 'string'],
      ['dryRun', 'boolean'],
      ['resumeOf', 'string?'],
    ],
  ],
  [
    'step.start',
    [
      ['step', 'string'],
      ['index', 'count'],
      ['attempt', 'count'],
      ['detail', 'string'],
      ['pgid', 'pid?'],
      ['backendPid', 'pid?'],
      ['rollback', 'string?'],
    ],
  ],
  [
    'step.finish',
    [
      ['step', 'string'],
      ['index', 'count'],
      ['outcome', 'step outcome'],
      ['exitCode', 'integer|null'],
      ['durationMs', 'number'],
      ['error', 'string?'],
      ['values', 'object?'],
      ['rollback', 'string?'],
    ],
  ],
  [
    'rollback.start',
    [
      ['step', 'string'],
      ['index', 'count'],
      ['detail', 'string'],
    ],
  ],
  [
    'rollback.finish',
    [
      ['step', 'string'],
      ['index', 'count'],
      ['outcome', 'step outcome'],
      ['exitCode', 'integer|null'],
      ['durationMs', 'number'],
      ['error', 'string?'],
    ],
  ],
  [
    'run.end',
    [
      ['outcome', 'run outcome'],
      ['error', 'string?'],
    ],
  ],
  ['note', [['text', 'string']]],
]);

function misfit(o: Obj, shape: Shape, at: string): string | null {
  for (const [k, want] of shape) {
    const v = o[k];
    if (!fits(v, want)) return `${at}${k} is ${v === undefined ? 'missing' : `not ${WANTED[want]}`}`;
  }
  return null;
}

const str = (v: unknown): boolean => typeof v === 'string';
const strOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const intOrNull = (v: unknown): boolean => v === null || Number.isSafeInteger(v);
const optPid = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) > 0);
const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

/**
 * The same checks as SHAPES, written out per type: each field read by name, which V8 makes far
 * cheaper than reading fields by a key from a table. SHAPES, read only for an event that fails
 * here, says what is wrong with it.
 */
const FAST = new Map<string, (x: Obj) => boolean>([
  [
    'run.start',
    (x) =>
      str(x.task) &&
      str(x.title) &&
      RISKS.has(x.risk) &&
      isObj(x.params) &&
      str(x.target) &&
      typeof x.dryRun === 'boolean' &&
      optStr(x.resumeOf) &&
      (x.operator === null || operatorFits(x.operator)) &&
      Array.isArray(x.steps) &&
      x.steps.every(planFits),
  ],
  ['step.start', (x) => str(x.step) && count(x.index) && count(x.attempt) && str(x.detail) && optPid(x.pgid) && optPid(x.backendPid) && optStr(x.rollback)],
  ['step.finish', (x) => str(x.step) && count(x.index) && STEP_OUTCOMES.has(x.outcome) && intOrNull(x.exitCode) && num(x.durationMs) && optStr(x.error) && (x.values === undefined || isObj(x.values)) && optStr(x.rollback)],
  ['rollback.start', (x) => str(x.step) && count(x.index) && str(x.detail)],
  ['rollback.finish', (x) => str(x.step) && count(x.index) && STEP_OUTCOMES.has(x.outcome) && intOrNull(x.exitCode) && num(x.durationMs) && optStr(x.error)],
  ['run.end', (x) => RUN_OUTCOMES.has(x.outcome) && optStr(x.error)],
  ['note', (x) => str(x.text)],
]);

function operatorFits(op: unknown): boolean {
  return isObj(op) && str(op.user) && strOrNull(op.sudoUser) && strOrNull(op.sshClient) && strOrNull(op.tty) && str(op.host) && count(op.pid);
}

function planFits(p: unknown): boolean {
  return isObj(p) && str(p.id) && str(p.title) && strOrNull(p.rollback) && typeof p.irreversible === 'boolean' && (p.discardsOutput === undefined || typeof p.discardsOutput === 'boolean') && (p.cleanupOnly === undefined || typeof p.cleanupOnly === 'boolean');
}

/**
 * What one parsed line is: an event the readers can use; null for one to skip quietly (a type or
 * version this ops does not know: a newer ops wrote it); otherwise why it is unusable.
 */
export function checkEvent(x: unknown): JournalEvent | string | null {
  if (!isObj(x)) return 'not a JSON object';
  if (x.v !== 1) return typeof x.v === 'number' && Number.isInteger(x.v) && x.v > 1 ? null : 'not a journal event (v is not 1)';
  const type = x.type;
  if (typeof type !== 'string') return 'type is not a string';
  const fast = FAST.get(type);
  if (!fast) return null;
  if (typeof x.ts === 'string' && Number.isFinite(timeMs(x.ts)) && count(x.seq) && typeof x.run === 'string' && x.run !== '' && fast(x)) return x as unknown as JournalEvent;
  return `${type}: ${whyNot(x, type)}`;
}

/** What is wrong with an event that failed its FAST check. */
function whyNot(x: Obj, type: string): string {
  const why = misfit(x, BASE, '') ?? (x.run === '' ? 'run is empty' : null) ?? misfit(x, SHAPES.get(type)!, '');
  if (why) return why;
  if (type === 'run.start') {
    if (x.operator !== null) {
      if (!isObj(x.operator)) return `operator is ${x.operator === undefined ? 'missing' : 'not an object or null'}`;
      const op = misfit(x.operator, OPERATOR, 'operator.');
      if (op) return op;
    }
    if (!Array.isArray(x.steps)) return `steps is ${x.steps === undefined ? 'missing' : 'not a list'}`;
    for (let i = 0; i < x.steps.length; i++) {
      const p: unknown = x.steps[i];
      if (!isObj(p)) return `steps[${i}] is not an object`;
      const st = misfit(p, STEP_PLAN, `steps[${i}].`);
      if (st) return st;
    }
  }
  return 'not what this ops reads';
}

export const NOT_JSON = Symbol('not JSON');

/** The line's JSON; for a torn line followed by a whole event on the same line (no newline
 *  after the tear), the whole event that starts at the last '{"v":'. */
export function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    const at = line.lastIndexOf('{"v":');
    return at > 0 ? parseJson(line.slice(at)) : NOT_JSON;
  }
}

/** One line of the journal: an event, null to skip quietly, or why it is skipped. */
export function readLine(line: string): JournalEvent | string | null {
  const x = parseJson(line);
  if (x === NOT_JSON) return line.trim() === '' ? null : 'not a whole JSON line (cut short, or edited)';
  return checkEvent(x);
}

/** Parses one journal line; a line that is not a usable event (torn, foreign, malformed, future) gives null. */
export function parseLine(line: string): JournalEvent | null {
  const e = readLine(line);
  return typeof e === 'object' ? e : null;
}
