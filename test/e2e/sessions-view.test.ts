// End-to-end: the sessions view of the built `ops` in a real terminal (tmux) against real
// PostgreSQL. At 120x35 a session's 300-character query is readable whole in its detail; the
// lock tree shows a real advisory-lock chain A > B > C; x on C's row offers its root blocker A.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

/** The query's lines in the detail: those right under its heading, indented by 4. */
function queryBlock(lines: string[], heading: number): string[] {
  const out: string[] = [];
  for (const l of lines.slice(heading + 1)) {
    if (!/^ {4}\S/.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsCommand(env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)}; echo "EXITED:$?"; exec sleep 600`;
}

/** A 300-character query with a token to find it by. */
const TOKEN = 'tok_e2e_sessions_view';
const QUERY = (() => {
  let q = `SELECT '${TOKEN}' AS marker`;
  for (let i = 1; q.length < 300; i++) q += `, ${i} AS column_${i}`;
  return q;
})();

describe('the sessions view in a real terminal', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let session: TmuxSession | null = null;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e_sessions');
    conf = tempConfigDir();
  });
  afterEach(async () => {
    session?.kill();
    session = null;
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
  });
  afterAll(async () => {
    await db?.drop();
    conf?.cleanup();
  });

  const open = async (application: string) => {
    const c = await db.client({ application_name: application });
    clients.push(c);
    return c;
  };

  it('at 120x35 a 300-character query is readable whole in the detail view', async () => {
    expect(QUERY.length).toBeGreaterThanOrEqual(300);
    const c = await open('e2e-long-query');
    await c.query(QUERY); // idle after it: pg_stat_activity keeps the query
    session = new TmuxSession(opsCommand({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color' }), { cols: 120, rows: 35 });
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('a');
    await waitForScreen(session, (t) => /^Sessions · \d+/m.test(t) && t.includes(TOKEN));
    session.send('/');
    session.send('-l', TOKEN);
    session.send('Enter');
    await waitForScreen(session, (t) => /filter \/tok_e2e_sessions_view\/ · 1 of \d+ shown/.test(t));
    session.send('Enter');
    const t = await waitForScreen(session, (x) => /^Session pid \d+/m.test(x) && /query \(\d+ characters\)/.test(x));
    const lines = t.split('\n');
    const from = lines.findIndex((l) => /^ {2}query \(\d+ characters\)/.test(l));
    const text = queryBlock(lines, from).join(' ');
    expect(text).toBe(QUERY);
    expect(t).toMatch(/application +e2e-long-query/);
    session.send('q');
    await waitForScreen(session, (x) => x.includes('EXITED:0'));
  });

  it('the lock tree shows a real chain A > B > C; x on C offers its root blocker A', async () => {
    const a = await open('e2e-a');
    const b = await open('e2e-b');
    const cc = await open('e2e-c');
    await a.query('BEGIN');
    await a.query('SELECT pg_advisory_xact_lock(1)');
    await b.query('BEGIN');
    await b.query('SELECT pg_advisory_xact_lock(2)');
    const pb = b.query('SELECT pg_advisory_xact_lock(1)').catch(() => undefined);
    await cc.query('BEGIN');
    const pc = cc.query('SELECT pg_advisory_xact_lock(2)').catch(() => undefined);
    const pid = (c: pg.Client) => (c as unknown as { processID: number }).processID;
    const [pa, pB, pC] = [pid(a), pid(b), pid(cc)];
    session = new TmuxSession(opsCommand({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color' }), { cols: 120, rows: 35 });
    await waitForScreen(session, (t) => /score \d+%/.test(t));
    session.send('a');
    await waitForScreen(session, (t) => /^Sessions · \d+/m.test(t) && /2 waiting/.test(t));
    session.send('L');
    const tree = await waitForScreen(session, (t) => new RegExp(`pid ${pa} holds up 2`).test(t));
    const lines = tree.split('\n');
    const ia = lines.findIndex((l) => new RegExp(`pid ${pa} holds up 2`).test(l));
    expect(lines[ia + 1]).toMatch(new RegExp(`^ {2}└ pid ${pB} waits \\S+, holds up 1`));
    expect(lines[ia + 2]).toMatch(new RegExp(`^ {4}└ pid ${pC} waits `));
    // C's row: x offers C itself or its root blocker A
    session.send('Down', 'Down');
    await waitForScreen(session, (t) => new RegExp(`▸.*└ pid ${pC}`).test(t));
    session.send('x');
    const choice = await waitForScreen(session, (t) => t.includes(`pid ${pC} waits on a lock. Terminate:`));
    expect(choice).toMatch(new RegExp(`1 {2}this session: pid ${pC}`));
    expect(choice).toMatch(new RegExp(`▶ 2 {2}its root blocker: pid ${pa} .*holds up 2 sessions`));
    expect(choice).toContain('PAUSED');
    session.send('Enter');
    const plan = await waitForScreen(session, (t) => /^Plan · terminate-sessions/m.test(t));
    expect(plan).toMatch(new RegExp(`→ chosen: terminate its root blocker: pid ${pa} `));
    expect(plan).toMatch(new RegExp(`not chosen: this session: pid ${pC} `));
    // not run: Esc back to the tree, on C's row, refreshing again
    session.send('Escape');
    const back = await waitForScreen(session, (t) => /^Sessions · lock tree/m.test(t) && !/PAUSED/.test(t));
    expect(back).toMatch(new RegExp(`▸.*└ pid ${pC}`));
    session.send('q');
    await waitForScreen(session, (x) => x.includes('EXITED:0'));
    await a.query('ROLLBACK');
    await pb;
    await b.query('ROLLBACK');
    await pc;
    await cc.query('ROLLBACK');
  });
});
