// Display helpers for the screens: status markers, colours, sanitising, short figures and word wrapping.
import type { Status } from '../src/types';
import { sanitizeLine } from '../src/util/sanitize';

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
