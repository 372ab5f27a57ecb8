// The durable journal of task runs.
//
// One append-only file, `journal.jsonl`, in the state directory: one JSON event per line, each
// written with a single write(2) on an O_APPEND descriptor and fsynced before `append` returns,
// so a crash, a Ctrl-C or a dropped SSH session leaves exactly the events of what ran. Both the
// start and the end of every step are journalled: a step with a start and no finish ran, with an
// unknown outcome. Every run's full output goes to its own log file, `runs/<run>.log`, beside it.
//
// Reading never throws on a damaged file. Every line is checked when read: an event whose fields
// are not what the readers use (a wrong type, a missing field) is skipped with one warning naming
// its line, and hides nothing else. A last line without its newline (a write cut short by a
// crash, or one still being written) and events of unknown (future) types or versions are
// skipped quietly.
//
// Reading does not scale with the file: `journal.jsonl.idx` beside it (see JournalIndex) keeps,
// for every run, where its events are, so listing the newest runs or showing one reads only
// their lines. The index is a cache the journal never depends on: appends do not touch it, a
// reader brings it up to date from the lines appended since (by any process), and one that no
// longer matches the file (replaced, truncated, edited) is rebuilt from the file.
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { endianness, hostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { getSystemErrorMap } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from './config/load';
import { redact } from './util/redact';

// ---------------------------------------------------------------- where

/** `$OPS_STATE_DIR`, else `$XDG_STATE_HOME/ops-console`, else `~/.local/state/ops-console`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPS_STATE_DIR) return env.OPS_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'ops-console');
  return join(env.HOME || homedir(), '.local', 'state', 'ops-console');
}

// ---------------------------------------------------------------- who

export interface Operator {
  user: string;
  sudoUser: string | null;
  /** the client address: first field of $SSH_CLIENT or $SSH_CONNECTION */
  sshClient: string | null;
  /** the terminal on stdin (/dev/pts/N), or null when stdin is not a terminal */
  tty: string | null;
  host: string;
  pid: number;
}

export function operatorIdentity(env: NodeJS.ProcessEnv = process.env): Operator {
  let user = env.USER || env.LOGNAME || '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = `uid ${process.getuid?.() ?? '?'}`;
    }
  }
  const ssh = (env.SSH_CLIENT || env.SSH_CONNECTION || '').trim();
  let tty: string | null = null;
  if (isatty(0)) {
    try {
      tty = readlinkSync('/proc/self/fd/0');
    } catch {
      tty = env.SSH_TTY || 'tty';
    }
  }
  return {
    user,
    sudoUser: env.SUDO_USER || null,
    sshClient: ssh ? ssh.split(/\s+/)[0] : null,
    tty,
    host: hostname(),
    pid: process.pid,
  };
}

/** `user@sshClient`; under sudo `user(sudoUser)@sshClient`. */
export function formatOperator(op: Operator | null | undefined): string {
  if (!op) return '?';
  const who = op.sudoUser && op.sudoUser !== op.user ? `${op.user}(${op.sudoUser})` : op.user;
  return op.sshClient ? `${who}@${op.sshClient}` : who;
}


// ---------------------------------------------------------------- events

export type Risk = 'low' | 'medium' | 'high' | 'critical';
export type StepOutcome = 'ok' | 'failed' | 'cancelled' | 'timeout';
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'rolled back' | 'interrupted' | 'refused';

export interface EventBase {
  v: 1;
  /** ISO 8601, UTC */
  ts: string;
  /** per run, from 1 */
  seq: number;
  run: string;
}

export interface StepPlan {
  id: string;
  title: string;
  /** what undoes the step (display), or null when nothing does */
  rollback: string | null;
  irreversible: boolean;
}

export interface RunStartEvent extends EventBase {
  type: 'run.start';
  task: string;
  title: string;
  risk: Risk;
  params: Record<string, unknown>;
  target: string;
  operator: Operator | null;
  steps: StepPlan[];
  dryRun: boolean;
  resumeOf?: string;
}

export interface StepStartEvent extends EventBase {
  type: 'step.start';
  step: string;
  index: number;
  attempt: number;
  /** the exact command (argv joined) or SQL */
  detail: string;
  /** the process group of the step's command (a command step), to find it after ops died */
  pgid?: number;
  /** the backend pid of the task's database connection when the step started */
  backendPid?: number;
}

export interface StepFinishEvent extends EventBase {
  type: 'step.finish';
  step: string;
  index: number;
  outcome: StepOutcome;
  exitCode: number | null;
  durationMs: number;
  error?: string;
  /** values the step passed forward */
  values?: Record<string, unknown>;
}

export interface RollbackStartEvent extends EventBase {
  type: 'rollback.start';
  step: string;
  index: number;
  detail: string;
}

export interface RollbackFinishEvent extends EventBase {
  type: 'rollback.finish';
  step: string;
  index: number;
  outcome: StepOutcome;
  exitCode: number | null;
  durationMs: number;
  error?: string;
}

export interface RunEndEvent extends EventBase {
  type: 'run.end';
  outcome: RunOutcome;
  error?: string;
}

export interface NoteEvent extends EventBase {
  type: 'note';
  text: string;
}

export type JournalEvent =
  | RunStartEvent
  | StepStartEvent
  | StepFinishEvent
  | RollbackStartEvent
  | RollbackFinishEvent
  | RunEndEvent
  | NoteEvent;

export type JournalEventType = JournalEvent['type'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What `append` takes: an event without `v`, and with `ts` and `seq` optional (filled in). */
export type JournalEventInput = DistributiveOmit<JournalEvent, 'v' | 'ts' | 'seq'> & { ts?: string; seq?: number };

/**
 * An event as another module builds it: the task engine stamps `v`, `ts` and `seq` itself
 * (tasks/engine.ts's JournalSink). Written as given (redacted and size-limited like any other).
 */
export interface LooseEventInput {
  v?: 1;
  ts?: string;
  seq?: number;
  run: string;
  type: string;
  [k: string]: unknown;
}

/** An event of any type, as `looseEvents` gives it. */
export type LooseEvent = LooseEventInput & { v: 1; ts: string; seq: number };

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isLooseEvent(x: unknown): x is LooseEvent {
  return isObj(x) && x.v === 1 && typeof x.run === 'string' && typeof x.ts === 'string' && typeof x.type === 'string';
}

// ---------------------------------------------------------------- checking what is read
//
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
const STEP_OUTCOMES: ReadonlySet<unknown> = new Set<StepOutcome>(['ok', 'failed', 'cancelled', 'timeout']);
const RUN_OUTCOMES: ReadonlySet<unknown> = new Set<RunOutcome>(['succeeded', 'failed', 'cancelled', 'rolled back', 'interrupted', 'refused']);

/**
 * The time (ms) an event's ts gives, or NaN. ops writes `2026-11-23T18:45:00.000Z` (toISOString):
 * that form is read by hand, many times faster than Date.parse; anything else goes to Date.parse.
 */
function timeMs(ts: string): number {
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
  ['step.start', (x) => str(x.step) && count(x.index) && count(x.attempt) && str(x.detail) && optPid(x.pgid) && optPid(x.backendPid)],
  ['step.finish', (x) => str(x.step) && count(x.index) && STEP_OUTCOMES.has(x.outcome) && intOrNull(x.exitCode) && num(x.durationMs) && optStr(x.error) && (x.values === undefined || isObj(x.values))],
  ['rollback.start', (x) => str(x.step) && count(x.index) && str(x.detail)],
  ['rollback.finish', (x) => str(x.step) && count(x.index) && STEP_OUTCOMES.has(x.outcome) && intOrNull(x.exitCode) && num(x.durationMs) && optStr(x.error)],
  ['run.end', (x) => RUN_OUTCOMES.has(x.outcome) && optStr(x.error)],
  ['note', (x) => str(x.text)],
]);

function operatorFits(op: unknown): boolean {
  return isObj(op) && str(op.user) && strOrNull(op.sudoUser) && strOrNull(op.sshClient) && strOrNull(op.tty) && str(op.host) && count(op.pid);
}

function planFits(p: unknown): boolean {
  return isObj(p) && str(p.id) && str(p.title) && strOrNull(p.rollback) && typeof p.irreversible === 'boolean';
}

/**
 * What one parsed line is: an event the readers can use; null for one to skip quietly (a type or
 * version this ops does not know: a newer ops wrote it); otherwise why it is unusable.
 */
function checkEvent(x: unknown): JournalEvent | string | null {
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

const NOT_JSON = Symbol('not JSON');

/** The line's JSON; for a torn line followed by a whole event on the same line (no newline
 *  after the tear), the whole event that starts at the last '{"v":'. */
function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    const at = line.lastIndexOf('{"v":');
    return at > 0 ? parseJson(line.slice(at)) : NOT_JSON;
  }
}

/** One line of the journal: an event, null to skip quietly, or why it is skipped. */
function readLine(line: string): JournalEvent | string | null {
  const x = parseJson(line);
  if (x === NOT_JSON) return line.trim() === '' ? null : 'not a whole JSON line (cut short, or edited)';
  return checkEvent(x);
}

/** Parses one journal line; a line that is not a usable event (torn, foreign, malformed, future) gives null. */
export function parseLine(line: string): JournalEvent | null {
  const e = readLine(line);
  return typeof e === 'object' ? e : null;
}

// ---------------------------------------------------------------- sanitising

/** Longest string kept in an event (error texts, SQL, command lines). */
export const MAX_STRING = 2000;
/** Events longer than this are shrunk further, so concurrent appends stay single small writes. */
export const MAX_LINE = 16 * 1024;
const MAX_ARRAY = 200;
const MAX_DEPTH = 8;
const SECRET_KEY = /pass(word|wd)?$|^pwd$|secret|token|api[-_]?key|credential/i;
// `PGPASSWORD=...` and the like in command lines (redact() only knows `password=`).
const ENV_ASSIGN_SECRET = /\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN))=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)/gi;

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

interface Scrubber {
  secrets: readonly string[];
  maxString: number;
}

function scrubString(s: string, sc: Scrubber): string {
  const out = redact(s, sc.secrets).replace(ENV_ASSIGN_SECRET, (_m, k: string) => `${k}=***`);
  return cut(out, sc.maxString);
}

/** A JSON-safe, redacted, size-limited copy of `v`. */
function scrub(v: unknown, sc: Scrubber, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof v === 'string') return scrubString(v, sc);
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Error) return scrubString(v.message, sc);
  if (typeof v !== 'object') return undefined;
  if (seen.has(v)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(v);
  try {
    if (Array.isArray(v)) {
      const out = v.slice(0, MAX_ARRAY).map((x) => scrub(x, sc, depth + 1, seen) ?? null);
      if (v.length > MAX_ARRAY) out.push(`[${v.length - MAX_ARRAY} more]`);
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const y = typeof x === 'string' && SECRET_KEY.test(k) && x !== '' ? '***' : scrub(x, sc, depth + 1, seen);
      if (y !== undefined) out[k] = y;
    }
    return out;
  } finally {
    seen.delete(v);
  }
}


// ---------------------------------------------------------------- summaries

export type StepStatus = 'pending' | 'started' | StepOutcome;

export interface StepSummary {
  id: string;
  title: string;
  /** 'started': a start and no finish, so it ran with an unknown outcome */
  status: StepStatus;
  rolledBack: boolean;
  rollback: string | null;
  irreversible: boolean;
  /** 'none' when no rollback of this step was started */
  rollbackStatus: 'none' | 'started' | StepOutcome;
  attempts: number;
  durationMs: number | null;
  exitCode: number | null;
  error?: string;
  /**
   * The process group of the step's last start (null when it recorded none): with status
   * 'started', what may still run ("outcome unknown, its process group N"). Always set by
   * summarize; optional only so that summaries built by hand need not name it.
   */
  pgid?: number | null;
  /** the task connection's backend pid at the step's last start, or null */
  backendPid?: number | null;
}

export interface RunSummary {
  run: string;
  task: string;
  title: string;
  risk: Risk | '?';
  target: string;
  operator: Operator | null;
  startedAt: string;
  endedAt: string | null;
  /** 'unfinished': no run.end (still running, or the process died) */
  outcome: RunOutcome | 'unfinished';
  error?: string;
  dryRun: boolean;
  resumeOf?: string;
  steps: StepSummary[];
  /** completed (ok) steps with a rollback that has not been applied */
  pendingRollbacks: number;
  notes: { ts: string; text: string }[];
}

function emptySummary(run: string, ts: string): RunSummary {
  return {
    run,
    task: '?',
    title: '?',
    risk: '?',
    target: '?',
    operator: null,
    startedAt: ts,
    endedAt: null,
    outcome: 'unfinished',
    dryRun: false,
    steps: [],
    pendingRollbacks: 0,
    notes: [],
  };
}

function newStep(id: string, title: string, rollback: string | null, irreversible: boolean): StepSummary {
  return { id, title, status: 'pending', rolledBack: false, rollback, irreversible, rollbackStatus: 'none', attempts: 0, durationMs: null, exitCode: null, pgid: null, backendPid: null };
}

function stepFor(s: RunSummary, id: string, index: unknown): StepSummary {
  let step = s.steps.find((x) => x.id === id);
  if (!step && typeof index === 'number' && s.steps[index]?.id === id) step = s.steps[index];
  if (!step) {
    step = newStep(id, id, null, false);
    s.steps.push(step);
  }
  return step;
}

/** Folds one more event of the run (in journal order) into its summary. */
function fold(s: RunSummary, e: JournalEvent): void {
  switch (e.type) {
    case 'run.start':
      s.task = String(e.task ?? '?');
      s.title = String(e.title ?? s.task);
      s.risk = e.risk ?? '?';
      s.target = String(e.target ?? '?');
      s.operator = isObj(e.operator) ? e.operator : null;
      s.startedAt = e.ts;
      s.dryRun = e.dryRun === true;
      if (e.resumeOf) s.resumeOf = e.resumeOf;
      s.steps = (Array.isArray(e.steps) ? e.steps : []).filter(isObj).map((p) => newStep(String(p.id), String(p.title ?? p.id), p.rollback ?? null, p.irreversible === true));
      break;
    case 'step.start': {
      const st = stepFor(s, e.step, e.index);
      st.status = 'started';
      st.attempts = Math.max(st.attempts + 1, typeof e.attempt === 'number' ? e.attempt : 0);
      st.durationMs = null;
      st.exitCode = null;
      st.pgid = typeof e.pgid === 'number' ? e.pgid : null;
      st.backendPid = typeof e.backendPid === 'number' ? e.backendPid : null;
      delete st.error;
      break;
    }
    case 'step.finish': {
      const st = stepFor(s, e.step, e.index);
      st.status = e.outcome;
      st.durationMs = typeof e.durationMs === 'number' ? e.durationMs : null;
      st.exitCode = e.exitCode ?? null;
      if (e.error) st.error = e.error;
      break;
    }
    case 'rollback.start':
      stepFor(s, e.step, e.index).rollbackStatus = 'started';
      break;
    case 'rollback.finish': {
      const st = stepFor(s, e.step, e.index);
      st.rollbackStatus = e.outcome;
      if (e.outcome === 'ok') st.rolledBack = true;
      break;
    }
    case 'run.end':
      s.outcome = e.outcome;
      s.endedAt = e.ts;
      if (e.error) s.error = e.error;
      break;
    case 'note':
      s.notes.push({ ts: e.ts, text: String(e.text) });
      break;
  }
}

function finish(s: RunSummary): RunSummary {
  s.pendingRollbacks = s.steps.filter((x) => x.status === 'ok' && x.rollback !== null && !x.rolledBack).length;
  return s;
}

/** Folds one run's events (in journal order) into its summary. */
export function summarize(run: string, events: readonly JournalEvent[]): RunSummary {
  const s = emptySummary(run, events[0]?.ts ?? '');
  for (const e of events) fold(s, e);
  return finish(s);
}

// ---------------------------------------------------------------- failures

/**
 * A file in the state directory (the journal, a run log) that could not be written: one line
 * naming the file and the error, e.g. `run log: cannot write /x/runs/ID.log: ENOSPC (no space
 * left on device)`.
 */
export class StateWriteError extends UserError {
  /** the file (or directory) that could not be written */
  readonly path: string;
  /** the errno code (ENOSPC, EACCES, EIO, ...), or null */
  readonly code: string | null;

  constructor(what: string, path: string, cause: unknown, verb = 'write') {
    super(`${what}: cannot ${verb} ${path}: ${errnoText(cause)}`);
    this.name = 'StateWriteError';
    this.path = path;
    this.code = errnoCode(cause);
  }
}

function errnoCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** `ENOSPC (no space left on device)`; the first line of the message for other errors. */
function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null;
  const code = errnoCode(err);
  const message = String(e?.message ?? err).split('\n')[0];
  if (!code) return message;
  const said = new RegExp(`^${code}: ([^,]+)`).exec(message)?.[1] ?? (typeof e?.errno === 'number' ? getSystemErrorMap().get(e.errno)?.[1] : undefined);
  return said ? `${code} (${said})` : code;
}

// ---------------------------------------------------------------- the index

/** A run with lines read since the index file was written (all runs, after a rebuild). */
interface RunEntry {
  id: string;
  /** its place among the stored runs, or -1 for a run the index file does not have */
  bi: number;
  /** when it first appears in the journal: of two runs that started at the same time, the later is newer */
  order: number;
  /** its start (ms): of its (last) run.start, else of its first event, as its summary has it */
  startMs: number;
  /** a stored run with a run.start among these lines: startMs replaces the stored start */
  moved: boolean;
  /** its highest seq in these lines */
  seq: number;
  /** [offset, length, offset, length, ...] of these lines, in file order, adjacent lines merged */
  ranges: number[];
}

/** A run, wherever the index keeps it. */
interface RunRef {
  id: string;
  order: number;
  startMs: number;
  /** among the stored runs, or -1 */
  bi: number;
  /** its lines read since, or null */
  entry: RunEntry | null;
}

/**
 * The index file's runs, as the file holds them: number arrays read straight from its bytes and
 * one buffer of all ids, so that a reader decodes only the runs it uses.
 */
interface Store {
  n: number;
  /** start of each run (ms) */
  starts: Float64Array;
  seqs: Float64Array;
  /** n + 1: run i's ranges are ranges[rangeAt[i]] up to ranges[rangeAt[i + 1]] */
  rangeAt: Float64Array;
  ranges: Float64Array;
  /** n + 1: run i's id is the bytes of ids from idAt[i] up to idAt[i + 1] */
  idAt: Float64Array;
  ids: Buffer;
}

const INDEX_MAGIC = 'OPSJIX01';
/** bytes hashed at the start of the journal and before the end of what the index covers */
const FINGERPRINT = 4096;
/** journals smaller than this are read whole (a few ms) and get no index file */
const INDEX_MIN_BYTES = 1 << 20;
/** the index file is written again once this many bytes were read past it */
const INDEX_SAVE_AFTER = 256 * 1024;
/** unreadable lines the index lists (all are counted) */
const MAX_BAD = 1000;
/** warnings given one line each; the rest are counted in one more */
const MAX_WARNINGS = 10;
/** reading runs' lines: ranges closer than this share one read, of at most READ_WINDOW bytes */
const READ_GAP = 64 * 1024;
const READ_WINDOW = 4 << 20;
const SCAN_CHUNK = 1 << 20;
/** lookups of stored ids by search before a Map of them is built */
const SEARCHES_BEFORE_MAP = 16;

/** The index does not describe the file any more (edited in place): rebuilt, and read again. */
class StaleIndex extends Error {}

function readFully(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new StaleIndex('the journal is shorter than its index says');
    off += n;
  }
}

function fingerprint(fd: number, from: number, to: number): string {
  if (to <= from) return '';
  const buf = Buffer.allocUnsafe(to - from);
  readFully(fd, buf, from);
  return createHash('sha1').update(buf).digest('hex');
}

/**
 * Calls `line(text, offset, length)` for each line of `fd` between `from` and `to` that ends
 * with a newline (`length` counts it). Returns the offset after the last one: a last line with
 * no newline yet (cut short by a crash, or being written now) is left for a later read.
 */
function eachLine(fd: number, from: number, to: number, line: (text: string, off: number, len: number) => void): number {
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(to - from, 1)));
  let pos = from; // the file offset of buf[0]
  let have = 0; // bytes in buf, from pos
  while (pos + have < to) {
    if (have === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    const n = readSync(fd, buf, have, Math.min(buf.length - have, to - pos - have), pos + have);
    if (n === 0) break;
    have += n;
    const view = buf.subarray(0, have);
    let start = 0;
    for (let nl = view.indexOf(10, start); nl !== -1; nl = view.indexOf(10, start)) {
      line(view.toString('utf8', start, nl), pos + start, nl + 1 - start);
      start = nl + 1;
    }
    if (start > 0) {
      buf.copy(buf, 0, start, have);
      have -= start;
      pos += start;
    }
  }
  return pos;
}

/** Float64 views of `count` numbers at `off` of `buf` (copied when not 8-byte aligned). */
function float64s(buf: Buffer, off: number, count: number): Float64Array {
  const at = buf.byteOffset + off;
  if (at % 8 === 0) return new Float64Array(buf.buffer, at, count);
  return new Float64Array(buf.buffer.slice(at, at + count * 8));
}

/**
 * Where each run's lines are in the journal, and which lines are unreadable. Built by reading
 * every line once, in order; kept up to date by reading the lines appended since. `covered`
 * bytes of the file are in it; `head` and `tail` hash the file's first bytes and the bytes
 * before `covered`, and with the inode tell whether the file is still the one indexed. Runs are
 * in `store` (as the index file had them) and `delta` (lines read since).
 */
class JournalIndex {
  covered = 0;
  lines = 0;
  ino = 0;
  dev = 0;
  head = '';
  tail = '';
  /** `covered` when the index file was last written or read */
  saved = 0;
  store: Store | null = null;
  readonly delta = new Map<string, RunEntry>();
  private readonly deltaList: RunEntry[] = [];
  /** stored runs that a run.start since moved */
  private readonly moved = new Set<number>();
  private fresh = 0;
  private storeMap: Map<string, number> | null = null;
  private searches = 0;
  /** the highest seq of each run in lines of types this ops does not know (checklist journals) */
  readonly looseSeq = new Map<string, number>();
  /** [line number, why], the first MAX_BAD */
  readonly bad: [number, string][] = [];
  badCount = 0;

  constructor(st?: Stats) {
    if (st) {
      this.ino = st.ino;
      this.dev = st.dev;
    }
  }

  /** How many runs. */
  get size(): number {
    return (this.store?.n ?? 0) + this.fresh;
  }

  private storedId(i: number): string {
    const s = this.store!;
    return s.ids.toString('utf8', s.idAt[i], s.idAt[i + 1]);
  }

  /** The stored run whose id starts at byte `at` of the ids, or -1. */
  private storedAt(at: number): number {
    const s = this.store!;
    let lo = 0;
    let hi = s.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = s.idAt[mid];
      if (v === at) return mid;
      if (v < at) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Stored runs whose id starts with `prefix` (all the places of `prefix` at the start of an id). */
  private storedStartingWith(prefix: string): number[] {
    const s = this.store;
    const needle = Buffer.from(prefix);
    const out: number[] = [];
    if (!s || needle.length === 0) return out;
    for (let at = s.ids.indexOf(needle); at !== -1; at = s.ids.indexOf(needle, at + 1)) {
      const i = this.storedAt(at);
      if (i !== -1 && s.idAt[i + 1] - at >= needle.length) out.push(i);
    }
    return out;
  }

  /** The stored run with this id, or -1. */
  private storedIndexOf(id: string): number {
    const s = this.store;
    if (!s || s.n === 0) return -1;
    if (!this.storeMap && ++this.searches > SEARCHES_BEFORE_MAP) {
      this.storeMap = new Map();
      for (let i = 0; i < s.n; i++) this.storeMap.set(this.storedId(i), i);
    }
    if (this.storeMap) return this.storeMap.get(id) ?? -1;
    const bytes = Buffer.byteLength(id);
    return this.storedStartingWith(id).find((i) => s.idAt[i + 1] - s.idAt[i] === bytes) ?? -1;
  }

  private storedRef(i: number): RunRef {
    const id = this.storedId(i);
    const entry = this.delta.get(id) ?? null;
    return { id, order: i, startMs: entry?.moved ? entry.startMs : this.store!.starts[i], bi: i, entry };
  }

  private entryRef(entry: RunEntry): RunRef {
    return { id: entry.id, order: entry.order, startMs: entry.startMs, bi: entry.bi, entry };
  }

  /** The run with this id, or null. */
  ref(id: string): RunRef | null {
    const entry = this.delta.get(id);
    if (entry) return this.entryRef(entry);
    const i = this.storedIndexOf(id);
    return i === -1 ? null : this.storedRef(i);
  }

  /** The ids that start with `prefix`. */
  idsStartingWith(prefix: string): string[] {
    const out = new Set<string>(this.storedStartingWith(prefix).map((i) => this.storedId(i)));
    for (const e of this.deltaList) if (e.bi === -1 && e.id.startsWith(prefix)) out.add(e.id);
    return [...out];
  }

  /** The run's highest seq. */
  seqOf(id: string): number {
    const r = this.ref(id);
    if (!r) return this.looseSeq.get(id) ?? 0;
    return Math.max(r.bi === -1 ? 0 : this.store!.seqs[r.bi], r.entry?.seq ?? 0, this.looseSeq.get(id) ?? 0);
  }

  /** The run's lines: [offset, length, ...] in file order. */
  rangesOf(r: RunRef): number[] {
    const out: number[] = [];
    if (r.bi !== -1) {
      const s = this.store!;
      for (let k = s.rangeAt[r.bi]; k < s.rangeAt[r.bi + 1]; k++) out.push(s.ranges[k]);
    }
    if (r.entry) for (const x of r.entry.ranges) out.push(x);
    return out;
  }

  /** `limit` runs (all without one), newest first: by start time, then by their order in the journal. */
  newest(limit?: number): RunRef[] {
    const s = this.store;
    const n = s?.n ?? 0;
    const later = (a: RunRef, b: RunRef) => a.startMs > b.startMs || (a.startMs === b.startMs && a.order > b.order);
    if (limit === undefined || limit < 0 || limit >= this.size) {
      const all: RunRef[] = [];
      for (let i = 0; i < n; i++) all.push(this.storedRef(i));
      for (const e of this.deltaList) if (e.bi === -1) all.push(this.entryRef(e));
      return all.sort((a, b) => (later(a, b) ? -1 : later(b, a) ? 1 : 0));
    }
    const top: RunRef[] = [];
    if (limit === 0) return top;
    const beats = (ms: number, order: number) => {
      if (top.length < limit) return true;
      const last = top[limit - 1];
      return ms > last.startMs || (ms === last.startMs && order > last.order);
    };
    const insert = (r: RunRef) => {
      let j = top.length;
      while (j > 0 && later(r, top[j - 1])) j--;
      top.splice(j, 0, r);
      if (top.length > limit) top.pop();
    };
    // from the end: the journal is mostly in time order, so nearly every older run is passed
    // over after one comparison
    const starts = s?.starts;
    for (let i = n - 1; i >= 0; i--) if (beats(starts![i], i) && !this.moved.has(i)) insert(this.storedRef(i));
    for (const e of this.deltaList) if ((e.bi === -1 || e.moved) && beats(e.startMs, e.order)) insert(this.entryRef(e));
    return top;
  }

  /** Takes in the journal's next line: `len` bytes at `off`, its newline included. */
  add(text: string, off: number, len: number): void {
    this.lines++;
    const x = parseJson(text);
    const e = x === NOT_JSON ? (text.trim() === '' ? null : 'not a whole JSON line (cut short, or edited)') : checkEvent(x);
    if (e === null) {
      if (isLooseEvent(x) && Number.isSafeInteger(x.seq)) this.looseSeq.set(x.run, Math.max(this.looseSeq.get(x.run) ?? 0, x.seq));
      return;
    }
    if (typeof e === 'string') {
      this.badCount++;
      if (this.bad.length < MAX_BAD) this.bad.push([this.lines, e]);
      return;
    }
    let entry = this.delta.get(e.run);
    if (!entry) {
      const bi = this.storedIndexOf(e.run);
      entry = { id: e.run, bi, order: bi === -1 ? (this.store?.n ?? 0) + this.fresh++ : bi, startMs: bi === -1 ? timeMs(e.ts) : this.store!.starts[bi], moved: false, seq: 0, ranges: [] };
      this.delta.set(e.run, entry);
      this.deltaList.push(entry);
    }
    if (e.type === 'run.start') {
      entry.startMs = timeMs(e.ts);
      if (entry.bi !== -1) {
        entry.moved = true;
        this.moved.add(entry.bi);
      }
    }
    if (e.seq > entry.seq) entry.seq = e.seq;
    const r = entry.ranges;
    const k = r.length;
    if (k > 0 && r[k - 2] + r[k - 1] === off) r[k - 1] += len;
    else r.push(off, len);
  }

  /** Reads the lines appended since, up to `size`. */
  catchUp(fd: number, size: number): void {
    if (size <= this.covered) return;
    this.covered = eachLine(fd, this.covered, size, (text, off, len) => this.add(text, off, len));
    this.head = fingerprint(fd, 0, Math.min(FINGERPRINT, this.covered));
    this.tail = fingerprint(fd, Math.max(0, this.covered - FINGERPRINT), this.covered);
  }

  /** Whether this still indexes the file open on `fd`: the same file, grown or not, with the same bytes at both ends. */
  describes(fd: number, st: Stats): boolean {
    if (st.ino !== this.ino || st.dev !== this.dev || st.size < this.covered) return false;
    try {
      return fingerprint(fd, 0, Math.min(FINGERPRINT, this.covered)) === this.head && fingerprint(fd, Math.max(0, this.covered - FINGERPRINT), this.covered) === this.tail;
    } catch {
      return false;
    }
  }

  /**
   * The index file: the magic, a header's length (4 bytes) and 4 zero bytes, the header (JSON),
   * zeros up to a multiple of 8, then the arrays of Store (in this machine's byte order) and the
   * ids.
   */
  toBuffer(): Buffer {
    const s = this.store;
    const n0 = s?.n ?? 0;
    const added = this.deltaList.filter((e) => e.bi === -1);
    const n = n0 + added.length;
    const since: (RunEntry | undefined)[] = new Array(n0);
    let m = s ? s.ranges.length : 0;
    for (const e of this.deltaList) {
      if (e.bi !== -1) since[e.bi] = e;
      m += e.ranges.length;
    }
    const starts = new Float64Array(n);
    const seqs = new Float64Array(n);
    const rangeAt = new Float64Array(n + 1);
    const ranges = new Float64Array(m);
    const idAt = new Float64Array(n + 1);
    const addedIds = added.map((e) => Buffer.from(e.id));
    const ids = Buffer.concat([s ? s.ids.subarray(0, s.idAt[n0]) : Buffer.alloc(0), ...addedIds]);
    let k = 0;
    for (let i = 0; i < n0; i++) {
      const e = since[i];
      starts[i] = e?.moved ? e.startMs : s!.starts[i];
      seqs[i] = Math.max(s!.seqs[i], e?.seq ?? 0);
      rangeAt[i] = k;
      for (let r = s!.rangeAt[i]; r < s!.rangeAt[i + 1]; r++) ranges[k++] = s!.ranges[r];
      if (e) for (const x of e.ranges) ranges[k++] = x;
      idAt[i] = s!.idAt[i];
    }
    let idOff = n0 ? s!.idAt[n0] : 0;
    added.forEach((e, j) => {
      const i = n0 + j;
      starts[i] = e.startMs;
      seqs[i] = e.seq;
      rangeAt[i] = k;
      for (const x of e.ranges) ranges[k++] = x;
      idAt[i] = idOff;
      idOff += addedIds[j].length;
    });
    rangeAt[n] = k;
    idAt[n] = idOff;
    const header = Buffer.from(
      JSON.stringify({
        covered: this.covered,
        lines: this.lines,
        ino: this.ino,
        dev: this.dev,
        head: this.head,
        tail: this.tail,
        badCount: this.badCount,
        bad: this.bad,
        loose: [...this.looseSeq],
        n,
        m,
        endian: endianness(),
      }),
    );
    const at = Math.ceil((16 + header.length) / 8) * 8;
    const top = Buffer.alloc(at);
    top.write(INDEX_MAGIC, 0, 'latin1');
    top.writeUInt32LE(header.length, 8);
    header.copy(top, 16);
    const arrays = [starts, seqs, rangeAt, ranges, idAt].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    return Buffer.concat([top, ...arrays, ids]);
  }

  /** The index an index file holds, when it is whole and belongs to the file open on `fd`; else null. */
  static from(buf: Buffer, fd: number, st: Stats): JournalIndex | null {
    if (buf.length < 16 || buf.toString('latin1', 0, 8) !== INDEX_MAGIC) return null;
    const hlen = buf.readUInt32LE(8);
    if (16 + hlen > buf.length) return null;
    const h: unknown = JSON.parse(buf.toString('utf8', 16, 16 + hlen));
    if (!isObj(h) || h.endian !== endianness()) return null;
    const { covered, lines, ino, dev, head, tail, badCount, bad, loose, n, m } = h;
    if (![covered, lines, ino, dev, badCount, n, m].every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) return null;
    if (typeof head !== 'string' || typeof tail !== 'string' || !Array.isArray(bad) || !Array.isArray(loose)) return null;
    const runs = n as number;
    const count = m as number;
    let at = Math.ceil((16 + hlen) / 8) * 8;
    const take = (k: number) => {
      const a = float64s(buf, at, k);
      at += k * 8;
      return a;
    };
    if (at + (4 * runs + 2 + count) * 8 > buf.length) return null;
    const store: Store = { n: runs, starts: take(runs), seqs: take(runs), rangeAt: take(runs + 1), ranges: take(count), idAt: take(runs + 1), ids: buf.subarray(at) };
    if (store.rangeAt[runs] !== count || store.idAt[runs] !== store.ids.length) return null;
    const ix = new JournalIndex();
    Object.assign(ix, { covered, lines, ino, dev, head, tail, badCount, saved: covered, store });
    if (!ix.describes(fd, st)) return null;
    for (const b of bad) if (Array.isArray(b) && typeof b[0] === 'number' && typeof b[1] === 'string') ix.bad.push([b[0], b[1]]);
    for (const l of loose) if (Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'number') ix.looseSeq.set(l[0], l[1]);
    return ix;
  }
}

// ---------------------------------------------------------------- warnings

let warningHandler: ((message: string) => void) | null = null;
const warnedInProcess = new Set<string>();

/**
 * Where journals without an `onWarning` of their own send their warnings (a line skipped as
 * unreadable): once per line and file in the process, whichever Journal read it. The CLI prints
 * them to stderr; the console gathers them into a notice. Null (the default): they are only kept
 * in each Journal's `warnings`.
 */
export function setJournalWarningHandler(handler: ((message: string) => void) | null): void {
  warningHandler = handler;
}

// ---------------------------------------------------------------- the journal

export interface JournalOptions {
  /** more strings never to write (the target's password, tokens); PGPASSWORD is always included */
  secrets?: readonly (string | null | undefined)[];
  /** where PGPASSWORD and DATABASE_URL are read from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** the file's name in the directory (default journal.jsonl; checklists keep checklists.jsonl) */
  file?: string;
  /** keep an index file beside the journal (`<file>.idx`); default: for journal.jsonl only */
  index?: boolean;
  /** journals smaller than this many bytes are read whole and get no index file (default 1 MiB) */
  indexMinBytes?: number;
  /**
   * Called once with each warning (an unreadable line, skipped), instead of the handler set by
   * setJournalWarningHandler.
   */
  onWarning?: (message: string) => void;
}

export interface OpenLogOptions {
  /** called once, with the first write to the log that failed (see LogWriter.failed) */
  onError?: (err: StateWriteError) => void;
}

function envSecrets(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (env.PGPASSWORD) out.push(env.PGPASSWORD);
  if (env.DATABASE_URL) {
    try {
      const pw = new URL(env.DATABASE_URL).password;
      if (pw) out.push(pw, decodeURIComponent(pw));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  return out;
}

function ownedByMe(path: string): boolean {
  try {
    return statSync(path).uid === process.getuid?.();
  } catch {
    return false;
  }
}

/** Creates the directory 0700 (a StateWriteError when it cannot be). */
function ensurePrivateDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateWriteError(what, dir, err, 'create');
  }
  try {
    if ((statSync(dir).mode & 0o777) !== 0o700 && ownedByMe(dir)) chmodSync(dir, 0o700);
  } catch {
    // best effort: a directory we do not own keeps its mode
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export class Journal {
  readonly dir: string;
  /** the journal file: `<dir>/journal.jsonl` */
  readonly file: string;
  /** the index beside it: `<file>.idx` */
  readonly indexFile: string;
  private fd: number | null = null;
  private readonly seqs = new Map<string, number>();
  private secretList: string[];
  private readonly indexed: boolean;
  /** the task journal: its unreadable lines are warned about (other journals check their own) */
  private readonly taskEvents: boolean;
  private readonly indexMin: number;
  private ix: JournalIndex | null = null;
  private readonly onWarning: ((message: string) => void) | null;
  private readonly warningList: string[] = [];
  private readonly warnedLines = new Set<number>();
  private moreWarned = 0;

  constructor(dir: string = stateDir(), opts: JournalOptions = {}) {
    this.dir = dir;
    this.file = join(dir, opts.file ?? 'journal.jsonl');
    this.indexFile = `${this.file}.idx`;
    this.taskEvents = opts.file === undefined || opts.file === 'journal.jsonl';
    this.indexed = opts.index ?? this.taskEvents;
    this.indexMin = opts.indexMinBytes ?? INDEX_MIN_BYTES;
    this.onWarning = opts.onWarning ?? null;
    this.secretList = [...envSecrets(opts.env ?? process.env), ...(opts.secrets ?? [])].filter((s): s is string => !!s && s.length >= 3);
  }

  /** Adds strings never to write to the journal or to logs opened afterwards. */
  addSecrets(...secrets: (string | null | undefined)[]): void {
    for (const s of secrets) if (s && s.length >= 3 && !this.secretList.includes(s)) this.secretList.push(s);
  }

  get secrets(): readonly string[] {
    return this.secretList;
  }

  /**
   * What reading found wrong, one line each: `journal FILE: line N skipped: WHY` for each line
   * that is not a usable event (the first 10; then one line counting the rest). Each is also
   * given once to `onWarning`, or to the process-wide handler (setJournalWarningHandler).
   */
  get warnings(): readonly string[] {
    return this.warningList;
  }

  /**
   * The lines reading skipped as unreadable so far: how many, and the numbers of the first
   * (up to 10). Only what was read: the whole journal once any reading method ran.
   */
  get unreadable(): { count: number; lines: readonly number[] } {
    const ix = this.ix;
    return { count: ix?.badCount ?? 0, lines: ix ? ix.bad.slice(0, MAX_WARNINGS).map(([line]) => line) : [] };
  }

  /** A sortable id: `20261123-184500-<task>-<4 hex>` (UTC). */
  newRunId(taskId: string): string {
    const d = new Date();
    const date = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
    const time = `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
    const slug = taskId.toLowerCase().replace(/[^a-z0-9_.]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 40) || 'task';
    return `${date}-${time}-${slug}-${randomBytes(2).toString('hex')}`;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    ensurePrivateDir(this.dir, 'journal');
    let fd: number;
    try {
      fd = openSync(this.file, 'a', 0o600);
    } catch (err) {
      throw new StateWriteError('journal', this.file, err, 'open');
    }
    let size = 0;
    try {
      const st = fstatSync(fd);
      size = st.size;
      if (st.isFile() && (st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fchmodSync(fd, 0o600);
    } catch {
      // the checks are best effort; writing is what matters
    }
    // A line torn by a crash (or a full disk) has no newline: end it, so the next event starts
    // a line of its own.
    try {
      if (size > 0) {
        const rfd = openSync(this.file, 'r');
        try {
          const last = Buffer.alloc(1);
          readSync(rfd, last, 0, 1, size - 1);
          if (last[0] !== 0x0a) writeSync(fd, '\n');
        } finally {
          closeSync(rfd);
        }
      }
    } catch (err) {
      closeSync(fd);
      throw new StateWriteError('journal', this.file, err);
    }
    this.fd = fd;
    return fd;
  }

  private nextSeq(run: string, type: string): number {
    let n = this.seqs.get(run);
    if (n === undefined) {
      // first event of this run in this process: a new run starts at 1, anything else continues
      n = 0;
      if (type !== 'run.start') {
        try {
          n = this.refresh().seqOf(run);
        } catch {
          // an unreadable journal: the run goes on from 1
        }
      }
    }
    this.seqs.set(run, n + 1);
    return n + 1;
  }

  private serialize(event: JournalEvent): string {
    for (const maxString of [MAX_STRING, 200, 40]) {
      const line = `${JSON.stringify(scrub(event, { secrets: this.secretList, maxString }))}\n`;
      if (Buffer.byteLength(line) <= MAX_LINE) return line;
    }
    // still too big (huge params or values): keep the event, drop its bulk
    const slim: Record<string, unknown> = { ...event };
    for (const k of ['params', 'values', 'steps']) if (k in slim) slim[k] = k === 'steps' ? [] : { truncated: true };
    return `${JSON.stringify(scrub(slim, { secrets: this.secretList, maxString: 40 }))}\n`;
  }

  /**
   * Appends one event: redacted, size-limited, one write(2) of the whole line on an O_APPEND
   * descriptor, then fsync. The event is on disk when this returns. Returns the event as written.
   * A failed write (a full disk) throws a StateWriteError; the next append starts a new line.
   */
  append(input: JournalEventInput | LooseEventInput): JournalEvent {
    // v, ts and seq first: every line starts with '{"v":', which lets a reader find an event
    // glued to a torn line
    const { ts, seq, ...rest } = input;
    const event = {
      v: 1,
      ts: typeof ts === 'string' ? ts : new Date().toISOString(),
      seq: typeof seq === 'number' ? seq : this.nextSeq(input.run, input.type),
      ...rest,
    } as JournalEvent;
    event.v = 1;
    if (typeof seq === 'number') this.seqs.set(input.run, Math.max(this.seqs.get(input.run) ?? 0, seq));
    const line = this.serialize(event);
    const fd = this.open();
    try {
      const buf = Buffer.from(line);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } catch (err) {
      // what was written of the line stays torn: the next open ends it with a newline
      this.close();
      throw new StateWriteError('journal', this.file, err);
    }
    return JSON.parse(line) as JournalEvent;
  }

  /** Closes the journal's descriptor (appending again reopens it). */
  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }

  // ---------------------------------------------------------------- reading

  /**
   * The index, brought up to date with the file: the one in memory, else the index file's, when
   * it still describes the file; otherwise (or with `rebuild`) built from the whole file. Then
   * the lines appended since are read in, and the index file written again when it was rebuilt
   * or has fallen INDEX_SAVE_AFTER behind. A missing journal is an empty one.
   */
  private refresh(rebuild = false): JournalIndex {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new UserError(`journal: cannot read ${this.file}: ${errnoText(err)}`);
      this.ix = new JournalIndex();
      return this.ix;
    }
    try {
      const st = fstatSync(fd);
      let ix = rebuild ? null : this.ix;
      if (ix && !ix.describes(fd, st)) ix = null;
      if (!ix && !rebuild && this.indexed && st.size >= this.indexMin) ix = this.loadIndex(fd, st);
      ix ??= new JournalIndex(st);
      ix.catchUp(fd, st.size);
      this.ix = ix;
      if (this.indexed && ix.covered >= this.indexMin && (ix.saved === 0 || ix.covered - ix.saved >= INDEX_SAVE_AFTER)) this.saveIndex(ix);
      this.warn(ix);
      return ix;
    } catch (err) {
      if (errnoCode(err)) throw new UserError(`journal: cannot read ${this.file}: ${errnoText(err)}`);
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  private loadIndex(fd: number, st: Stats): JournalIndex | null {
    try {
      return JournalIndex.from(readFileSync(this.indexFile), fd, st);
    } catch {
      return null; // none, unreadable or damaged: rebuilt
    }
  }

  /** Writes the index file whole (a temporary file renamed over it); best effort. */
  private saveIndex(ix: JournalIndex): void {
    const tmp = `${this.indexFile}.${process.pid}-${randomBytes(3).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, ix.toBuffer(), { mode: 0o600 });
      renameSync(tmp, this.indexFile);
    } catch {
      // a full or read-only disk: the journal is read whole next time, and that is all
      try {
        unlinkSync(tmp);
      } catch {
        // never written
      }
    }
    ix.saved = ix.covered;
  }

  /** Reads with the index; when it turns out not to match the file, rebuilds it and reads again. */
  private withIndex<T>(read: (ix: JournalIndex, tolerant: boolean) => T): T {
    try {
      return read(this.refresh(), false);
    } catch (err) {
      if (!(err instanceof StaleIndex)) throw err;
      return read(this.refresh(true), true);
    }
  }

  /**
   * Calls `each` with every event of `entries`, each run's in journal order, reading only their
   * lines. A line that is not an event of its run means the file changed under the index:
   * StaleIndex, or with `tolerant` (the index was just rebuilt) the line is skipped.
   */
  private readRuns(ix: JournalIndex, runs: readonly RunRef[], each: (run: RunRef, e: JournalEvent) => void, tolerant: boolean): void {
    const spans: [number, number, RunRef][] = [];
    for (const run of runs) {
      const r = ix.rangesOf(run);
      for (let i = 0; i < r.length; i += 2) spans.push([r[i], r[i + 1], run]);
    }
    if (spans.length === 0) return;
    spans.sort((a, b) => a[0] - b[0]);
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      throw new UserError(`journal: cannot read ${this.file}: ${errnoText(err)}`);
    }
    try {
      for (let i = 0; i < spans.length; ) {
        // one read for ranges that lie close together
        const start = spans[i][0];
        let end = start + spans[i][1];
        let j = i;
        while (j + 1 < spans.length && spans[j + 1][0] - end <= READ_GAP && spans[j + 1][0] + spans[j + 1][1] - start <= READ_WINDOW) {
          j++;
          end = Math.max(end, spans[j][0] + spans[j][1]);
        }
        if (end > ix.covered) throw new StaleIndex();
        const buf = Buffer.allocUnsafe(end - start);
        readFully(fd, buf, start);
        for (let k = i; k <= j; k++) {
          const [off, len, entry] = spans[k];
          let p = off - start;
          const stop = p + len;
          if (buf[stop - 1] !== 0x0a) {
            if (tolerant) continue;
            throw new StaleIndex();
          }
          while (p < stop) {
            const nl = buf.indexOf(0x0a, p);
            const e = readLine(buf.toString('utf8', p, nl));
            p = nl + 1;
            if (e !== null && typeof e === 'object' && e.run === entry.id) each(entry, e);
            else if (!tolerant) throw new StaleIndex();
          }
        }
        i = j + 1;
      }
    } catch (err) {
      if (errnoCode(err)) throw new UserError(`journal: cannot read ${this.file}: ${errnoText(err)}`);
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  private warn(ix: JournalIndex): void {
    if (!this.taskEvents) return;
    for (const [line, why] of ix.bad) {
      if (this.warnedLines.has(line)) continue;
      this.warnedLines.add(line);
      if (this.warnedLines.size <= MAX_WARNINGS) this.emit(`journal ${this.file}: line ${line} skipped: ${why}`, `line ${line}`);
    }
    const more = ix.badCount - Math.min(this.warnedLines.size, MAX_WARNINGS);
    if (more > this.moreWarned) {
      this.moreWarned = more;
      this.emit(`journal ${this.file}: ${more} more unreadable line${more === 1 ? '' : 's'} skipped`, `more ${more}`);
    }
  }

  private emit(message: string, key: string): void {
    this.warningList.push(message);
    if (this.onWarning) this.onWarning(message);
    else if (warningHandler) {
      const k = `${this.file}\n${key}`;
      if (warnedInProcess.has(k)) return;
      warnedInProcess.add(k);
      warningHandler(message);
    }
  }

  /** Every usable event, in journal order; unreadable lines and unknown types are skipped. */
  allEvents(): JournalEvent[] {
    return this.withIndex((ix, tolerant) => {
      const out: JournalEvent[] = [];
      this.readRuns(ix, ix.newest(), (_run, e) => out.push(e), tolerant);
      return out;
    });
  }

  /**
   * Every line that parses as an event of any type (`v`, `run`, `ts`, `type` present), in
   * journal order: for journals of other event kinds (checklists) that validate their own.
   */
  looseEvents(): LooseEvent[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return [];
    }
    const out: LooseEvent[] = [];
    try {
      eachLine(fd, 0, fstatSync(fd).size, (text) => {
        const x = parseJson(text);
        if (isLooseEvent(x)) out.push(x);
      });
    } catch {
      // what could be read is kept
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** One run's events, in journal order. */
  events(runId: string): JournalEvent[] {
    return this.withIndex((ix, tolerant) => {
      const run = ix.ref(runId);
      const out: JournalEvent[] = [];
      if (run) this.readRuns(ix, [run], (_run, e) => out.push(e), tolerant);
      return out;
    });
  }

  /** Run summaries, newest first (by start time); with a limit only those runs' lines are read. */
  runs(opts: { limit?: number } = {}): RunSummary[] {
    return this.withIndex((ix, tolerant) => {
      const chosen = ix.newest(opts.limit);
      const sums = new Map<RunRef, RunSummary>();
      this.readRuns(
        ix,
        chosen,
        (run, e) => {
          let s = sums.get(run);
          if (!s) sums.set(run, (s = emptySummary(run.id, e.ts)));
          fold(s, e);
        },
        tolerant,
      );
      return chosen.map((run) => finish(sums.get(run) ?? emptySummary(run.id, new Date(run.startMs).toISOString())));
    });
  }

  /** One run's summary, or null when the journal has no event of it. */
  summary(runId: string): RunSummary | null {
    const events = this.events(runId);
    return events.length ? summarize(runId, events) : null;
  }

  /** The run whose id is or starts with `prefix`. Throws a one-line UserError when none or several match. */
  findRun(prefix: string): string {
    if (!prefix.trim()) throw new UserError('name a run: its id or the start of it (see ops history)');
    // only the ids that start with the prefix can match
    return pickByPrefix(this.withIndex((ix) => ix.idsStartingWith(prefix.trim())), prefix, { one: 'run', many: 'runs', where: this.file });
  }

  /** The run's full output log: `<dir>/runs/<run>.log`. */
  logPath(runId: string): string {
    return join(this.dir, 'runs', `${runId.replace(/[/\\]/g, '_')}.log`);
  }

  /**
   * Opens (appends to) the run's log; every line is redacted of the journal's secrets and
   * `secrets`. A write that fails later never throws: see LogWriter.failed and `onError`.
   */
  openLog(runId: string, secrets: readonly (string | null | undefined)[] = [], opts: OpenLogOptions = {}): LogWriter {
    ensurePrivateDir(join(this.dir, 'runs'), 'run log');
    return new LogWriter(this.logPath(runId), [...this.secretList, ...secrets], opts);
  }
}

/**
 * The id that is `prefix`, or the only one starting with it; otherwise a one-line UserError
 * (none matches, or several do, newest first). Ids sort by time (they start with one).
 */
export function pickByPrefix(ids: Iterable<string>, prefix: string, names: { one: string; many: string; where: string }): string {
  const p = prefix.trim();
  const all = [...ids];
  if (all.includes(p)) return p;
  const matches = p ? all.filter((id) => id.startsWith(p)).sort().reverse() : [];
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new UserError(`no ${names.one} matches "${cut(p, 60)}" in ${names.where}`);
  const shown = matches.slice(0, 3).join(', ') + (matches.length > 3 ? ', …' : '');
  throw new UserError(`"${cut(p, 60)}" matches ${matches.length} ${names.many} (${shown}): give more of the id`);
}

// ---------------------------------------------------------------- the run log

export type LogStream = 'out' | 'err' | 'notice' | 'info';

/** Buffered size (characters) that triggers a write. */
/** small enough that the pending lines stay in V8's young generation (bin/ops sets it to 1 MB) */
const LOG_CHUNK = 32 * 1024;
/** Buffered output is written at the latest this long after it arrived. */
const LOG_FLUSH_MS = 100;
/** Within one synchronous burst, the clock is read again after this many lines. */
const STAMP_LINES = 16;
/**
 * On a full disk, the log gives back its last whole lines, this many bytes (never what it held
 * when opened): room for the marker where it was cut, and for the journal's last events (the
 * step's finish, the run's end), which matter more than the last lines of output.
 */
const LOG_ROOM = 8 * 1024;
const MS3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const SECRET_WORD = /pass|pwd|secret|token/i;
const TAGS: Record<LogStream, string> = { out: ' [out] ', err: ' [err] ', notice: ' [notice] ', info: ' [info] ' };

const openWriters = new Set<LogWriter>();
let exitHooked = false;

/** How many lines `write(text)` makes. */
function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && text.endsWith('\n') ? n - 1 : n;
}

function newlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * A run's full output log. `write` appends `HH:MM:SS.mmm [stream] text` lines (local time) into
 * a buffer written in chunks (at 32 KiB, after 100 ms, on flush and close, and on process
 * exit), so it keeps up with millions of lines per second. Every line is redacted.
 *
 * Writing never throws once the file is open. The first write that fails (a full disk) is kept
 * in `failed` and given to `onError`; from then on lines are only counted (`dropped`). Where the
 * log stops, a marker line says so and how many lines are missing: written at once when there
 * is room (on a full disk the log first gives back its last LOG_ROOM bytes of whole lines), else
 * tried again at close, which also adds how many more were dropped after the marker.
 */
export class LogWriter {
  readonly path: string;
  private fd: number | null;
  private buf = '';
  private timer: NodeJS.Timeout | null = null;
  private secondBase = -1;
  private secondPrefix = '';
  private stamp = '';
  /** lines left before the clock is read again; 0 = read it now */
  private stampLeft = 0;
  private expiryQueued = false;
  private readonly expire = () => {
    this.stampLeft = 0;
    this.expiryQueued = false;
  };
  private readonly secrets: string[];
  /** the file's size when opened: what an earlier writer left is never given back */
  private readonly sizeAtOpen: number;
  /** the dropped count the marker in the file gives; null while no marker is written */
  private marked: number | null = null;
  /** the file ends inside a line (a write cut short): the marker starts a new one */
  private midLine = false;
  /** lines written since opening */
  lines = 0;
  /** the first write that failed, or null; from then on nothing more is written but the marker */
  failed: StateWriteError | null = null;
  /** lines that are not in the log because a write failed */
  dropped = 0;
  /** called once, with the first failed write (an exception it throws is ignored) */
  onError: ((err: StateWriteError) => void) | null;

  constructor(path: string, secrets: readonly (string | null | undefined)[] = [], opts: OpenLogOptions = {}) {
    this.path = path;
    this.secrets = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 3))];
    this.onError = opts.onError ?? null;
    let size = 0;
    try {
      this.fd = openSync(path, 'a', 0o600);
      try {
        const st = fstatSync(this.fd);
        size = st.size;
        if (st.isFile() && (st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fchmodSync(this.fd, 0o600);
      } catch {
        // best effort
      }
    } catch (err) {
      throw new StateWriteError('run log', path, err, 'open');
    }
    this.sizeAtOpen = size;
    openWriters.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const w of openWriters) w.flush();
      });
    }
  }

  private clean(text: string): string {
    let out = text;
    // redact()'s patterns and ENV_ASSIGN_SECRET need a URL with userinfo, or '=' after a word
    // like password or token: test for those cheaply first
    if ((out.includes('@') && out.includes('://')) || (out.includes('=') && SECRET_WORD.test(out))) out = redact(out, []).replace(ENV_ASSIGN_SECRET, (_m, k: string) => `${k}=***`);
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  /** `HH:MM:SS.mmm`: the clock is read at most every STAMP_LINES lines of a synchronous burst. */
  private now(): string {
    if (this.stampLeft-- > 0) return this.stamp;
    const now = Date.now();
    const base = now - (now % 1000);
    if (base !== this.secondBase) {
      const d = new Date(base);
      this.secondBase = base;
      this.secondPrefix = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.`;
    }
    this.stamp = this.secondPrefix + MS3[now - base];
    // lines that arrive in a later task read the clock afresh
    if (!this.expiryQueued) {
      this.expiryQueued = true;
      queueMicrotask(this.expire);
    }
    this.stampLeft = STAMP_LINES - 1;
    return this.stamp;
  }

  /** Appends one line (a text with newlines becomes several lines with the same stamp). */
  write(line: string, stream: LogStream): void {
    if (this.failed) {
      this.dropped += lineCount(line);
      return;
    }
    const text = this.clean(line);
    const head = this.now() + (TAGS[stream] ?? ` [${stream}] `);
    if (text.includes('\n')) {
      const parts = text.split('\n');
      if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
      for (const p of parts) this.buf += head + p + '\n';
      this.lines += parts.length;
    } else {
      this.buf += head + text + '\n';
      this.lines++;
    }
    if (this.fd === null) {
      // closed: keep the line anyway, written straight through
      const b = this.buf;
      this.buf = '';
      try {
        appendFileSync(this.path, b, { mode: 0o600 });
      } catch (err) {
        this.fail(err, b, 0);
      }
      return;
    }
    if (this.buf.length >= LOG_CHUNK) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, LOG_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes everything buffered (synchronously). Never throws: a failure goes to `failed`. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buf === '' || this.fd === null || this.failed) return;
    const text = this.buf;
    this.buf = '';
    let written = 0;
    try {
      written = writeSync(this.fd, text);
      const total = Buffer.byteLength(text);
      if (written < total) {
        // a short write (a disk filling up; rare otherwise): write the rest
        const data = Buffer.from(text);
        while (written < total) written += writeSync(this.fd, data, written, total - written);
      }
    } catch (err) {
      this.fail(err, text, written);
    }
  }

  /** The first failed write: `pending` is what was being written, `written` bytes of it are in the file. */
  private fail(err: unknown, pending: string, written: number): void {
    const e = new StateWriteError('run log', this.path, err);
    this.failed = e;
    const data = Buffer.from(pending);
    const lost = newlines(data.subarray(written));
    this.lines -= lost;
    this.dropped += lost;
    this.midLine = written > 0 && data[written - 1] !== 0x0a;
    if (this.fd !== null && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) this.giveBackRoom();
    this.writeMarker();
    try {
      this.onError?.(e);
    } catch {
      // the owner's handler; this may run in a timer or at exit, where a throw would be uncaught
    }
  }

  /** On a full disk: cuts the log back to a line boundary LOG_ROOM bytes before its end. */
  private giveBackRoom(): void {
    let rfd: number | null = null;
    try {
      const size = fstatSync(this.fd!).size;
      let at = this.sizeAtOpen;
      const target = size - LOG_ROOM;
      rfd = openSync(this.path, 'r');
      if (target > this.sizeAtOpen) {
        // the last newline before target, looked for in the 64 KiB before it
        const from = Math.max(this.sizeAtOpen, target - 64 * 1024);
        const before = Buffer.allocUnsafe(target - from);
        readFully(rfd, before, from);
        const nl = before.lastIndexOf(0x0a);
        if (nl !== -1) at = from + nl + 1;
        else if (from !== this.sizeAtOpen) return; // a 64 KiB line: leave it
      }
      if (at >= size) return;
      const tail = Buffer.allocUnsafe(size - at);
      readFully(rfd, tail, at);
      const removed = newlines(tail);
      ftruncateSync(this.fd!, at);
      this.lines -= removed;
      this.dropped += removed;
      this.midLine = false;
    } catch {
      // the marker goes after what is there
    } finally {
      if (rfd !== null) closeSync(rfd);
    }
  }

  /** Appends the marker line (best effort): `… log cut here: ENOSPC; N lines not written`. */
  private writeMarker(text?: string): void {
    const n = this.dropped;
    const what = text ?? `… log cut here: ${this.failed?.code ?? 'write failed'}; ${n} line${n === 1 ? '' : 's'} not written`;
    const line = `${this.midLine ? '\n' : ''}${this.now()} [notice] ${what}\n`;
    try {
      if (this.fd === null) appendFileSync(this.path, line, { mode: 0o600 });
      else {
        const data = Buffer.from(line);
        let off = 0;
        while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
      }
      this.marked = n;
      this.midLine = false;
    } catch {
      // no room even for that: tried again at close
    }
  }

  /**
   * Flushes, fsyncs and closes the file. Lines written afterwards are appended one by one.
   * After a failed write: the marker, if it could not be written before, or how many more lines
   * were dropped since it was.
   */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    if (this.failed) {
      if (this.marked === null) this.writeMarker();
      else if (this.dropped > this.marked) {
        const more = this.dropped - this.marked;
        this.writeMarker(`… ${more} more line${more === 1 ? '' : 's'} not written after the cut (${this.dropped} in all)`);
      }
    }
    try {
      fsyncSync(this.fd);
    } catch (err) {
      // a file system that keeps writes in memory reports a full disk here
      if (!this.failed && (errnoCode(err) === 'ENOSPC' || errnoCode(err) === 'EDQUOT' || errnoCode(err) === 'EIO')) {
        this.failed = new StateWriteError('run log', this.path, err);
        try {
          this.onError?.(this.failed);
        } catch {
          // the owner's handler
        }
      }
    }
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
    openWriters.delete(this);
  }
}

/** The log file's text, or null when there is none. */
export function readLog(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}
