// The import rules of the layers (docs/architecture.md), read from the source: src/ stands
// alone, only bin/ reaches src/cli/, screens/ reaches the core only through its types and a few
// pure modules, and no file imports itself back through others.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const LAYERS = ['src', 'screens', 'tasks', 'bin'];

/** Modules of the core that screens/ may import values from: pure, no I/O. */
const SCREEN_ALLOWED: Record<string, string> = {
  'src/util/sanitize.ts': 'the one sanitizer of outside text',
  'src/health/fixes.ts': 'which task fixes a finding (a pure reading of the report)',
  'src/util/narrow.ts': 'which characters are one column wide (a pure function of a code unit)',
  'src/tasks/confirm.ts': 'the one confirmation policy',
  'src/tasks/progress.ts': 'the one progress policy: percent, ETA, the progress and lock-wait lines',
  'src/errors.ts': 'errorLine, the one-line form of an error',
  'src/checklists/conditions.ts': 'describeCondition, the words of a condition',
  'src/checklists/skip.ts': 'which steps may be skipped',
  'src/health/status.ts': 'the one status order (severity, worst)',
  'src/util/format.ts': 'durations and sizes, written the same as the CLI writes them',
  'src/sessions/model.ts': 'the sessions view: the lock tree, sorting, filtering, the counts, the cancel policy',
};
const SCREEN_FORBIDDEN_PACKAGES = ['pg', 'execa', 'node:child_process', 'child_process', 'node:fs', 'fs', 'systeminformation'];

interface Import {
  from: string;
  spec: string;
  /** the resolved project file, for a relative import */
  to: string | null;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

function resolveSpec(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(fromFile), spec);
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    try {
      if (statSync(c).isFile()) return relative(ROOT, c);
    } catch {
      /* next candidate */
    }
  }
  return null;
}

export function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const from = relative(ROOT, file);
  const stat = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(stat)) {
    const typeOnly = !!m[2] || (m[1] === 'import' && /^\{\s*(type\s+[^,}]+\s*,?\s*)+\}$/.test(m[3]));
    out.push({ from, spec: m[4], to: resolveSpec(file, m[4]), typeOnly });
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ from, spec: m[1], to: resolveSpec(file, m[1]), typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ from, spec: m[1], to: resolveSpec(file, m[1]), typeOnly: false });
  return out;
}

const ALL: Import[] = LAYERS.flatMap((l) => files(join(ROOT, l)).flatMap((f) => importsOf(f, readFileSync(f, 'utf8'))));
const show = (i: Import) => `${i.from} imports ${i.spec}`;

/** Breaks of the rules, one line each. */
export function layerBreaks(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const i of imports) {
    const to = i.to ?? '';
    if (i.from.startsWith('src/') && /^(tasks|screens|bin)\//.test(to)) out.push(`${show(i)}: src/ must not import tasks/, screens/ or bin/`);
    if (i.from.startsWith('src/') && !i.from.startsWith('src/cli/') && to.startsWith('src/cli/')) out.push(`${show(i)}: only bin/ and src/cli/ import src/cli/`);
    if (i.from.startsWith('screens/')) {
      if (SCREEN_FORBIDDEN_PACKAGES.includes(i.spec)) out.push(`${show(i)}: screens/ never queries a database, spawns a process or reads files`);
      if (to.startsWith('src/') && !i.typeOnly && !(to in SCREEN_ALLOWED)) out.push(`${show(i)}: screens/ takes only types, and values from the pure modules listed in this test`);
    }
  }
  return out;
}

/** Every import cycle among project files, each as the files around it. */
export function cycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const i of imports) if (i.to) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to]);
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') found.push(stack.slice(stack.indexOf(m)));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of edges.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('layers', () => {
  test('the import reader sees the files and their imports', () => {
    expect(ALL.length).toBeGreaterThan(200);
    expect(ALL.some((i) => i.from === 'bin/main.ts' && i.to === 'tasks/index.ts')).toBe(true);
  });

  test('src/ stands alone, only bin/ and src/cli/ reach src/cli/, screens/ takes types and pure modules', () => {
    expect(layerBreaks(ALL)).toEqual([]);
  });

  test('no import cycle', () => {
    expect(cycles(ALL).map((c) => c.join(' -> '))).toEqual([]);
  });

  test('each rule catches its break', () => {
    const at = (from: string, spec: string, to: string | null, typeOnly = false): Import => ({ from, spec, to, typeOnly });
    expect(layerBreaks([at('src/cli/run.ts', '../../tasks/index', 'tasks/index.ts')])).toHaveLength(1);
    expect(layerBreaks([at('src/tasks/service.ts', '../cli/run', 'src/cli/run.ts')])).toHaveLength(1);
    expect(layerBreaks([at('screens/App.tsx', '../src/journal', 'src/journal.ts')])).toHaveLength(1);
    expect(layerBreaks([at('screens/App.tsx', '../src/journal', 'src/journal.ts', true)])).toEqual([]);
    expect(layerBreaks([at('screens/App.tsx', 'pg', null)])).toHaveLength(1);
    expect(cycles([at('screens/a.ts', './b', 'screens/b.ts', true), at('screens/b.ts', './a', 'screens/a.ts')])).toHaveLength(1);
    // a type-only named import is read as such; a mixed one is a value import
    const r = importsOf(join(ROOT, 'screens/x.ts'), "import { type A, type B } from '../src/journal';\nimport { c, type D } from '../src/monitor';\n");
    expect(r.map((i) => i.typeOnly)).toEqual([true, false]);
  });
});
