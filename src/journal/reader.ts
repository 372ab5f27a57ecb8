// Reading the journal with its index: loading and saving the index file, and reading chosen runs' lines.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { UserError } from '../errors';
import { errnoCode, errnoText } from './errors';
import { isLooseEvent, type JournalEvent, type LooseEvent } from './events';
import { eachLine, readFully, StaleIndex } from './read-bytes';
import { JournalIndex, READ_GAP, READ_WINDOW, type RunRef } from './run-index';
import { parseJson, readLine } from './validate';

/** The index file's index, when it still describes the journal open on `fd`; else null. */
export function loadIndex(indexFile: string, fd: number, st: Stats): JournalIndex | null {
  try {
    return JournalIndex.from(readFileSync(indexFile), fd, st);
  } catch {
    return null; // none, unreadable or damaged: rebuilt
  }
}

/** Writes the index file whole (a temporary file renamed over it); best effort. */
export function saveIndex(indexFile: string, ix: JournalIndex): void {
  const tmp = `${indexFile}.${process.pid}-${randomBytes(3).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, ix.toBuffer(), { mode: 0o600 });
    renameSync(tmp, indexFile);
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

/**
 * Calls `each` with every event of `entries`, each run's in journal order, reading only their
 * lines. A line that is not an event of its run means the file changed under the index:
 * StaleIndex, or with `tolerant` (the index was just rebuilt) the line is skipped.
 */
export function readRuns(file: string, ix: JournalIndex, runs: readonly RunRef[], each: (run: RunRef, e: JournalEvent) => void, tolerant: boolean): void {
  const spans: [number, number, RunRef][] = [];
  for (const run of runs) {
    const r = ix.rangesOf(run);
    for (let i = 0; i < r.length; i += 2) spans.push([r[i], r[i + 1], run]);
  }
  if (spans.length === 0) return;
  spans.sort((a, b) => a[0] - b[0]);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new UserError(`journal: cannot read ${file}: ${errnoText(err)}`);
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
    if (errnoCode(err)) throw new UserError(`journal: cannot read ${file}: ${errnoText(err)}`);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Every line of `file` that parses as an event of any type (`v`, `run`, `ts`, `type` present),
 * in journal order.
 */
export function readLooseEvents(file: string): LooseEvent[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
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
