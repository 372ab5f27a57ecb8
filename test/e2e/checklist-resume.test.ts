// End-to-end: a checklist walkthrough killed in the middle (SIGKILL, in a real pseudo-terminal
// through tmux, against real PostgreSQL) and resumed with `ops checklist resume` continues at the
// first open step, with the earlier outcomes (an entered value, confirmations, a note) exactly as
// they were journaled: nothing asked again, nothing recorded twice.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsCommand(env: Record<string, string>, args: string[]): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)} ${args.map(shq).join(' ')}; echo "EXITED:$?"; exec sleep 600`;
}

const CHECKLIST_ID = 'e2e-resume';
const TICKET = 'CHG-4711';
const NOTE = 'app stopped at 02:10';
// every step manual: nothing depends on the health of the host running the tests
const STEPS = [
  { id: 'ticket', kind: 'input', title: 'Change ticket', outcome: 'entered' },
  { id: 'one', kind: 'confirm', title: 'Announce the maintenance', outcome: 'confirmed' },
  { id: 'two', kind: 'confirm', title: 'Stop the application', outcome: 'confirmed' },
  { id: 'three', kind: 'confirm', title: 'Take the backup', outcome: 'confirmed' },
  { id: 'four', kind: 'confirm', title: 'Start the application', outcome: 'confirmed' },
] as const;

const CHECKLIST_YAML = [
  `id: ${CHECKLIST_ID}`,
  'title: E2E resume',
  'description: Killed in the middle, resumed.',
  'steps:',
  '  - id: ticket',
  '    kind: input',
  '    title: Change ticket',
  `    pattern: '^CHG-[0-9]+$'`,
  '    example: CHG-1234',
  '    required: true',
  ...STEPS.slice(1).flatMap((s) => [`  - id: ${s.id}`, `    kind: ${s.kind}`, `    title: ${s.title}`]),
  '',
].join('\n');

type Ev = Record<string, unknown> & { v: number; run: string; ts: string; seq: number; type: string };

/** A row of the walkthrough's step list: mark, number, title, then its word (and value). */
const row = (n: number, mark: string, word: string) => new RegExp(`^[ ▶]${mark} +${n} ${STEPS[n - 1].title} +${word}`, 'm');

describe('a checklist walkthrough killed in the middle and resumed, in a real terminal', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let state: string;
  const sessions: TmuxSession[] = [];
  const env = () => ({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, OPS_STATE_DIR: state, TERM: 'xterm-256color' });

  /** Every event of the checklist journal; every line must parse (it is fsynced whole per event). */
  function journal(): Ev[] {
    const file = join(state, 'checklists.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Ev);
  }
  const stepEvents = (run: string, step?: string) => journal().filter((e) => e.run === run && e.type === 'cl.step' && (step === undefined || e.step === step));

  function start(args: string[]): TmuxSession {
    const s = new TmuxSession(opsCommand(env(), args), { cols: 80, rows: 24 });
    sessions.push(s);
    return s;
  }

  function close(s: TmuxSession): void {
    sessions.splice(sessions.indexOf(s), 1);
    s.kill();
  }

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e_checklist_resume');
    conf = tempConfigDir();
    state = mkdtempSync(join(tmpdir(), 'ops-st-'));
    // a user checklist: group/other-writable directories and files are refused, so 0700/0600
    chmodSync(conf.dir, 0o700);
    const dir = join(conf.dir, 'checklists');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, `${CHECKLIST_ID}.yaml`), CHECKLIST_YAML, { mode: 0o600 });
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.kill();
  });
  afterAll(async () => {
    for (const s of sessions.splice(0)) s.kill();
    await db?.drop();
    conf?.cleanup();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('SIGKILL after three steps; "ops checklist resume" continues at the fourth with the first three intact', { timeout: 120_000 }, async () => {
    // the checklist loads (no warning about our file) before anything else
    const listed = await runOps(['checklist'], { env: cleanEnv(env()) });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${CHECKLIST_ID} +5 steps +E2E resume`, 'm'));
    expect(listed.stdout).not.toContain('warning:');

    // ------------------------------------------------------------ the first pass
    const first = start(['checklist', CHECKLIST_ID]);
    // the walkthrough begins with the first health round (its baseline)
    await waitForScreen(first, (t) => /Step 1 of 5 · input · required/.test(t) && t.includes('Enter to type the value'), 30_000);
    expect(first.screen()[0]).toMatch(/^Checklist · E2E resume · on postgres:\/\/\S+/);
    const begun = await waitFor(() => journal().find((e) => e.type === 'cl.start' && e.checklist === CHECKLIST_ID), { message: 'cl.start in the journal' });
    const run = begun.run;
    const operator = begun.operator as { pid: number; host: string; user: string };
    expect(operator.pid).toBeGreaterThan(0);
    expect(begun.steps).toEqual(STEPS.map((s) => ({ id: s.id, kind: s.kind, title: s.title, required: s.id === 'ticket' })));
    expect(first.screen()[1]).toContain(run); // on the progress line

    // the ticket: Enter opens the typing, Enter saves it
    first.send('Enter');
    await waitForScreen(first, (t) => /^Value: ▏/m.test(t));
    first.send('-l', TICKET);
    await waitForScreen(first, (t) => t.includes(`Value: ${TICKET}▏`));
    first.send('Enter');
    await waitForScreen(first, (t) => /Step 2 of 5 · confirm/.test(t) && row(1, '✓', `entered ${TICKET}`).test(t));
    await waitFor(() => stepEvents(run, 'ticket').length === 1, { message: 'ticket entered in the journal' });

    // one: confirmed
    first.send('Enter');
    await waitForScreen(first, (t) => /Step 3 of 5 · confirm/.test(t) && row(2, '✓', 'confirmed').test(t));
    await waitFor(() => stepEvents(run, 'one').length === 1, { message: 'one confirmed in the journal' });

    // two: a note first, then confirmed
    first.send('n');
    await waitForScreen(first, (t) => /^Note: ▏/m.test(t));
    first.send('-l', NOTE);
    await waitForScreen(first, (t) => t.includes(`Note: ${NOTE}▏`));
    first.send('Enter');
    await waitForScreen(first, (t) => /Step 3 of 5 · confirm/.test(t) && t.includes(`): ${NOTE}`) && t.includes('Enter confirms it is done'));
    await waitFor(() => journal().some((e) => e.run === run && e.type === 'cl.note' && e.step === 'two'), { message: 'the note in the journal' });
    first.send('Enter');
    await waitForScreen(first, (t) => /Step 4 of 5 · confirm/.test(t) && row(3, '✓', 'confirmed').test(t) && row(4, '>', 'now').test(t));
    await waitFor(() => stepEvents(run, 'two').length === 1, { message: 'two confirmed in the journal' });

    // while its console is open, the walkthrough is not offered for resuming
    const whileOpen = await runOps(['checklist'], { env: cleanEnv(env()) });
    expect(whileOpen.code).toBe(0);
    expect(whileOpen.stdout).not.toContain(run);

    // ------------------------------------------------------------ SIGKILL, not a clean exit
    // the pid is the console's own (bin/ops execs node): make sure it is ours before killing it
    const cmdline = readFileSync(`/proc/${operator.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain(OPS_BIN);
    expect(cmdline).toContain(CHECKLIST_ID);
    process.kill(operator.pid, 'SIGKILL');
    expect(await waitForScreen(first, (t) => t.includes('EXITED:'))).toContain('EXITED:137');
    await waitFor(
      () => {
        try {
          process.kill(operator.pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { message: `pid ${operator.pid} gone` },
    );
    close(first);

    const beforeResume = journal().filter((e) => e.run === run);
    expect(beforeResume.map((e) => e.type)).toEqual(['cl.start', 'cl.snapshot', 'cl.step', 'cl.step', 'cl.note', 'cl.step']);
    const earlier = beforeResume.filter((e) => e.type === 'cl.step');
    expect(earlier.map((e) => [e.step, e.outcome])).toEqual([
      ['ticket', 'entered'],
      ['one', 'confirmed'],
      ['two', 'confirmed'],
    ]);
    expect(earlier[0].value).toBe(TICKET);
    expect(beforeResume.find((e) => e.type === 'cl.note')).toMatchObject({ step: 'two', text: NOTE });
    for (const e of earlier) expect(e.by).toBe(earlier[0].by);
    expect(beforeResume.some((e) => e.type === 'cl.end' || e.type === 'cl.resume')).toBe(false);

    // `ops checklist` (no terminal): the walkthrough is unfinished, at the fourth step
    const afterKill = await runOps(['checklist'], { env: cleanEnv(env()) });
    expect(afterKill.code).toBe(0);
    expect(afterKill.stdout).toContain('Unfinished walkthroughs (ops checklist resume ID):');
    expect(afterKill.stdout).toMatch(new RegExp(`^ +${run} +${CHECKLIST_ID}, started .*, at "Take the backup"$`, 'm'));

    // the console's start-up notice says so too
    const console_ = start([]);
    const notice = await waitForScreen(console_, (t) => t.includes('is unfinished'), 30_000);
    expect(notice).toContain(`! checklist ${CHECKLIST_ID} is unfinished: l lists it to resume`);
    close(console_);

    // ------------------------------------------------------------ resumed
    const second = start(['checklist', 'resume']); // no id: the newest unfinished walkthrough
    const resumed = await waitForScreen(second, (t) => /Step 4 of 5 · confirm/.test(t) && t.includes('Enter confirms it is done'), 30_000);
    expect(second.screen()[1]).toContain(run);
    expect(resumed).toContain('3/5 steps');
    expect(resumed).toMatch(row(1, '✓', `entered ${TICKET}`));
    expect(resumed).toMatch(row(2, '✓', 'confirmed'));
    expect(resumed).toMatch(row(3, '✓', 'confirmed'));
    expect(resumed).toMatch(row(4, '>', 'now'));
    expect(resumed).toMatch(/^▶> +4 Take the backup/m); // the focus is on it
    expect(resumed).toMatch(new RegExp(`^ + +5 ${STEPS[4].title} *$`, 'm'));
    const resume = await waitFor(() => journal().find((e) => e.run === run && e.type === 'cl.resume'), { message: 'cl.resume in the journal' });
    expect((resume.operator as { pid: number }).pid).not.toBe(operator.pid);
    // nothing was recorded by the resume itself
    expect(stepEvents(run)).toEqual(earlier);

    second.send('Enter');
    await waitForScreen(second, (t) => /Step 5 of 5 · confirm/.test(t) && row(4, '✓', 'confirmed').test(t));
    await waitFor(() => stepEvents(run, 'three').length === 1, { message: 'three confirmed in the journal' });
    second.send('Enter');
    const done = await waitForScreen(second, (t) => t.includes('Walkthrough completed.') && t.includes('Report: '));
    expect(done).toContain('5/5 steps');
    const reportFile = join(state, 'reports', `${run}.md`);
    const shown = /Report: (\S+)/.exec(done)![1];
    if (shown.endsWith('…')) expect(reportFile.startsWith(shown.slice(0, -1))).toBe(true);
    else expect(shown).toBe(reportFile);
    expect(existsSync(reportFile)).toBe(true);

    const all = journal().filter((e) => e.run === run);
    const end = all.filter((e) => e.type === 'cl.end');
    expect(end).toHaveLength(1);
    expect(end[0].outcome).toBe('completed');
    expect(all.filter((e) => e.type === 'cl.resume')).toHaveLength(1);
    // the journal before the kill is untouched, and each step has exactly one outcome
    expect(all.slice(0, beforeResume.length)).toEqual(beforeResume);
    const steps = all.filter((e) => e.type === 'cl.step');
    expect(steps.map((e) => [e.step, e.outcome])).toEqual(STEPS.map((s) => [s.id, s.outcome]));
    expect(steps.slice(0, 3)).toEqual(earlier);
    for (const e of steps.slice(3)) expect(all.indexOf(e)).toBeGreaterThan(all.indexOf(resume));

    second.send('Enter'); // back to the dashboard, then quit cleanly
    await waitForScreen(second, (t) => /score \d+%/.test(t));
    second.send('q');
    expect(await waitForScreen(second, (t) => t.includes('EXITED:'))).toContain('EXITED:0');

    // no longer unfinished
    const afterDone = await runOps(['checklist'], { env: cleanEnv(env()) });
    expect(afterDone.stdout).not.toContain(run);

    // ------------------------------------------------------------ the report
    const report = await runOps(['report', run], { env: cleanEnv(env()) });
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    const md = report.stdout;
    expect(md).toContain(`# E2E resume: walkthrough ${run}`);
    expect(md).toContain('- Outcome: completed');
    expect(md).toMatch(/^- Resumed: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ by \S+/m);
    STEPS.forEach((s, i) => {
      expect(md).toMatch(new RegExp(`^\\| ${i + 1} \\| ${s.title} \\| ${s.kind} \\| ${s.outcome} \\| `, 'm'));
    });
    expect(md).toMatch(new RegExp(`^\\| 1 \\| Change ticket \\|.*\\| ${TICKET} \\|$`, 'm'));
    expect(md).toMatch(new RegExp(`^\\| 3 \\| Stop the application \\|.*note \\(.+\\): ${NOTE} \\|$`, 'm'));
    expect(readFileSync(reportFile, 'utf8')).toBe(md);
  });
});
