// Keys as the screens see them: Ink hands a chunk of plain characters ("\t\tj", a paste) to
// useInput as one string, so it is split into single keys here, and each screen's handler is a
// plain function of one key (the root handler loops over the chunk, see App.tsx).
import type { Key } from 'ink';

export type KeyName =
  | 'ctrl-c'
  | 'tab'
  | 'backtab'
  | 'up'
  | 'down'
  | 'page-up'
  | 'page-down'
  | 'home'
  | 'end'
  | 'esc'
  | 'enter'
  | 'backspace'
  | 'other'
  | { ch: string };

function charKey(ch: string): KeyName {
  if (ch === '\t') return 'tab';
  if (ch === '\u0003') return 'ctrl-c';
  if (ch === '\u001b') return 'esc';
  if (ch === '\r' || ch === '\n') return 'enter';
  if (ch === '\b' || ch === '\u007f') return 'backspace';
  if (ch < ' ' || (ch >= '\u007f' && ch <= '\u009f')) return 'other';
  return { ch };
}

/** Splits what useInput received into single keys. */
export function keysOf(input: string, key: Key): KeyName[] {
  if (input === '\u0003' || (key.ctrl && input === 'c')) return ['ctrl-c'];
  if (key.tab) return [key.shift ? 'backtab' : 'tab'];
  if (key.upArrow) return ['up'];
  if (key.downArrow) return ['down'];
  if (key.pageUp) return ['page-up'];
  if (key.pageDown) return ['page-down'];
  if (key.home) return ['home'];
  if (key.end) return ['end'];
  if (key.escape) return ['esc'];
  if (key.return) return ['enter'];
  if (key.backspace || key.delete) return ['backspace'];
  if (key.ctrl || (key.meta && input.length <= 1) || input.length === 0) return ['other'];
  return [...input].map(charKey);
}

/** A printable character, or null. */
export function charOf(k: KeyName): string | null {
  return typeof k === 'object' ? k.ch : null;
}

/** A screen's key handler: 'stop' drops the rest of the chunk (the console is quitting). */
export type KeyHandler = (k: KeyName) => void | 'stop';
