// Hostile database text through every printer of the built `ops`: a table (and its index) whose
// name holds an OSC title sequence, a clear-screen CSI, an 8-bit CSI, a newline, U+202E and a
// "|"; a session whose application_name and query text hold the same; and a long query holding
// it too. On a throwaway cluster of the test's own, so no other session decides what the
// sessions checks show. ops check (text, first line, --json), ops run's echo, ops history, ops
// show, ops checklist run, reports/*.md and ops report must carry none of those bytes, and the
// plugin's first line stays one line with its perfdata.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, runOps } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

/** ESC ] 0;pwned BEL (window title), ESC [2J (clear), 8-bit CSI, newline, RLO, a pipe, a quote. */
const HOSTILE = "t\x1b]0;pwned\x07\x1b[2J\u009b2Jx\ny\u202Ez|w'q";
/** What must never reach the terminal: C0 but \n (and \t), DEL, C1, and the bidi controls. */
const BAD = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

function badBytes(s: string): string[] {
  return [...new Set([...s].filter((c) => BAD.test(c)).map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`))];
}
function expectClean(what: string, s: string): void {
  expect(badBytes(s), `${what} carries terminal controls`).toEqual([]);
}

let cluster: Cluster;
let db: TestDatabase;
let root: string;
let confDir: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;
const held: pg.Client[] = [];

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-hostile-' });
  db = await createTestDatabase('hostile', { host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
  root = mkdtempSync(join(tmpdir(), 'ops-hostile-home-'));
  confDir = join(root, 'config');
  stateDir = join(root, 'state');
  mkdirSync(join(confDir, 'checklists'), { recursive: true, mode: 0o700 });
  mkdirSync(stateDir, { mode: 0o700 });
  chmodSync(confDir, 0o700);
  chmodSync(join(confDir, 'checklists'), 0o700);
  writeFileSync(
    join(confDir, 'config.json'),
    JSON.stringify({
      thresholds: {
        longQuerySec: { warning: 1, critical: 2 },
        idleInTransactionSec: { warning: 1, critical: 2 },
        deadTuplesMin: 1,
        deadTuplesPct: { warning: 1, critical: 2 },
        unusedIndexMinBytes: 0,
      },
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(confDir, 'checklists', 'hostile.yaml'),
    `id: hostile
title: Hostile names
steps:
  - id: idle
    kind: check
    title: No session idle in a transaction
    condition: { health: sessions.idle_in_transaction, atWorst: OK }
  - id: long
    kind: check
    title: No long query
    condition: { health: sessions.long_query, atWorst: OK }
  - id: dead
    kind: check
    title: No table full of dead tuples
    condition: { health: tables.dead_tuples, atWorst: OK }
  - id: unused
    kind: check
    title: No unused index
    condition: { health: tables.unused_indexes, atWorst: OK }
`,
    { mode: 0o600 },
  );
  env = cleanEnv({ OPS_CONFIG_DIR: confDir, OPS_STATE_DIR: stateDir, DATABASE_URL: db.url });

  const c = await db.client();
  await c.query(`CREATE TABLE ${sqlIdent(HOSTILE)} (id int)`);
  await c.query(`INSERT INTO ${sqlIdent(HOSTILE)} SELECT generate_series(1, 2000)`);
  await c.query(`DELETE FROM ${sqlIdent(HOSTILE)} WHERE id > 100`);
  await c.query(`CREATE INDEX ${sqlIdent(`${HOSTILE}_i`)} ON ${sqlIdent(HOSTILE)} (id)`);
  // a session left idle in a transaction, its last query holding the text
  const idle = await db.client({ application_name: HOSTILE });
  held.push(idle);
  await idle.query('BEGIN');
  await idle.query(`SELECT ${sqlText(HOSTILE)} AS hostile`);
  // and a long query holding it (ended when the test drops the database)
  const busy = await db.client({ application_name: HOSTILE });
  held.push(busy);
  busy.query(`SELECT ${sqlText(HOSTILE)} AS hostile, pg_sleep(600)`).catch(() => undefined);
  // wait until ops sees all of it: the dead tuples (statistics are flushed in the background),
  // the unused index, and both sessions past their critical threshold
  await waitFor(
    async () => {
      const r = await runOps(['check', '--only', 'sessions,tables', '--json'], { env });
      const checks = (JSON.parse(r.stdout) as { checks: { id: string; status: string; subject: string | null }[] }).checks;
      const st = (id: string) => checks.find((x) => x.id === id);
      return (
        st('tables.dead_tuples')?.subject === `public.${HOSTILE}` &&
        st('tables.unused_indexes')?.status === 'WARNING' &&
        st('sessions.long_query')?.status === 'CRITICAL' &&
        st('sessions.idle_in_transaction')?.status === 'CRITICAL'
      );
    },
    { timeoutMs: 30_000, intervalMs: 500, message: 'ops check to see the planted table and sessions' },
  );
}, 120_000);

afterAll(async () => {
  for (const c of held) await c.end().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  cluster?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('hostile text from the database, through every printer', () => {
  it('ops check: no control byte, the first line is one line with its perfdata on it', async () => {
    const r = await runOps(['check', '--only', 'sessions,tables'], { env });
    expect(r.code).toBe(2);
    expectClean('ops check', r.stdout);
    expectClean('ops check stderr', r.stderr);
    const lines = r.stdout.replace(/\n$/, '').split('\n');
    // one line per check after the plugin line: 4 session checks and 5 table checks
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^OPS CRITICAL - .+ \| 'sessions\.long_query'=[\d.]+s;1;2 'sessions\.idle_in_transaction'=[\d.]+s;1;2 'sessions\.blocked'=0s 'sessions\.long_transaction'=[\d.]+s;600;1500 'tables\.dead_tuples'=[\d.]+%;1;2 'tables\.unused_indexes'=1 'tables\.never_analyzed'=\d+;\d+;\d+ 'indexes\.invalid'=0 'sequences\.exhaustion'=0%;75;90$/);
    // the summary before the perfdata names the session and the table, and has no "|" of its own
    const summary = lines[0].slice(0, lines[0].indexOf(' | '));
    expect(summary).toContain('SELECT');
    expect(summary).not.toContain('|');
    for (const l of lines.slice(1)) expect(l).toMatch(/^\[(OK|WARNING|CRITICAL|UNKNOWN)\] (sessions|tables|indexes|sequences)\./);
  });

  it('ops check --json: valid JSON with the exact names, and no raw C1 or bidi byte on the terminal', async () => {
    const r = await runOps(['check', '--only', 'sessions,tables', '--json'], { env });
    expectClean('ops check --json', r.stdout);
    const out = JSON.parse(r.stdout) as { checks: { id: string; subject: string | null; summary: string }[] };
    expect(out.checks.find((c) => c.id === 'tables.dead_tuples')?.subject).toBe(`public.${HOSTILE}`);
    expect(out.checks.find((c) => c.id === 'sessions.idle_in_transaction')?.summary).toContain('\x1b]0;pwned');
  });

  it('ops run (its echo of the server messages), ops history and ops show', async () => {
    const run = await runOps(['run', 'analyze', '--yes'], { env, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expectClean('ops run', run.stdout + run.stderr);
    const id = /^run (\S+):/m.exec(run.stdout)?.[1];
    expect(id).toBeTruthy();
    // the log on disk keeps what the server said, byte for byte
    expect(readFileSync(join(stateDir, 'runs', `${id}.log`), 'utf8')).toContain('\x1b]0;pwned');

    const history = await runOps(['history'], { env });
    expect(history.code).toBe(0);
    expectClean('ops history', history.stdout);
    const show = await runOps(['show', id!], { env });
    expect(show.code, show.stderr).toBe(0);
    expectClean('ops show', show.stdout);
    expect(show.stdout).toMatch(/analyzing "public\.t/);
  });

  it('ops checklist run, reports/*.md and ops report: no control byte, every table row whole', async () => {
    const r = await runOps(['checklist', 'run', 'hostile', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1); // checks failed
    expectClean('ops checklist run', r.stdout + r.stderr);
    const stepLines = r.stdout.split('\n').filter((l) => /^\[[A-Z/]+\] /.test(l));
    expect(stepLines.map((l) => l.split(' ')[1])).toEqual(['idle:', 'long:', 'dead:', 'unused:']);
    const walk = /ops report (\S+)\)/.exec(r.stdout)?.[1];
    expect(walk).toBeTruthy();

    const md = readFileSync(join(stateDir, 'reports', `${walk}.md`), 'utf8');
    const printed = await runOps(['report', walk!], { env });
    expect(printed.code).toBe(0);
    for (const [what, text] of [
      ['reports/*.md', md],
      ['ops report', printed.stdout],
    ] as const) {
      expectClean(what, text);
      const steps = text.split('\n').filter((l) => /^\| \d+ \|/.test(l));
      expect(steps, what).toHaveLength(4);
      // 7 cells: 8 pipes that are not escaped
      for (const row of steps) expect(row.replace(/\\\|/g, '').split('|'), `${what}: ${row}`).toHaveLength(9);
      // a table's rows follow each other: nothing split a row onto a line of its own
      const inTable = text.split('\n').slice(text.split('\n').findIndex((l) => l.startsWith('| # |')));
      const end = inTable.findIndex((l) => !l.startsWith('|'));
      expect(inTable.slice(0, end)).toHaveLength(2 + 4);
    }
  });
});
