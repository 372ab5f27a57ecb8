// The index (journal.jsonl.idx): where each run's lines are, so readers read only the runs they use.
//
// One cohesive thing: the index's in-memory form, its catch-up from the appended lines, and its
// binary file format (toBuffer and from, which must agree field for field) are one data
// structure; split, each half would have to know the other's layout.
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { Stats } from 'node:fs';
import { isLooseEvent, isObj } from './events';
import { checkEvent, NOT_JSON, parseJson, timeMs } from './validate';
import { eachLine, readFully } from './read-bytes';

/** A run with lines read since the index file was written (all runs, after a rebuild). */
export interface RunEntry {
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
export interface RunRef {
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
export const INDEX_MIN_BYTES = 1 << 20;
/** the index file is written again once this many bytes were read past it */
export const INDEX_SAVE_AFTER = 256 * 1024;
/** unreadable lines the index lists (all are counted) */
const MAX_BAD = 1000;
/** warnings given one line each; the rest are counted in one more */
export const MAX_WARNINGS = 10;
/** reading runs' lines: ranges closer than this share one read, of at most READ_WINDOW bytes */
export const READ_GAP = 64 * 1024;
export const READ_WINDOW = 4 << 20;
/** lookups of stored ids by search before a Map of them is built */
const SEARCHES_BEFORE_MAP = 16;

function fingerprint(fd: number, from: number, to: number): string {
  if (to <= from) return '';
  const buf = Buffer.allocUnsafe(to - from);
  readFully(fd, buf, from);
  return createHash('sha1').update(buf).digest('hex');
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
export class JournalIndex {
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
