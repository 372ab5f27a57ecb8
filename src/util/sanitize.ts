// Text from outside ops (database names and query texts, application names, a command's output,
// journal and log contents, error messages) is made safe here before it reaches a terminal or a
// report. Nothing in it may move the cursor, set the window title, clear the screen, switch
// character sets, reorder what follows it, or add a line where the printer did not put one.
//
// What is done, in this order:
//   1. Escape sequences are removed whole: CSI (ESC [ ... final, and the 8-bit CSI), OSC, DCS,
//      SOS, PM and APC strings up to their terminator (BEL or ST), and two-character ESC
//      sequences. They are terminal instructions, not text: a command's colours simply vanish.
//   2. Line breaks (\r\n, \r, \n, U+2028, U+2029) become \n in the multi-line form, and the
//      caller's choice (a space, or a visible ␤) in the one-line forms.
//   3. Tabs stay in the multi-line form; the one-line forms make them spaces.
//   4. Any other C0 control and DEL becomes its visible control picture (␀ … ␟, ␡), a C1
//      control becomes U+FFFD, so the reader sees that something was there.
//   5. Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) become
//      U+FFFD: they reorder the text around them. The invisible format characters (directional
//      marks, zero-width space, word joiner, BOM, tags, ...: Unicode's Cf, bar the zero-width
//      joiner and non-joiner that some scripts and emoji need) are dropped.
// The result holds no byte a terminal acts on other than the \n (and \t) the multi-line form
// keeps.

/* eslint-disable no-control-regex */

// 1. escape sequences: string sequences first (their bodies may hold anything but the
// terminator), then CSI, then any other ESC sequence (intermediates 0x20-0x2F, final 0x30-0x7E)
const ESCAPES = new RegExp(
  [
    '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)',
    '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]',
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]',
  ].join('|'),
  'g',
);
const LINE_BREAK = /\r\n|[\r\n\u2028\u2029]/g;
const C0_DEL = /[\x00-\x08\x0b-\x1f\x7f]/g; // \t (09) and \n (0a) are dealt with apart
const C1 = /[\x80-\x9f]/g;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
// Unicode's format characters (Cf) except ZWNJ/ZWJ (U+200C, U+200D); the bidi ones above are
// replaced before this runs
const INVISIBLE = /(?![\u200c\u200d])\p{Cf}/gu;

/** Anything the sanitizer would change (for checks and tests): controls, ESC, DEL, C1, bidi, invisible format characters. */
export const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]|(?![\u200c\u200d])\p{Cf}/u;

const picture = (c: string) => (c === '\x7f' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0)));

// anything at all a form may change; most text has none of it and is returned as it is
const TOUCHED = /[\x00-\x1f\x7f-\x9f\u2028\u2029]|\p{Cf}/u;

function neutralise(s: string, newline: string, tab: string): string {
  if (!TOUCHED.test(s)) return s;
  return s
    .replace(ESCAPES, '')
    .replace(LINE_BREAK, newline)
    .replace(/\t/g, tab)
    .replace(C0_DEL, picture)
    .replace(C1, '\ufffd')
    .replace(BIDI, '\ufffd')
    .replace(INVISIBLE, '');
}

const text = (s: unknown): string => (s === null || s === undefined ? '' : String(s));

export interface LineOptions {
  /** what a line break becomes: a space (the default), or e.g. '␤' to show it */
  newline?: string;
}

/**
 * One line of terminal-safe text: for plugin lines, table cells, headers and one-line messages.
 * Line breaks become a space (or `newline`), tabs a space, escapes vanish, controls are shown.
 */
export function sanitizeLine(s: unknown, opts: LineOptions = {}): string {
  return neutralise(text(s), opts.newline ?? ' ', ' ');
}

/** Terminal-safe text that keeps its lines (and tabs): for logs and whole outputs. Every line break is \n. */
export function sanitizeText(s: unknown): string {
  return neutralise(text(s), '\n', '\t');
}

/**
 * One markdown table cell (or inline text) from outside text: one line, terminal-safe, and
 * unable to end the cell, open a code span or inline HTML: `\`, `|` and backticks are
 * backslash-escaped, `<` is written as an entity.
 */
export function markdownCell(s: unknown): string {
  return sanitizeLine(s)
    .replace(/[\\|`]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;');
}

/**
 * A Nagios plugin perfdata label, quoted as the plugin guidelines say: one line, a `'` written
 * twice; `=` and spaces are fine inside the quotes. A `|` would start another perfdata section
 * for some parsers, so it becomes `/`.
 */
export function perfdataLabel(s: unknown): string {
  return `'${sanitizeLine(s).replace(/\|/g, '/').replace(/'/g, "''")}'`;
}

/**
 * JSON for a terminal: as JSON.stringify, then DEL, the C1 controls, the line and paragraph
 * separators, bidi and other invisible format characters are written as \u escapes (JSON
 * itself escapes only C0). The value read back is exactly the same.
 */
export function terminalJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  if (json === undefined) return 'null';
  return json.replace(/[\x7f-\x9f\u2028\u2029]|\p{Cf}/gu, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
