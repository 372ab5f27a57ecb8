// The run log (runs/<run>.log): a run's full output, buffered, redacted, and never throwing on a full disk.
import { appendFileSync, closeSync, existsSync, fchmodSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { redact } from '../util/redact';
import { errnoCode, StateWriteError } from './errors';
import { readFully } from './read-bytes';
import { ENV_ASSIGN_SECRET } from './scrub';

export interface OpenLogOptions {
  /** called once, with the first write to the log that failed (see LogWriter.failed) */
  onError?: (err: StateWriteError) => void;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

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
