// A row cache for ink's Output (build.mjs patches ink's output.js to ask it first; issue 14).
// ink 6.8 builds every row of every frame cell by cell: an object per cell, then back to a
// string. Most rows of a refresh are what they were. Here a row is kept by what was written on
// it (each write's position and styled line, after its transformers): only a row that changed
// goes through the cells, the way ink does it. A frame with clipping is left to ink (null).
// test/unit/ink-rows.test.ts holds it to ink's own Output.get() on the same writes.

const CACHE_MAX = 1000;
const ROWS = new Map();

/**
 * The frame ink's Output.get() would give, or null for ink to build it.
 * @param {{ width: number, height: number, operations: any[], caches: { getStyledChars(s: string): any[], getStringWidth(s: string): number } }} output
 * @param {(chars: any[]) => string} styledCharsToString
 */
export function fastRows(output, styledCharsToString) {
  if (output.operations.some((o) => o.type === 'clip')) return null;
  const rows = Array.from({ length: output.height }, () => []);
  for (const op of output.operations) {
    if (op.type !== 'write' || !op.text) continue;
    const lines = op.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const y = op.y + i;
      if (y < 0 || y >= output.height) continue;
      let line = lines[i];
      for (const t of op.transformers) line = t(line, i);
      rows[y].push(op.x, line);
    }
  }
  const out = new Array(output.height);
  for (let y = 0; y < output.height; y++) {
    const w = rows[y];
    if (w.length === 0) {
      out[y] = '';
      continue;
    }
    const key = `${output.width}\u0000${w.join('\u0001')}`;
    let text = ROWS.get(key);
    if (text === undefined) {
      text = buildRow(output, w, styledCharsToString);
      if (ROWS.size > CACHE_MAX) ROWS.clear();
      ROWS.set(key, text);
    }
    out[y] = text;
  }
  return { output: out.join('\n'), height: output.height };
}

/** One row, cell by cell, as ink's Output.get() builds it: `w` is [x, line, x, line, …] in write order. */
function buildRow(output, w, styledCharsToString) {
  const row = [];
  for (let x = 0; x < output.width; x++) row.push({ type: 'char', value: ' ', fullWidth: false, styles: [] });
  for (let k = 0; k < w.length; k += 2) {
    let offsetX = w[k];
    for (const character of output.caches.getStyledChars(w[k + 1])) {
      row[offsetX] = character;
      // a wide character's following cells are emptied, as ink does
      const cw = Math.max(1, output.caches.getStringWidth(character.value));
      for (let j = 1; j < cw; j++) row[offsetX + j] = { type: 'char', value: '', fullWidth: false, styles: character.styles };
      offsetX += cw;
    }
  }
  return styledCharsToString(row.filter((item) => item !== undefined)).trimEnd();
}
