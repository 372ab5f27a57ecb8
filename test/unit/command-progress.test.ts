// A command step's own progress (issue 13 §2, src/tasks/command-progress.ts): pg_dump's and
// pg_restore's --verbose lines as PostgreSQL 12–17 word them, tables done of a total (a table is
// done once anything follows it, or the command exits 0), the size of the file it writes, and
// the executor's hook: chatter logged as info, not as errors, the figures on the running step.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CommandProgressWatch, pgToolLine } from '../../src/tasks/command-progress';
import type { CommandProgress } from '../../src/tasks/model';
import { progressFigures, type StepProgress } from '../../src/tasks/progress';
import { StepExecutor, type ExecHost } from '../../src/tasks/step-exec';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('pgToolLine', () => {
  test("pg_dump's table line, with the name as it prints it (schema.table, quotes unescaped)", () => {
    expect(pgToolLine('pg_dump', 'pg_dump: dumping contents of table "public.orders"')).toEqual({ table: 'public.orders' });
    expect(pgToolLine('pg_dump', 'pg_dump: dumping contents of table "We ird.t"q"')).toEqual({ table: 'We ird.t"q' });
    expect(pgToolLine('pg_dump', 'pg_dump: reading indexes')).toEqual({ verbose: 'reading indexes' });
    // the other program's wording is not a table
    expect(pgToolLine('pg_dump', 'pg_dump: processing data for table "public.orders"')).toEqual({ verbose: 'processing data for table "public.orders"' });
  });

  test("pg_restore's table line and its other chatter", () => {
    expect(pgToolLine('pg_restore', 'pg_restore: processing data for table "public.orders"')).toEqual({ table: 'public.orders' });
    expect(pgToolLine('pg_restore', 'pg_restore: creating INDEX "public.orders_pkey"')).toEqual({ verbose: 'creating INDEX "public.orders_pkey"' });
    expect(pgToolLine('pg_restore', 'pg_restore: connecting to database for restore')).toEqual({ verbose: 'connecting to database for restore' });
  });

  test('errors, warnings and what goes with them are no chatter: they stay error lines', () => {
    for (const l of [
      'pg_dump: error: query failed: ERROR:  permission denied for table secret',
      'pg_dump: detail: Query was: COPY public.secret (x) TO stdout;',
      'pg_dump: hint: something',
      'pg_dump: warning: there are circular foreign-key constraints on this table:',
      'pg_dump: fatal: could not connect', // PostgreSQL 12–14
    ]) expect(pgToolLine('pg_dump', l)).toBeNull();
    expect(pgToolLine('pg_restore', 'pg_restore: from TOC entry 3378; 0 16895 TABLE DATA public a postgres')).toBeNull();
    expect(pgToolLine('pg_restore', 'pg_restore: error: could not execute query: ERROR:  relation "a" does not exist')).toBeNull();
    expect(pgToolLine('pg_restore', 'Command was: COPY public.a (x) FROM stdin;')).toBeNull();
    expect(pgToolLine('pg_restore', 'pg_dump: dumping contents of table "public.orders"')).toBeNull();
  });
});

const spec = (over: Partial<CommandProgress> = {}): CommandProgress => ({ source: 'pg_dump', total: 3, line: (l) => pgToolLine('pg_dump', l), ...over });
const table = (name: string) => `pg_dump: dumping contents of table "${name}"`;

describe('CommandProgressWatch', () => {
  test('tables done of the total: the table it is on is not done until something follows it or it exits 0', async () => {
    const seen: (StepProgress | null)[] = [];
    const w = new CommandProgressWatch(spec(), (p) => seen.push(p));
    expect(w.line('pg_dump: reading schemas')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ source: 'pg_dump', phase: 'reading schemas', done: 0, total: 3, unit: 'tables', extra: [] });
    w.line(table('public.a'));
    w.line(table('public.b'));
    expect(seen.at(-1)).toMatchObject({ phase: 'dumping public.b', done: 1, total: 3 });
    w.line(table('public.c'));
    expect(seen.at(-1)).toMatchObject({ done: 2 });
    expect(w.line('pg_dump: error: query failed')).toBe(false);
    await w.finish(true);
    expect(seen.at(-2)).toMatchObject({ phase: 'done', done: 3, total: 3 });
    expect(seen.at(-1)).toBeNull();
    expect(progressFigures(seen.at(-2)!, 0, 4000).text).toBe('pg_dump · done · 3 of 3 tables · 100% · 4.0s elapsed · ETA 0.0s');
    // after its end it says nothing more
    expect(w.line(table('public.d'))).toBe(false);
    expect(seen.at(-1)).toBeNull();
  });

  test('an unknown total: tables done shown, no percent; more tables than counted raise the total', async () => {
    const seen: (StepProgress | null)[] = [];
    const w = new CommandProgressWatch(spec({ total: null, source: 'pg_restore', line: (l) => pgToolLine('pg_restore', l) }), (p) => seen.push(p));
    w.line('pg_restore: processing data for table "public.a"');
    w.line('pg_restore: processing data for table "public.b"');
    w.line('pg_restore: creating INDEX "public.b_pkey"');
    const f = progressFigures(seen.at(-1)!, 0, 2000);
    expect(f.percent).toBeNull();
    expect(f.text).toBe('pg_restore · creating INDEX "public.b_pkey" · 2 tables · 2.0s elapsed · ETA ?');

    const seen2: (StepProgress | null)[] = [];
    const w2 = new CommandProgressWatch(spec({ total: 1 }), (p) => seen2.push(p));
    for (const t of ['a', 'b', 'c']) w2.line(table(`public.${t}`));
    expect(seen2.at(-1)).toMatchObject({ done: 2, total: 2 });
  });

  test('a failed command: no last figures, the progress is cleared', async () => {
    const seen: (StepProgress | null)[] = [];
    const w = new CommandProgressWatch(spec(), (p) => seen.push(p));
    w.line(table('public.a'));
    await w.finish(false);
    expect(seen.map((p) => p?.done ?? null)).toEqual([0, null]);
  });

  test('bytes written: the file is read at most once every interval, and once more at a good end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-cmdprog-'));
    dirs.push(dir);
    const file = join(dir, 'x.partial');
    writeFileSync(file, Buffer.alloc(3000));
    const seen: (StepProgress | null)[] = [];
    const w = new CommandProgressWatch(spec({ file }), (p) => seen.push(p), 50);
    w.start();
    w.line(table('public.a'));
    expect(seen.at(-1)!.extra).toEqual([]); // not read yet
    await new Promise((r) => setTimeout(r, 130));
    expect(seen.at(-1)!.extra).toEqual(['2.9 KB written']);
    const reads = seen.length;
    // two or three reads in 130 ms at one per 50 ms, not one per line or per millisecond
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(4);
    writeFileSync(file, Buffer.alloc(5 * 1024 * 1024));
    w.stop();
    await w.finish(true);
    expect(seen.at(-2)).toMatchObject({ done: 1, extra: ['5.0 MB written'] });
    const f = progressFigures(seen.at(-2)!, 0, 1000);
    expect(f.detail).toBe('pg_dump · done · 1 of 3 tables · 5.0 MB written');
  });
});

describe("the executor's hook (StepExecutor.runCommand)", () => {
  function host() {
    const lines: { line: string; stream: string }[] = [];
    const seen: (StepProgress | null)[] = [];
    const h: ExecHost = {
      out: (line, stream) => void lines.push({ line, stream }),
      clean: (s) => s,
      cancelling: false,
      writeFailure: null,
      state: { fault: null },
      commandReporter: () => (p) => void seen.push(p),
    };
    return { h, lines, seen };
  }

  const script = [
    'echo "pg_dump: reading schemas" >&2',
    'echo "pg_dump: dumping contents of table \\"public.a\\"" >&2',
    'echo "pg_dump: dumping contents of table \\"public.b\\"" >&2',
    'echo "pg_dump: warning: something odd" >&2',
    'echo plain-out',
  ].join('; ');

  test("the command's chatter is logged as info, its warnings as errors; tables done reach the total", async () => {
    const { h, lines, seen } = host();
    const ex = new StepExecutor(h, {});
    const r = await ex.execute({ kind: 'command', shell: true, argv: [script], progress: spec({ total: 2 }) }, 10_000, null);
    expect(r.exitCode).toBe(0);
    // standard output and standard error interleave as they come: compared without their order
    expect(lines.filter((l) => l.stream !== 'out')).toEqual([
      { line: 'pg_dump: reading schemas', stream: 'info' },
      { line: 'pg_dump: dumping contents of table "public.a"', stream: 'info' },
      { line: 'pg_dump: dumping contents of table "public.b"', stream: 'info' },
      { line: 'pg_dump: warning: something odd', stream: 'err' },
    ]);
    expect(lines.filter((l) => l.stream === 'out')).toEqual([{ line: 'plain-out', stream: 'out' }]);
    expect(seen.map((p) => p && `${p.done}/${p.total}`)).toEqual(['0/2', '0/2', '1/2', '2/2', null]);
  });

  test('without a progress hook a command is run as before: standard error is error lines, nothing reported', async () => {
    const { h, lines, seen } = host();
    const ex = new StepExecutor(h, {});
    await ex.execute({ kind: 'command', shell: true, argv: [script] }, 10_000, null);
    expect(lines.filter((l) => l.stream === 'err')).toHaveLength(4);
    expect(seen).toEqual([]);
  });

  test('a command that fails: the progress is cleared, no last figures', async () => {
    const { h, seen } = host();
    const ex = new StepExecutor(h, {});
    await expect(ex.execute({ kind: 'command', shell: true, argv: [`${script}; exit 3`], progress: spec({ total: 2 }) }, 10_000, null)).rejects.toThrow(/exit code 3/);
    expect(seen.map((p) => p && p.done)).toEqual([0, 0, 1, null]);
  });
});
