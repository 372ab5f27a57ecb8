// Reading the journal's bytes: whole ranges, and line by line.
import { readSync } from 'node:fs';

const SCAN_CHUNK = 1 << 20;

/** The index does not describe the file any more (edited in place): rebuilt, and read again. */
export class StaleIndex extends Error {}

export function readFully(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new StaleIndex('the journal is shorter than its index says');
    off += n;
  }
}

/**
 * Calls `line(text, offset, length)` for each line of `fd` between `from` and `to` that ends
 * with a newline (`length` counts it). Returns the offset after the last one: a last line with
 * no newline yet (cut short by a crash, or being written now) is left for a later read.
 */
export function eachLine(fd: number, from: number, to: number, line: (text: string, off: number, len: number) => void): number {
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
