// The durable journal of task runs.
//
// One append-only file, `journal.jsonl`, in the state directory: one JSON event per line, each
// written with a single write(2) on an O_APPEND descriptor and fsynced before `append` returns,
// so a crash, a Ctrl-C or a dropped SSH session leaves exactly the events of what ran. Both the
// start and the end of every step are journalled: a step with a start and no finish ran, with an
// unknown outcome. Every run's full output goes to its own log file, `runs/<run>.log`, beside it.
// Reading never throws on a damaged file: a torn last line (a write cut short by a crash) and
// events of unknown (future) types are skipped.
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readlinkSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { randomBytes } from 'node:crypto';
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
  operator: Operator;
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

const KNOWN_TYPES = new Set<string>(['run.start', 'step.start', 'step.finish', 'rollback.start', 'rollback.finish', 'run.end', 'note']);

/** An event of any type, as `looseEvents` gives it. */
export type LooseEvent = LooseEventInput & { v: 1; ts: string; seq: number };

function isLooseEvent(x: unknown): x is LooseEvent {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const e = x as Record<string, unknown>;
  return e.v === 1 && typeof e.run === 'string' && typeof e.ts === 'string' && typeof e.type === 'string';
}

/** A parsed line is kept when it has the common fields and a known type; anything else is skipped. */
function isEvent(x: unknown): x is JournalEvent {
  if (!isLooseEvent(x) || !KNOWN_TYPES.has(x.type)) return false;
  const e = x as Record<string, unknown>;
  switch (e.type) {
    case 'step.start':
    case 'step.finish':
    case 'rollback.start':
    case 'rollback.finish':
      return typeof e.step === 'string';
    case 'run.end':
      return typeof e.outcome === 'string';
    default:
      return true;
  }
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

function stepFor(s: RunSummary, id: string, index: unknown): StepSummary {
  let step = s.steps.find((x) => x.id === id);
  if (!step && typeof index === 'number' && s.steps[index]?.id === id) step = s.steps[index];
  if (!step) {
    step = { id, title: id, status: 'pending', rolledBack: false, rollback: null, irreversible: false, rollbackStatus: 'none', attempts: 0, durationMs: null, exitCode: null };
    s.steps.push(step);
  }
  return step;
}

/** Folds one run's events (in journal order) into its summary. */
export function summarize(run: string, events: readonly JournalEvent[]): RunSummary {
  const s = emptySummary(run, events[0]?.ts ?? '');
  for (const e of events) {
    switch (e.type) {
      case 'run.start':
        s.task = String(e.task ?? '?');
        s.title = String(e.title ?? s.task);
        s.risk = e.risk ?? '?';
        s.target = String(e.target ?? '?');
        s.operator = e.operator ?? null;
        s.startedAt = e.ts;
        s.dryRun = e.dryRun === true;
        if (e.resumeOf) s.resumeOf = e.resumeOf;
        s.steps = (Array.isArray(e.steps) ? e.steps : []).map((p) => ({
          id: String(p.id),
          title: String(p.title ?? p.id),
          status: 'pending',
          rolledBack: false,
          rollback: p.rollback ?? null,
          irreversible: p.irreversible === true,
          rollbackStatus: 'none',
          attempts: 0,
          durationMs: null,
          exitCode: null,
        }));
        break;
      case 'step.start': {
        const st = stepFor(s, e.step, e.index);
        st.status = 'started';
        st.attempts = Math.max(st.attempts + 1, typeof e.attempt === 'number' ? e.attempt : 0);
        st.durationMs = null;
        st.exitCode = null;
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
  s.pendingRollbacks = s.steps.filter((x) => x.status === 'ok' && x.rollback !== null && !x.rolledBack).length;
  return s;
}

// ---------------------------------------------------------------- the journal

export interface JournalOptions {
  /** more strings never to write (the target's password, tokens); PGPASSWORD is always included */
  secrets?: readonly (string | null | undefined)[];
  /** where PGPASSWORD and DATABASE_URL are read from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** the file's name in the directory (default journal.jsonl; checklists keep checklists.jsonl) */
  file?: string;
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

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    if ((statSync(dir).mode & 0o777) !== 0o700 && ownedByMe(dir)) chmodSync(dir, 0o700);
  } catch {
    // best effort: a directory we do not own keeps its mode
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function oneLine(err: unknown): string {
  return String((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? err).split('\n')[0];
}

export class Journal {
  readonly dir: string;
  /** the journal file: `<dir>/journal.jsonl` */
  readonly file: string;
  private fd: number | null = null;
  private readonly seqs = new Map<string, number>();
  private secretList: string[];

  constructor(dir: string = stateDir(), opts: JournalOptions = {}) {
    this.dir = dir;
    this.file = join(dir, opts.file ?? 'journal.jsonl');
    this.secretList = [...envSecrets(opts.env ?? process.env), ...(opts.secrets ?? [])].filter((s): s is string => !!s && s.length >= 3);
  }

  /** Adds strings never to write to the journal or to logs opened afterwards. */
  addSecrets(...secrets: (string | null | undefined)[]): void {
    for (const s of secrets) if (s && s.length >= 3 && !this.secretList.includes(s)) this.secretList.push(s);
  }

  get secrets(): readonly string[] {
    return this.secretList;
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
    ensurePrivateDir(this.dir);
    let fd: number;
    try {
      fd = openSync(this.file, 'a', 0o600);
    } catch (err) {
      throw new UserError(`journal: cannot open ${this.file}: ${oneLine(err)}`);
    }
    try {
      const st = fstatSync(fd);
      if ((st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fchmodSync(fd, 0o600);
      // A line torn by a crash has no newline: end it, so the next event starts a line of its own.
      if (st.size > 0) {
        const rfd = openSync(this.file, 'r');
        try {
          const last = Buffer.alloc(1);
          readSync(rfd, last, 0, 1, st.size - 1);
          if (last[0] !== 0x0a) writeSync(fd, '\n');
        } finally {
          closeSync(rfd);
        }
      }
    } catch {
      // the checks are best effort; writing is what matters
    }
    this.fd = fd;
    return fd;
  }

  private nextSeq(run: string, type: string): number {
    let n = this.seqs.get(run);
    if (n === undefined) {
      // first event of this run in this process: a new run starts at 1, anything else continues
      n = type === 'run.start' ? 0 : this.looseEvents().reduce((m, e) => (e.run === run ? Math.max(m, e.seq ?? 0) : m), 0);
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
      throw new UserError(`journal: cannot write ${this.file}: ${oneLine(err)}`);
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

  /** Every line `accept` takes, in journal order (an unreadable file has none). */
  private read<T>(accept: (x: unknown) => x is T): T[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: T[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const e = parseWith(line, accept);
      if (e) out.push(e);
    }
    return out;
  }

  /** Every readable event, in journal order; damaged lines and unknown types are skipped. */
  allEvents(): JournalEvent[] {
    return this.read(isEvent);
  }

  /**
   * Every line that parses as an event of any type (`v`, `run`, `ts`, `type` present), in
   * journal order: for journals of other event kinds (checklists) that validate their own.
   */
  looseEvents(): LooseEvent[] {
    return this.read(isLooseEvent);
  }

  /** One run's events, in journal order. */
  events(runId: string): JournalEvent[] {
    return this.allEvents().filter((e) => e.run === runId);
  }

  /** Run summaries, newest first. */
  runs(opts: { limit?: number } = {}): RunSummary[] {
    const byRun = new Map<string, JournalEvent[]>();
    for (const e of this.allEvents()) {
      let list = byRun.get(e.run);
      if (!list) byRun.set(e.run, (list = []));
      list.push(e);
    }
    const order = [...byRun.keys()];
    const summaries = order.map((run, i) => ({ s: summarize(run, byRun.get(run)!), i }));
    summaries.sort((a, b) => (a.s.startedAt === b.s.startedAt ? b.i - a.i : a.s.startedAt < b.s.startedAt ? 1 : -1));
    const list = summaries.map((x) => x.s);
    return opts.limit !== undefined && opts.limit >= 0 ? list.slice(0, opts.limit) : list;
  }

  /** One run's summary, or null when the journal has no event of it. */
  summary(runId: string): RunSummary | null {
    const events = this.events(runId);
    return events.length ? summarize(runId, events) : null;
  }

  /** The run whose id is or starts with `prefix`. Throws a one-line UserError when none or several match. */
  findRun(prefix: string): string {
    if (!prefix.trim()) throw new UserError('name a run: its id or the start of it (see ops history)');
    return pickByPrefix(new Set(this.allEvents().map((e) => e.run)), prefix, { one: 'run', many: 'runs', where: this.file });
  }

  /** The run's full output log: `<dir>/runs/<run>.log`. */
  logPath(runId: string): string {
    return join(this.dir, 'runs', `${runId.replace(/[/\\]/g, '_')}.log`);
  }

  /** Opens (appends to) the run's log; every line is redacted of the journal's secrets and `secrets`. */
  openLog(runId: string, secrets: readonly (string | null | undefined)[] = []): LogWriter {
    ensurePrivateDir(join(this.dir, 'runs'));
    return new LogWriter(this.logPath(runId), [...this.secretList, ...secrets]);
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

/** Parses one journal line; a line that is not an event (torn, foreign, future type) gives null. */
export function parseLine(line: string): JournalEvent | null {
  return parseWith(line, isEvent);
}

function parseWith<T>(line: string, accept: (x: unknown) => x is T): T | null {
  try {
    const x: unknown = JSON.parse(line);
    if (accept(x)) return x;
  } catch {
    // A torn line followed by a whole event on the same line (no newline after the tear):
    // keep the whole event that starts at the last '{"v":'.
    const at = line.lastIndexOf('{"v":');
    if (at > 0) return parseWith(line.slice(at), accept);
  }
  return null;
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
const MS3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const SECRET_WORD = /pass|pwd|secret|token/i;
const TAGS: Record<LogStream, string> = { out: ' [out] ', err: ' [err] ', notice: ' [notice] ', info: ' [info] ' };

const openWriters = new Set<LogWriter>();
let exitHooked = false;

/**
 * A run's full output log. `write` appends `HH:MM:SS.mmm [stream] text` lines (local time) into
 * a buffer written in chunks (at 32 KiB, after 100 ms, on flush and close, and on process
 * exit), so it keeps up with millions of lines per second. Every line is redacted.
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
  /** lines written since opening */
  lines = 0;

  constructor(path: string, secrets: readonly (string | null | undefined)[] = []) {
    this.path = path;
    this.secrets = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 3))];
    try {
      this.fd = openSync(path, 'a', 0o600);
      try {
        const st = fstatSync(this.fd);
        if ((st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fchmodSync(this.fd, 0o600);
      } catch {
        // best effort
      }
    } catch (err) {
      throw new UserError(`run log: cannot open ${path}: ${oneLine(err)}`);
    }
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
      appendFileSync(this.path, b, { mode: 0o600 });
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

  /** Writes everything buffered (synchronously). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buf === '' || this.fd === null) return;
    const text = this.buf;
    this.buf = '';
    const written = writeSync(this.fd, text);
    const total = Buffer.byteLength(text);
    if (written < total) {
      // a short write (rare on regular files): write the rest
      const data = Buffer.from(text);
      let off = written;
      while (off < total) off += writeSync(this.fd, data, off, total - off);
    }
  }

  /** Flushes, fsyncs and closes the file. Lines written afterwards are appended one by one. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    try {
      fsyncSync(this.fd);
    } catch {
      // not every file system syncs; the data is written
    }
    closeSync(this.fd);
    this.fd = null;
    openWriters.delete(this);
  }
}

/** The log file's text, or null when there is none. */
export function readLog(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}
