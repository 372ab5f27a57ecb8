// A small strict JSON parser that remembers where each value starts, so that configuration
// errors can name the line of a bad value, and syntax errors their line and column.
// A configuration is a few levels deep: nesting past MAX_DEPTH is refused (the parser recurses,
// and 100,000 "[" would overflow the stack), and so is a "__proto__" key, which an assignment
// would turn into the object's prototype, its keys then read as if they were the object's own.

/** How deep values may nest: the configuration needs four levels. */
export const MAX_DEPTH = 64;

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
    /** set when the JSON is well formed but refused (too deep, a "__proto__" key): where */
    readonly refusedAt: readonly PropertyKey[] | null = null,
  ) {
    super(message);
  }
}

export interface LocatedJson {
  value: unknown;
  /** key path (joined with \u0000) -> line of the value */
  lines: Map<string, number>;
}

export const pathKey = (path: readonly PropertyKey[]) => path.map(String).join('\u0000');

export function parseJsonLocated(text: string): LocatedJson {
  let i = 0;
  const lines = new Map<string, number>();
  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const fail = (msg: string, pos = i, refusedAt: readonly PropertyKey[] | null = null): never => {
    const line = lineOf(pos);
    throw new JsonSyntaxError(msg, line, pos - lineStarts[line - 1] + 1, refusedAt);
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const describe = () => (i >= text.length ? 'end of file' : `"${text[i]}"`);

  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\n') fail('unterminated string', start);
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          i += 2;
        } else fail('bad escape in string');
        continue;
      }
      out += c;
      i++;
    }
    return fail('unterminated string', start);
  };

  const value = (path: PropertyKey[]): unknown => {
    ws();
    lines.set(pathKey(path), lineOf(i));
    const c = text[i];
    if ((c === '{' || c === '[') && path.length >= MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} levels deep`, i, path);
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before "}"' : `expected a quoted key, found ${describe()}`);
        const keyAt = i;
        const key = str();
        if (key === '__proto__') fail('"__proto__" is not allowed as a key', keyAt, [...path, key]);
        ws();
        if (text[i] !== ':') fail(`expected ":" after key "${key}", found ${describe()}`);
        i++;
        // a data property in every case, never a setter (the parser's own defence, whatever the key)
        Object.defineProperty(obj, key, { value: value([...path, key]), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`expected "," or "}" after the value of "${key}", found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value([...path, arr.length]));
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma before "]"');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`expected "," or "]" in a list, found ${describe()}`);
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (m) {
      i += m[0].length;
      return JSON.parse(m[0]);
    }
    return fail(`expected a value, found ${describe()}`);
  };

  const v = value([]);
  ws();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the document`);
  return { value: v, lines };
}
