// Display helpers for the screens: status markers, colours, sanitising, short figures and word wrapping.
import stringWidth from 'string-width';
import { isNarrow } from '../src/util/narrow';

export { isNarrow };
import type { Status } from '../src/types';
import { sanitizeLine } from '../src/util/sanitize';
import type { Line, Seg } from './line';

export { formatBytes, formatCount, formatDuration, formatPct } from '../src/util/format';
// the core's one status order: the screens rank with it and never judge a figure themselves
export { rowStatus, severity, worstOrNull as worstOf } from '../src/health/status';

/** Readable without colour: suffix for a judged figure. */
export function suffix(s: Status | null | undefined): string {
  switch (s) {
    case 'WARNING':
      return '!';
    case 'CRITICAL':
      return '!!';
    case 'UNKNOWN':
      return '?';
    default:
      return '';
  }
}

/** A two-character leading column for a judged row. */
export function rowMark(s: Status | null | undefined): string {
  return suffix(s).padEnd(2, ' ');
}

export const STATUS_COLOR: Record<Status, string> = {
  OK: 'green',
  WARNING: 'yellow',
  CRITICAL: 'red',
  UNKNOWN: 'gray',
};

/**
 * Outside text made safe for one screen line (src/util/sanitize.ts): escape sequences dropped,
 * line breaks and tabs made spaces, other controls shown as symbols, bidi overrides replaced.
 */
export function clean(s: string | null | undefined): string {
  return sanitizeLine(s);
}

export function pct0(n: number | null | undefined, digits = 0): string {
  return n == null || !Number.isFinite(n) ? 'n/a' : `${n.toFixed(digits)}%`;
}

export function hhmmss(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A line of a command's output as text: its colour and cursor escapes dropped, the rest as clean() makes it. */
export function plainText(s: string | null | undefined): string {
  return sanitizeLine(s);
}

/** Pads or cuts to exactly n characters (cuts with an ellipsis). */
export function fit(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length > n) return n === 1 ? '…' : `${s.slice(0, n - 1)}…`;
  return s.padEnd(n, ' ');
}

/**
 * Shortens text to `width` characters in its middle, never its end (issue 13 §4): a target's
 * database is at the end of it, its host and port before, so a cut target still names them.
 */
export function shortenMiddle(s: string, width: number): string {
  const chars = [...s];
  const w = Math.max(1, Math.floor(width));
  if (chars.length <= w) return s;
  if (w <= 2) return chars.slice(-w).join('');
  const tail = Math.ceil((w - 1) * 0.6);
  return `${chars.slice(0, w - 1 - tail).join('')}…${chars.slice(-tail).join('')}`;
}

/** Word-wraps plain text to lines of at most `width` characters (long words are cut). */
export function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    for (let w = word; w.length > 0; ) {
      const room = line ? width - line.length - 1 : width;
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        out.push(line);
        line = '';
      } else {
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line) out.push(line);
  return out;
}

// ---------------------------------------------------------------- wrapping styled lines
/** Terminal columns a text takes (wide characters count twice), as Ink measures it. */
export function textWidth(s: string): number {
  // the common case, characters one column wide each (ASCII and the marks the screens draw: · ▶ ▁
  // █ ░ ✓ ✗ ⚠ ↶ …), counted without the full measure: string-width segments graphemes and tests
  // emoji, about 90 µs a dashboard line (issue 14). Anything else takes the full measure.
  for (let i = 0; i < s.length; i++) {
    if (!isNarrow(s.charCodeAt(i))) return stringWidth(s);
  }
  return s.length;
}


/** The width of a line of segments on screen. */
export function lineWidth(line: Line): number {
  let w = 0;
  for (const seg of line) w += textWidth(clean(seg.text));
  return w;
}

interface Piece {
  seg: Seg;
  text: string;
  width: number;
}

/** A line's text as words and the runs of spaces between them, each piece keeping its segment's style. */
function piecesOf(line: Line): { space: boolean; pieces: Piece[] }[] {
  const runs: { space: boolean; pieces: Piece[] }[] = [];
  for (const seg of line) {
    for (const part of clean(seg.text).split(/( +)/)) {
      if (!part) continue;
      const space = part.startsWith(' ');
      const last = runs[runs.length - 1];
      const piece = { seg, text: part, width: textWidth(part) };
      // a word may run across segments ("cpu " "72%!"): one run, several pieces
      if (last && last.space === space) last.pieces.push(piece);
      else runs.push({ space, pieces: [piece] });
    }
  }
  return runs;
}

const runWidth = (r: { pieces: Piece[] }) => r.pieces.reduce((n, p) => n + p.width, 0);

/** Splits a piece at `room` columns (by characters, as wide as they are). */
function splitPiece(p: Piece, room: number): [Piece, Piece] {
  let w = 0;
  let i = 0;
  const chars = [...p.text];
  while (i < chars.length) {
    const cw = textWidth(chars[i]);
    if (w + cw > room) break;
    w += cw;
    i++;
  }
  const head = chars.slice(0, i).join('');
  const tail = chars.slice(i).join('');
  return [
    { seg: p.seg, text: head, width: w },
    { seg: p.seg, text: tail, width: p.width - w },
  ];
}

/**
 * A line of styled segments word-wrapped to `width` columns: at most `maxLines` lines (the last
 * one cut with an ellipsis when the text goes on), each continuation line indented by `indent`
 * spaces. Spaces inside a line are kept as they are (columns stay aligned); the spaces at a break
 * go; a word longer than a line is cut where the line ends. Every segment keeps its style.
 */
export function wrapLine(line: Line, width: number, indent = 0, maxLines = Infinity): Line[] {
  const w = Math.max(1, Math.floor(width));
  const ind = Math.max(0, Math.min(indent, w - 1));
  if (maxLines <= 0) return [];
  const out: Piece[][] = [[]];
  let x = 0;
  let pending: Piece[] = []; // the spaces before the next word, dropped if the line breaks there
  const room = () => (out.length === 1 ? w : w - ind) - x;
  const newLine = () => {
    out.push([]);
    x = 0;
  };
  const put = (p: Piece) => {
    out[out.length - 1].push(p);
    x += p.width;
  };
  for (const run of piecesOf(line)) {
    if (run.space) {
      // spaces the line starts with are kept (an indented row); those at a break are not
      if (out.length === 1 && out[0].length === 0) for (const p of run.pieces) put(p);
      else pending = run.pieces;
      continue;
    }
    const pw = pending.reduce((n, p) => n + p.width, 0);
    // a word that does not fit goes to the next line, if it fits on one; a longer one starts here
    if (x > 0 && pw + runWidth(run) > room() && (runWidth(run) <= w - ind || pw + 1 > room())) {
      newLine();
      pending = [];
    }
    for (const p of pending) put(p);
    pending = [];
    for (let p of run.pieces) {
      while (p.width > room()) {
        const [head, tail] = splitPiece(p, room());
        if (head.text) put(head);
        newLine();
        p = tail;
      }
      if (p.text) put(p);
    }
  }
  if (out.length > maxLines) {
    // the last line shown holds the rest, cut: its last column an ellipsis
    const rest = out.splice(maxLines - 1);
    const last: Piece[] = [];
    rest.forEach((ps, i) => {
      if (i > 0 && ps.length) last.push({ seg: ps[0].seg, text: ' ', width: 1 });
      last.push(...ps);
    });
    out.push(last);
  }
  const lines = out.map((ps, i): Line => {
    const segs: Line = i > 0 && ind > 0 ? [{ text: ' '.repeat(ind) }] : [];
    const first = segs.length;
    for (const p of ps) {
      const prev = segs[segs.length - 1];
      if (segs.length > first && prev && sameStyle(prev, p.seg)) prev.text += p.text;
      else segs.push({ ...p.seg, text: p.text });
    }
    return segs;
  });
  const last = lines[lines.length - 1];
  if (lineWidth(last) > w) {
    trimTo(last, w - 1);
    const end = last[last.length - 1];
    if (end) end.text = end.text.replace(/ +$/, '');
    last.push({ text: '…' });
  }
  return lines;
}

function sameStyle(a: Seg, b: Seg): boolean {
  return a.status === b.status && a.accent === b.accent && a.bold === b.bold && a.inverse === b.inverse;
}

/** Cuts a line (in place) to `cols` columns. */
function trimTo(line: Line, cols: number): void {
  let left = cols;
  for (let i = 0; i < line.length; i++) {
    const t = clean(line[i].text);
    const tw = textWidth(t);
    if (tw <= left) {
      left -= tw;
      continue;
    }
    const [head] = splitPiece({ seg: line[i], text: t, width: tw }, left);
    line[i] = { ...line[i], text: head.text };
    line.length = i + 1;
    return;
  }
}

/** How many lines wrapLine gives (1 for a line that fits). */
export function wrappedHeight(line: Line, width: number, indent = 0): number {
  return lineWidth(line) <= width ? 1 : wrapLine(line, width, indent).length;
}

/**
 * A screen's lines (header first, footer last) with the lines between them that are cut at
 * `width` wrapped at word boundaries into the rows the screen leaves (it has at most rows - 1
 * lines), top line first; what still does not fit stays cut.
 */
export function fillRows(lines: Line[], width: number, rows: number, indent = 2): Line[] {
  let spare = Math.max(0, Math.floor(rows) - 1) - lines.length;
  if (spare <= 0 || lines.length < 3) return lines;
  const out: Line[] = [lines[0]];
  for (const line of lines.slice(1, -1)) {
    const extra = spare > 0 ? Math.min(spare, wrappedHeight(line, width, indent) - 1) : 0;
    spare -= extra;
    out.push(...(extra > 0 ? wrapLine(line, width, indent, 1 + extra) : [line]));
  }
  out.push(lines[lines.length - 1]);
  return out;
}
