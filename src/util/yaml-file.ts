// Operator-written YAML files (tasks, checklists): read safely, parsed with line numbers, and
// problems reported as `<file>:<line>: <key path>: <problem>`. Like sudo and ssh, a file (or its
// directory) that others could write is refused, since what it says runs with the operator's rights.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type * as z from 'zod';
import { formatKeyPath } from '../errors';

// ---------------------------------------------------------------- file safety

const MAX_BYTES = 1024 * 1024;

export function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** Why others could change this file or directory, or null when they cannot. */
export function unsafe(path: string, st: Stats): string | null {
  if (st.mode & 0o022) return `writable by group or others (chmod go-w ${path})`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return `owned by uid ${st.uid}, neither you (uid ${uid}) nor root`;
  return null;
}

export function refusal(path: string, st: Stats): string | null {
  const why = unsafe(path, st);
  return why && `${path}: refused: ${why}`;
}

/** Reads a task file, refusing what others could have written. Returns the text or a one-line error. */
export function readSafely(file: string, what = 'a task file', opts: { trusted?: boolean } = {}): { text: string } | { error: string } {
  let lst: Stats;
  try {
    lst = lstatSync(file);
  } catch (err) {
    return { error: `${file}: cannot read: ${errCode(err)}` };
  }
  let target: string | null = null;
  if (lst.isSymbolicLink()) {
    // the link itself cannot be changed by others (its directory was checked); its target can
    try {
      target = realpathSync(file);
    } catch (err) {
      return { error: `${file}: cannot read: ${errCode(err)} (a symbolic link to a missing file?)` };
    }
    const parent = dirname(target);
    try {
      const pst = statSync(parent);
      // in a sticky directory (/tmp) others cannot replace what is ours
      const why = pst.mode & 0o1000 || opts.trusted ? null : unsafe(parent, pst);
      if (why) return { error: `${file}: refused: its target's directory ${parent} is ${why}` };
    } catch (err) {
      return { error: `${file}: cannot read ${parent}: ${errCode(err)}` };
    }
  }
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named x.yaml must not hang the console
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { error: `${file}: cannot read: ${errCode(err)}` };
  }
  try {
    // the checks apply to what was opened, the symlink's target included
    const st = fstatSync(fd);
    if (!st.isFile()) return { error: `${file}: not a regular file` };
    const why = opts.trusted ? null : unsafe(target ?? file, st);
    if (why) return { error: target ? `${file}: refused: its target ${target} is ${why}` : `${file}: refused: ${why}` };
    if (st.size > MAX_BYTES) return { error: `${file}: too large for ${what} (${st.size} bytes, at most ${MAX_BYTES})` };
    return { text: readFileSync(fd, 'utf8') };
  } catch (err) {
    return { error: `${file}: cannot read: ${errCode(err)}` };
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- locating problems

export interface Problem {
  line: number | null;
  path: readonly PropertyKey[];
  message: string;
}

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  private lineOfOffset(offset: number): number {
    return this.lc.linePos(offset).line || 1;
  }

  /** The node at `path`, or the deepest one that exists on the way there; `key` gives a map key's own node. */
  node(path: readonly PropertyKey[], key = false): YamlNode | null {
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
        if (!pair) return node;
        if (i === path.length - 1 && key && isScalar(pair.key)) return pair.key;
        // a key without a value (`rollback:`) has a null value node
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg];
      } else break;
    }
    return (node as YamlNode | null) ?? null;
  }

  line(path: readonly PropertyKey[], key = false): number | null {
    const n = this.node(path, key);
    return n?.range ? this.lineOfOffset(n.range[0]) : null;
  }

  /** The line of character `index` of the string value at `path` (exact for `|` blocks). */
  lineInValue(path: readonly PropertyKey[], index: number): number | null {
    const n = this.node(path);
    if (!n?.range) return null;
    const start = this.lineOfOffset(n.range[0]);
    if (isScalar(n) && typeof n.value === 'string') {
      if (n.type === 'BLOCK_LITERAL') return start + 1 + (n.value.slice(0, index).match(/\n/g)?.length ?? 0);
      if (n.type === 'BLOCK_FOLDED') return start + 1;
    }
    return start;
  }

  /** A plain scalar as it was written: `0755` stays "0755", `5` becomes "5" (for argv elements). */
  source(path: readonly PropertyKey[]): string | undefined {
    const n = this.node(path);
    return isScalar(n) && n.type === 'PLAIN' && typeof n.source === 'string' ? n.source : undefined;
  }
}

export function zodProblems(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  loc: Locator,
  allowedKeys: (path: readonly PropertyKey[], data: unknown) => string[] | null,
): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(issue.path, data);
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        out.push({ line: loc.line(path, true), path, message: `unknown key${allowed ? ` (allowed: ${allowed.join(', ')})` : ''}` });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
    else if (issue.path.length && valueAt(data, issue.path) === undefined && issue.code === 'invalid_type') message = 'required, missing';
    const key = issue.code === 'invalid_key';
    out.push({ line: loc.line(issue.path, key), path: issue.path, message });
  }
  return out;
}

export function valueAt(data: unknown, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v as Record<string, unknown> | undefined;
}

/** Parses YAML text, keeping line numbers; a syntax error is one located line. */
export function parseYaml(text: string, file: string): { data: unknown; loc: Locator } | { error: string } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = lc.linePos(e.pos[0]).line || 1;
    return { error: `${file}:${line}: not valid YAML: ${e.message.split('\n')[0]}` };
  }
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }), loc: new Locator(doc, lc) };
  } catch (err) {
    return { error: `${file}:1: not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The first problem (by line) as one line, counting the others. */
export function firstProblem(file: string, problems: readonly Problem[], fallback: string): string {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const p = sorted[0] ?? { line: null, path: [], message: fallback };
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more problem${sorted.length > 2 ? 's' : ''} in this file)` : '';
  return `${file}:${p.line ?? 1}: ${formatKeyPath(p.path)}: ${p.message}${more}`;
}

/**
 * The *.yaml and *.yml files of a directory, in name order (dot files, editors' locks and
 * backups, left out); a missing directory has none; a directory others could write is refused.
 */
export function yamlFilesIn(dir: string, opts: { trusted?: boolean } = {}): { files: string[]; errors: string[] } {
  let dirStat: Stats;
  try {
    dirStat = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], errors: [] };
    return { files: [], errors: [`${dir}: cannot read: ${errCode(err)}`] };
  }
  if (!dirStat.isDirectory()) return { files: [], errors: [`${dir}: not a directory`] };
  const dirRefusal = opts.trusted ? null : refusal(dir, dirStat);
  if (dirRefusal) return { files: [], errors: [dirRefusal] };
  try {
    const names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
    return { files: names.map((n) => join(dir, n)), errors: [] };
  } catch (err) {
    return { files: [], errors: [`${dir}: cannot read: ${errCode(err)}`] };
  }
}
