// The one sanitizer (src/util/sanitize.ts) on hostile text: escape sequences, C0/C1 controls,
// DEL, bidi overrides and isolates, newlines. Its printers: printers-hostile.test.ts.
import { describe, expect, it } from 'vitest';
import { markdownCell, perfdataLabel, sanitizeLine, sanitizeText, terminalJson, UNSAFE } from '../../src/util/sanitize';

const TITLE = '\x1b]0;pwned\x07'; // sets the terminal's title
const CLEAR = '\x1b[2J'; // clears the screen
const HOSTILE = `a${TITLE}${CLEAR}b\nc\u202Ed\x9b31m\x7fe\u2066f\u200bg\x00h\x1b`;
/** Bytes a terminal would act on (besides \n and \t) or that reorder text. */
const BAD = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

describe('sanitizeLine', () => {
  it('drops escape sequences whole, shows other controls, replaces bidi overrides, and makes one line', () => {
    const out = sanitizeLine(HOSTILE);
    expect(out).not.toMatch(BAD);
    expect(out).not.toContain('\n');
    expect(out).not.toContain('pwned'); // the OSC string was an instruction, not text
    expect(out).toBe('ab c\ufffdd\u2421e\ufffdfg\u2400h\u241b'); // \x9b31m is an 8-bit CSI: gone whole
  });
  it('leaves ordinary text alone, including non-Latin scripts and emoji with joiners', () => {
    for (const s of ['public.orders', 'Grüße, 日本語, العربية', 'family 👨‍👩‍👧', "it's | 100% = ok"]) expect(sanitizeLine(s)).toBe(s);
  });
  it('can show line breaks as ␤, and makes \\r\\n, \\r, U+2028 and U+2029 one break each', () => {
    expect(sanitizeLine('a\r\nb\rc\u2028d\u2029e\nf', { newline: '\u2424' })).toBe('a\u2424b\u2424c\u2424d\u2424e\u2424f');
    expect(sanitizeLine('a\tb')).toBe('a b');
  });
  it('removes every kind of escape: CSI with parameters, 8-bit CSI, OSC ended by ST, DCS, charset switches', () => {
    expect(sanitizeLine('\x1b[1;31mred\x1b[0m \x1b[?1049h\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1bPq#0\x1b\\\x1b(0x\x1b(B')).toBe('red link x');
    expect(sanitizeLine('\x9b2Jx')).toBe('x');
    // an escape with no end keeps no ESC byte
    expect(sanitizeLine('x\x1b]0;title with no end')).not.toMatch(BAD);
  });
  it('cannot be tricked into rebuilding an escape from the pieces around a removed one', () => {
    const out = sanitizeLine('\x1b\x1b[2J[31m');
    expect(out).not.toContain('\x1b');
    expect(out).toBe('\u241b[31m');
  });
  it('takes null, undefined and numbers', () => {
    expect(sanitizeLine(null)).toBe('');
    expect(sanitizeLine(undefined)).toBe('');
    expect(sanitizeLine(42)).toBe('42');
  });
});

describe('sanitizeText', () => {
  it('keeps lines and tabs, and nothing else a terminal acts on', () => {
    const out = sanitizeText(`line 1\r\n${HOSTILE}\tx`);
    expect(out).not.toMatch(BAD);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).toContain('\tx');
    expect(out.startsWith('line 1\nab\n')).toBe(true);
  });
  it('matches UNSAFE before and not after', () => {
    expect(UNSAFE.test(HOSTILE)).toBe(true);
    expect(UNSAFE.test(sanitizeText(HOSTILE))).toBe(false);
  });
});

describe('markdownCell', () => {
  it('cannot end a table cell, add a row, open a code span or inline HTML', () => {
    const out = markdownCell('a | b\n| x | y |\n`code` <script>\\');
    expect(out).not.toContain('\n');
    expect(out.replace(/\\\|/g, '')).not.toContain('|');
    expect(out).toBe('a \\| b \\| x \\| y \\| \\`code\\` &lt;script>\\\\');
    expect(markdownCell(HOSTILE)).not.toMatch(BAD);
  });
});

describe('perfdataLabel', () => {
  it("quotes as the plugin guidelines say: ' doubled, = kept, no | and no line break", () => {
    expect(perfdataLabel("disk:/mnt/it's")).toBe("'disk:/mnt/it''s'");
    expect(perfdataLabel('a=b')).toBe("'a=b'");
    expect(perfdataLabel('a|b\nc')).toBe("'a/b c'");
  });
});

describe('terminalJson', () => {
  it('escapes C1, DEL, bidi and separators, and reads back to the same value', () => {
    const value = { s: HOSTILE, t: 'tag \u{e0041} end', n: 1 };
    const json = terminalJson(value, 2);
    expect(json).not.toMatch(BAD);
    expect(json).not.toMatch(/[\u2028\u2029]|\p{Cf}/u);
    expect(JSON.parse(json)).toEqual(value);
  });
});
