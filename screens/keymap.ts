// Key bindings as data. Each screen declares a table of bindings (the keys, what they do, the
// hint in its footer, the line in the help overlay); one matcher picks the binding of a key, and
// the footer hints and the dashboard's help are generated from the same table, so a key never
// works without being listed, or is listed without working.
import type { KeyName } from './keys';

/** What scrolling keys mean: a line, a page, the top or the bottom. */
export type ScrollDelta = number | 'home' | 'end' | 'page-up' | 'page-down';

/** Keys that move: ↑↓ PgUp PgDn Home End, and j k g G. */
export const MOVE_KEYS: readonly KeyName[] = ['up', 'down', 'page-up', 'page-down', 'home', 'end', { ch: 'j' }, { ch: 'k' }, { ch: 'g' }, { ch: 'G' }];

const MOVES: Record<string, ScrollDelta> = { up: -1, down: 1, 'page-up': 'page-up', 'page-down': 'page-down', home: 'home', end: 'end', j: 1, k: -1, g: 'home', G: 'end' };

/** The one scroll matcher: the delta of a moving key, or null. `arrowsOnly` leaves j k g G out (text prompts). */
export function scrollOf(k: KeyName, arrowsOnly = false): ScrollDelta | null {
  if (typeof k === 'object') return arrowsOnly ? null : (MOVES[k.ch] ?? null);
  return MOVES[k] ?? null;
}

/** A moving key as a selection step: a page is 10 rows. */
export function selectOf(k: KeyName, arrowsOnly = false): number | 'home' | 'end' | null {
  const d = scrollOf(k, arrowsOnly);
  if (d === 'page-up') return -10;
  if (d === 'page-down') return 10;
  return d;
}

function clampSel(sel: number, n: number): number {
  return n <= 0 ? 0 : Math.max(0, Math.min(sel, n - 1));
}

/** A selection over `n` rows moved by a step (or to the top / bottom), kept in range. */
export function moveSel(sel: number, delta: number | 'home' | 'end', n: number): number {
  return clampSel(delta === 'home' ? 0 : delta === 'end' ? n - 1 : sel + delta, n);
}

/** Any printable character (a text prompt's input). */
export const TYPED = 'typed' as const;
/** Any key at all (the help overlay closes on one). */
export const ANY = 'any' as const;

export interface Binding<C> {
  /** the keys, TYPED for any printable character, ANY for every key; [] for a hint-only entry */
  keys: readonly KeyName[] | typeof TYPED | typeof ANY;
  /** what the key does; 'stop' drops the rest of the chunk (the console is quitting) */
  run?: (ctx: C, k: KeyName) => void | 'stop';
  /** the footer's hint ("Enter run"), shown when the binding applies */
  hint?: string | ((ctx: C) => string);
  /** the help overlay's line: the keys as written there, and what they do */
  help?: { keys: string; text: string };
  /** applies only when this holds (a mode of the screen, a service being there) */
  when?: (ctx: C) => boolean;
}

export const sameKey = (a: KeyName, b: KeyName): boolean =>
  typeof a === 'object' ? typeof b === 'object' && a.ch === b.ch : a === b;

function applies<C>(b: Binding<C>, ctx: C): boolean {
  return !b.when || b.when(ctx);
}

/** The first binding that applies to `ctx` and holds key `k`. */
export function matchKey<C>(table: readonly Binding<C>[], ctx: C, k: KeyName): Binding<C> | null {
  for (const b of table) {
    if (!b.run || !applies(b, ctx)) continue;
    if (b.keys === ANY || (b.keys === TYPED ? typeof k === 'object' : b.keys.some((x) => sameKey(x, k)))) return b;
  }
  return null;
}

/** Runs the binding of `k`, if any. */
export function dispatchKey<C>(table: readonly Binding<C>[], ctx: C, k: KeyName): void | 'stop' {
  return matchKey(table, ctx, k)?.run?.(ctx, k);
}

/** The footer hints of the bindings that apply, in table order. */
export function hintsOf<C>(table: readonly Binding<C>[], ctx: C): string {
  return table
    .filter((b) => b.hint && applies(b, ctx))
    .map((b) => (typeof b.hint === 'function' ? b.hint(ctx) : b.hint))
    .join(' · ');
}

/** The help overlay's key lines: "  keys         what they do", for the bindings that apply. */
export function helpOf<C>(table: readonly Binding<C>[], ctx: C): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const b of table) {
    if (!b.help || !applies(b, ctx) || seen.has(b.help.keys)) continue;
    seen.add(b.help.keys);
    out.push(`  ${b.help.keys.padEnd(13)}${b.help.text}`);
  }
  return out;
}
