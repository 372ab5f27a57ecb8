// A journal someone edited, or a crash tore, read by the built `ops`: lines that are valid JSON
// of the wrong shape are skipped, each with one warning on stderr that names the file and the
// line, and every other run is still listed, shown and offered for rollback. And a journal past
// the size that gets an index (journal.jsonl.idx): appended to by another process, torn at its
// end, replaced by an edited copy; each command still sees exactly what the file holds.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

const OPERATOR = { user: 'alice', sudoUser: null, sshClient: '10.0.0.7', tty: null, host: 'elsewhere.invalid', pid: 4242 };
const STEPS = [
  { id: 'snapshot', title: 'Snapshot the table', rollback: 'drop the snapshot', irreversible: false },
  { id: 'swap', title: 'Swap the tables', rollback: 'swap back', irreversible: false },
];

/** One journal line as ops writes it; `over` replaces or adds fields. */
function line(run: string, type: string, seq: number, over: Record<string, unknown> = {}, minute = 0): string {
  const body: Record<string, Record<string, unknown>> = {
    'run.start': { task: 'vacuum-analyze', title: 'Vacuum a table', risk: 'medium', params: { table: 'public.orders' }, target: 'postgresql://app@127.0.0.1:1/appdb', operator: OPERATOR, steps: STEPS, dryRun: false },
    'step.start': { step: 'snapshot', index: 0, attempt: 1, detail: 'CREATE TABLE snap AS TABLE orders' },
    'step.finish': { step: 'snapshot', index: 0, outcome: 'ok', exitCode: 0, durationMs: 120 },
    'run.end': { outcome: 'succeeded' },
  };
  const ts = new Date(Date.UTC(2026, 10, 23, 10, minute, seq)).toISOString();
  return `${JSON.stringify({ v: 1, ts, seq, run, type, ...body[type], ...over })}\n`;
}

/** A whole run that succeeded: 4 lines. */
const succeeded = (run: string, minute: number) =>
  line(run, 'run.start', 1, {}, minute) + line(run, 'step.start', 2, {}, minute) + line(run, 'step.finish', 3, {}, minute) + line(run, 'run.end', 4, {}, minute);

let state: string;
let conf: ReturnType<typeof tempConfigDir>;
let env: NodeJS.ProcessEnv;
let file: string;

beforeAll(() => {
  state = mkdtempSync(join(tmpdir(), 'ops-journal-damage-'));
  conf = tempConfigDir();
  // no server is reached: the history, show and the rollback list read the journal only
  env = cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: 'postgresql://app@127.0.0.1:1/appdb' });
  file = join(state, 'journal.jsonl');
});
afterAll(() => {
  rmSync(state, { recursive: true, force: true });
  conf?.cleanup();
});

/** The stderr lines that are journal warnings. */
const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('ops: warning: journal '));

describe('a journal with lines of the wrong shape', () => {
  const A = '20261123-100000-vacuum-analyze-aa11';
  const B = '20261123-100500-vacuum-analyze-bb22';
  const C = '20261123-101000-vacuum-analyze-cc33';
  const D = '20261123-101500-vacuum-analyze-dd44';
  const E = '20261123-102000-vacuum-analyze-ee55';
  let expected: string[];

  beforeAll(() => {
    writeFileSync(
      file,
      succeeded(A, 0) + // lines 1-4
        line(B, 'run.start', 1, { steps: [null] }, 5) + // 5
        line(C, 'run.start', 1, {}, 10) + // 6
        line(C, 'step.start', 2, {}, 10) + // 7: started, never finished
        line(D, 'run.start', 1, { operator: 'str' }, 15) + // 8
        line(C, 'step.finish', 3, { outcome: 7 }, 10) + // 9
        line(C, 'run.end', 4, { outcome: 'interrupted' }, 10) + // 10
        succeeded(E, 20), // 11-14
      { mode: 0o600 },
    );
    expected = [
      `ops: warning: journal ${file}: line 5 skipped: run.start: steps[0] is not an object`,
      `ops: warning: journal ${file}: line 8 skipped: run.start: operator is not an object or null`,
      `ops: warning: journal ${file}: line 9 skipped: step.finish: outcome is not a step outcome`,
    ];
  });

  it('ops history lists every other run, and warns once per line', async () => {
    const r = await runOps(['history'], { env });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual([E, C, A]);
    expect(rows[1]).toMatch(/\binterrupted\b/);
    expect(warnings(r.stderr)).toEqual(expected);

    const json = await runOps(['history', '--json', '--limit', '2'], { env });
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { run: string }[]).map((s) => s.run)).toEqual([E, C]);
    expect(warnings(json.stderr)).toEqual(expected);
  });

  it('ops show shows a run whose neighbours are damaged, with its step started and never finished', async () => {
    const r = await runOps(['show', C], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Run ${C} · vacuum-analyze · Vacuum a table`);
    expect(r.stdout).toMatch(/1\.\s+snapshot\s+Snapshot the table\s+started\b.*outcome unknown/);
    expect(warnings(r.stderr)).toEqual(expected);
    // a run whose only line is damaged is not there, said in one line
    const b = await runOps(['show', B], { env });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`ops: no run matches "${B}"`);
    expect(b.stderr).not.toContain('internal error');
  });

  it('ops rollback lists the interrupted run', async () => {
    const r = await runOps(['rollback'], { env });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${C}  vacuum-analyze on postgresql://app@127.0.0.1:1/appdb`);
    expect(r.stdout).not.toContain('nothing to roll back');
    expect(warnings(r.stderr)).toEqual(expected);
  });
});

describe('a journal with an index, changed under it', () => {
  // past the 1 MiB from which the journal keeps an index: 2,600 runs of about 450 bytes
  const RUNS = 2600;
  const id = (i: number) => `20261123-${String(i).padStart(6, '0')}-vacuum-analyze-${(i % 65536).toString(16).padStart(4, '0')}`;
  const history = async (limit: number) => {
    const r = await runOps(['history', '--json', '--limit', String(limit)], { env });
    expect(r.code).toBe(0);
    return { runs: (JSON.parse(r.stdout) as { run: string; outcome: string }[]).map((s) => s.run), warnings: warnings(r.stderr) };
  };

  beforeAll(() => {
    let text = '';
    for (let i = 0; i < RUNS; i++) text += succeeded(id(i), i % 60).replace(/2026-11-23T10:/g, `2026-11-${String(1 + Math.floor(i / 120)).padStart(2, '0')}T${String(Math.floor(i / 60) % 2 ? 11 : 10)}:`);
    writeFileSync(file, text, { mode: 0o600 });
    rmSync(`${file}.idx`, { force: true });
  });

  it('the first command writes the index; the newest runs come from it', async () => {
    expect(statSync(file).size).toBeGreaterThan(1 << 20);
    const r = await history(3);
    expect(r.runs).toEqual([id(RUNS - 1), id(RUNS - 2), id(RUNS - 3)]);
    expect(r.warnings).toEqual([]);
    expect(existsSync(`${file}.idx`)).toBe(true);
  });

  it('runs another process appended since, and a torn last line, are read without rebuilding', async () => {
    const index = readFileSync(`${file}.idx`);
    appendFileSync(file, succeeded('20261201-090000-late-0001', 0) + line('20261201-090000-late-0002', 'run.start', 1, {}, 1));
    appendFileSync(file, line('20261201-090000-late-0003', 'run.start', 1, {}, 2).slice(0, 60)); // torn: no newline
    const r = await history(3);
    expect(r.runs).toEqual(['20261201-090000-late-0002', '20261201-090000-late-0001', id(RUNS - 1)]);
    expect(r.warnings).toEqual([]); // a last line being written, or torn: not (yet) a line
    expect(readFileSync(`${file}.idx`)).toEqual(index); // read past it: not worth writing it again yet
    const show = await runOps(['show', '20261201-090000-late-0001'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/outcome\s+succeeded/);
    // once a line follows, the torn one is a line: warned with its number
    const lines = readFileSync(file, 'utf8').split('\n').length; // the torn one is the last
    appendFileSync(file, `\n${line('20261201-090000-late-0004', 'run.start', 1, {}, 3)}`);
    const after = await history(2);
    expect(after.runs).toEqual(['20261201-090000-late-0004', '20261201-090000-late-0002']);
    expect(after.warnings).toEqual([`ops: warning: journal ${file}: line ${lines} skipped: not a whole JSON line (cut short, or edited)`]);
  });

  it('a journal replaced by an edited copy is read as it now is', async () => {
    const text = readFileSync(file, 'utf8').replaceAll('20261201-090000-late-0004', '20261201-090000-edit-0004');
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    const r = await history(1);
    expect(r.runs).toEqual(['20261201-090000-edit-0004']);
    const gone = await runOps(['show', '20261201-090000-late-0004'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no run matches');
  });
});
