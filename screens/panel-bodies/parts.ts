// What every panel body (screens/panel-bodies/*.ts) is built from: the styled segments, the
// context a body is built in, and the words for a source still waited for. Pure, like the bodies.
import type { Line, Seg } from '../line';
import type { Check, MonitorState, SourceWait, Status } from '../../src/types';
import { formatDuration, hhmmss, suffix } from '../format';

export const s = (text: string, status?: Status, extra?: Partial<Seg>): Seg => ({ text, status, ...extra });
const sep: Seg = { text: ' · ' };

export function joinParts(parts: Line[]): Line {
  const out: Line = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(sep);
    out.push(...p);
  });
  return out;
}

/** A figure with its check's status: colour plus a textual marker. */
export function fig(text: string, status: Status | undefined): Seg {
  return s(text + suffix(status), status);
}

export function sparkWidth(width: number): number {
  return Math.max(6, Math.min(30, width - 50));
}

export interface Ctx {
  state: MonitorState;
  checks: Map<string, Check>;
  width: number;
  now: number;
}

export type Body = { summary: Line; rows: Line[]; pids?: number[] };

export const collecting: Body = { summary: [s('collecting…')], rows: [] };

// ---------------------------------------------------------------- sources still waited for
/** A wait shorter than this is a slow answer, not worth a word (it would flicker every round). */
const WAIT_SHOWN_MS = 1000;

/**
 * The wait on a source, when the panel should say so: it never answered, its deadline passed,
 * or it has been waited on for a second or more.
 */
export function waitOn(state: MonitorState, id: string, now: number): SourceWait | null {
  const w = state.waiting?.find((x) => x.id === id);
  if (!w) return null;
  return w.lastAnswerAt === null || w.overdue || now - w.since >= WAIT_SHOWN_MS ? w : null;
}

export function waitedText(w: SourceWait, now: number): string {
  const d = formatDuration(Math.max(0, now - w.since) / 1000);
  if (w.lastAnswerAt === null) return w.overdue ? `no answer from ${w.label} after ${d}` : `waiting for the first answer from ${w.label} (${d})`;
  return w.overdue ? `no answer from ${w.label} for ${d}` : `waiting for ${w.label} ${d}`;
}

/** The same, for a row that already names its source. */
export function shortWait(w: SourceWait, now: number): string {
  const d = formatDuration(Math.max(0, now - w.since) / 1000);
  if (w.lastAnswerAt === null) return w.overdue ? `no answer after ${d}` : `no answer yet (${d})`;
  return w.overdue ? `no answer for ${d}` : `waiting ${d}`;
}

/** "waiting for PostgreSQL 4s · showing 14:02:11, 6s old": what the panel's figures are. */
export function staleText(w: SourceWait, dataAt: number, now: number): string {
  return `${waitedText(w, now)} · showing ${hhmmss(dataAt)}, ${formatDuration(Math.max(0, now - dataAt) / 1000)} old`;
}

/** The segment a panel's summary (its title line) starts with while its source is waited for. */
export function waitSeg(w: SourceWait, now: number): Seg {
  return s(`${shortWait(w, now)} · `, w.overdue ? 'UNKNOWN' : undefined);
}

/** A panel whose source has not answered once: the short form on its title, the long in its body. */
export function neverAnswered(w: SourceWait, now: number, more: Line[] = []): Body {
  return { summary: [s(shortWait(w, now), 'UNKNOWN')], rows: [[s(waitedText(w, now), w.overdue ? 'UNKNOWN' : undefined)], ...more] };
}
