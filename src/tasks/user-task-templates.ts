// The parameter references in an operator's task steps, checked when the file loads: each
// '{{name}}' in a `run` step's argv element, and each :name placeholder in a `sql` step, which
// becomes a bound $n parameter (the SQL is read as PostgreSQL lexes it, so quoted text,
// comments and casts are left alone). Parameters never pass through a shell.
import { PARAM_RE } from './user-task-spec';

export type Part = string | { param: string };

/** Splits one argv element at its '{{name}}' references. */
export function parseArg(arg: string, known: ReadonlySet<string>): { parts: Part[] } | { index: number; message: string } {
  const parts: Part[] = [];
  let i = 0;
  while (i < arg.length) {
    const open = arg.indexOf('{{', i);
    if (open < 0) {
      parts.push(arg.slice(i));
      break;
    }
    if (open > i) parts.push(arg.slice(i, open));
    const close = arg.indexOf('}}', open + 2);
    if (close < 0) return { index: open, message: `"{{" without a closing "}}"` };
    const name = arg.slice(open + 2, close).trim();
    if (!PARAM_RE.test(name)) return { index: open, message: `"{{${arg.slice(open + 2, close)}}}" is not a parameter reference` };
    if (!known.has(name)) return { index: open, message: `unknown parameter "{{${name}}}" (${paramList(known)})` };
    parts.push({ param: name });
    i = close + 2;
  }
  return { parts };
}

function paramList(known: ReadonlySet<string>): string {
  return known.size ? `parameters: ${[...known].join(', ')}` : 'the task has no parameters';
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Turns :name placeholders into $1, $2... (a repeated name reuses its number), skipping string
 * literals, quoted identifiers, dollar quotes, comments and `::` casts.
 */
export function parseSql(sqlText: string, known: ReadonlySet<string>): { text: string; names: string[] } | { index: number; message: string } {
  const names: string[] = [];
  let out = '';
  let i = 0;
  const n = sqlText.length;
  const copyUntil = (end: number) => {
    out += sqlText.slice(i, end);
    i = end;
  };
  while (i < n) {
    const c = sqlText[i];
    const next = sqlText[i + 1];
    if (c === "'") {
      const prev = sqlText[i - 1];
      const escapes = (prev === 'E' || prev === 'e') && !IDENT_CHAR.test(sqlText[i - 2] ?? ' ');
      let j = i + 1;
      for (; j < n; j++) {
        if (escapes && sqlText[j] === '\\') j++;
        else if (sqlText[j] === "'") {
          if (sqlText[j + 1] === "'") j++;
          else break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated quoted string' };
      copyUntil(j + 1);
    } else if (c === '"') {
      let j = i + 1;
      for (; j < n; j++) {
        if (sqlText[j] === '"') {
          if (sqlText[j + 1] === '"') j++;
          else break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated quoted identifier' };
      copyUntil(j + 1);
    } else if (c === '-' && next === '-') {
      const j = sqlText.indexOf('\n', i);
      copyUntil(j < 0 ? n : j);
    } else if (c === '/' && next === '*') {
      let depth = 0;
      let j = i;
      for (; j < n; j++) {
        if (sqlText[j] === '/' && sqlText[j + 1] === '*') {
          depth++;
          j++;
        } else if (sqlText[j] === '*' && sqlText[j + 1] === '/') {
          depth--;
          j++;
          if (depth === 0) break;
        }
      }
      if (j >= n) return { index: i, message: 'unterminated /* comment' };
      copyUntil(j + 1);
    } else if (c === '$' && !IDENT_CHAR.test(sqlText[i - 1] ?? ' ')) {
      if (/[0-9]/.test(next ?? '')) return { index: i, message: `write :name placeholders, not positional ${sqlText.slice(i).match(/^\$[0-9]+/)![0]}` };
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sqlText.slice(i));
      if (!tag) {
        copyUntil(i + 1);
        continue;
      }
      const end = sqlText.indexOf(tag[0], i + tag[0].length);
      if (end < 0) return { index: i, message: `unterminated ${tag[0]} quote` };
      copyUntil(end + tag[0].length);
    } else if (c === ':' && next === ':') {
      copyUntil(i + 2);
    } else if (c === ':' && /[A-Za-z_]/.test(next ?? '')) {
      const name = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(sqlText.slice(i))![1];
      if (!known.has(name)) return { index: i, message: `unknown parameter ":${name}" (${paramList(known)})` };
      let k = names.indexOf(name);
      if (k < 0) k = names.push(name) - 1;
      out += `$${k + 1}`;
      i += 1 + name.length;
    } else {
      copyUntil(i + 1);
    }
  }
  return { text: out, names };
}
