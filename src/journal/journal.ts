// The Journal: appending events (one fsynced write each) and reading runs through the index.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { errnoCode, errnoText, StateWriteError } from './errors';
import type { JournalEvent, JournalEventInput, LooseEvent, LooseEventInput } from './events';
import { LogWriter, pad2, type OpenLogOptions } from './log-writer';
import { loadIndex, readLooseEvents, readRuns, saveIndex } from './reader';
import { StaleIndex } from './read-bytes';
import { INDEX_MIN_BYTES, INDEX_SAVE_AFTER, JournalIndex, MAX_WARNINGS, type RunRef } from './run-index';
import { cut, envSecrets, MAX_LINE, MAX_STRING, scrub } from './scrub';
import { ensurePrivateDir, stateDir } from './state-dir';
import { emptySummary, finish, fold, summarize, type RunSummary } from './summary';
import { warnProcess } from './warnings';

let appendListener: ((file: string) => void) | null = null;

/**
 * Called with the journal file after every event of a task journal is on disk (the journal's
 * mirror sends it: src/journal/mirror.ts); null removes it. Its errors are ignored.
 */
export function setJournalAppendListener(fn: ((file: string) => void) | null): void {
  appendListener = fn;
}

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
    if (appendListener && this.taskEvents) {
      try {
        appendListener(this.file);
      } catch {
        // the mirror never fails a journal write
      }
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
      if (!ix && !rebuild && this.indexed && st.size >= this.indexMin) ix = loadIndex(this.indexFile, fd, st);
      ix ??= new JournalIndex(st);
      ix.catchUp(fd, st.size);
      this.ix = ix;
      if (this.indexed && ix.covered >= this.indexMin && (ix.saved === 0 || ix.covered - ix.saved >= INDEX_SAVE_AFTER)) saveIndex(this.indexFile, ix);
      this.warn(ix);
      return ix;
    } catch (err) {
      if (errnoCode(err)) throw new UserError(`journal: cannot read ${this.file}: ${errnoText(err)}`);
      throw err;
    } finally {
      closeSync(fd);
    }
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
    else warnProcess(`${this.file}\n${key}`, message);
  }

  /** Every usable event, in journal order; unreadable lines and unknown types are skipped. */
  allEvents(): JournalEvent[] {
    return this.withIndex((ix, tolerant) => {
      const out: JournalEvent[] = [];
      readRuns(this.file, ix, ix.newest(), (_run, e) => out.push(e), tolerant);
      return out;
    });
  }

  /**
   * Every line that parses as an event of any type (`v`, `run`, `ts`, `type` present), in
   * journal order: for journals of other event kinds (checklists) that validate their own.
   */
  looseEvents(): LooseEvent[] {
    return readLooseEvents(this.file);
  }

  /** One run's events, in journal order. */
  events(runId: string): JournalEvent[] {
    return this.withIndex((ix, tolerant) => {
      const run = ix.ref(runId);
      const out: JournalEvent[] = [];
      if (run) readRuns(this.file, ix, [run], (_run, e) => out.push(e), tolerant);
      return out;
    });
  }

  /** Run summaries, newest first (by start time); with a limit only those runs' lines are read. */
  runs(opts: { limit?: number } = {}): RunSummary[] {
    return this.withIndex((ix, tolerant) => {
      const chosen = ix.newest(opts.limit);
      const sums = new Map<RunRef, RunSummary>();
      readRuns(
        this.file,
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
