// Which characters are one column wide, without string-width (issue 14): string-width segments
// graphemes and tests for emoji, about 90 µs a dashboard line. The screens' textWidth and the
// patched widest-line that ink measures its text with (build.mjs) both count with it, and fall
// back to string-width for anything it does not know. No imports: build.mjs loads it into ink.

/**
 * UTF-16 units that are one column wide on their own, as string-width measures them (test/unit/
 * text-width.test.ts checks every one): printable ASCII, Latin-1 and Latin Extended, general
 * punctuation, arrows, mathematical operators, box drawing, blocks and geometric shapes (but ◽ ◾,
 * wide), and ✓ ✗ ⚠. A combining mark, a variation selector or a surrogate is not in it.
 */
export function isNarrow(c: number): boolean {
  if (c >= 0x20 && c <= 0x7e) return true;
  if (c < 0xa0) return false;
  return (
    (c <= 0x2ff && c !== 0xad) ||
    (c >= 0x2010 && c <= 0x2027) ||
    (c >= 0x2030 && c <= 0x205e) ||
    (c >= 0x2190 && c <= 0x21ff) ||
    (c >= 0x2200 && c <= 0x22ff) ||
    (c >= 0x2500 && c <= 0x25fc) ||
    c === 0x25ff ||
    c === 0x2713 ||
    c === 0x2717 ||
    c === 0x26a0
  );
}

/** The width of a line whose every unit isNarrow (its length), else null: measure it in full. */
export function narrowWidth(s: string): number | null {
  for (let i = 0; i < s.length; i++) if (!isNarrow(s.charCodeAt(i))) return null;
  return s.length;
}
