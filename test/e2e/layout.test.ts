// End-to-end: the built `ops` in a real pseudo-terminal (tmux), against real PostgreSQL: a
// layout that uses the terminal. At 200x50 the Sessions panel shows more than at 120x35:
// long-running sessions with long queries (clients the test holds, in a database of its own,
// waiting on an advisory lock another of its clients holds) are wrapped whole where there is
// room, past the 200 characters the dashboard used to get of a query. The server is shared:
// other people's sessions may be listed too, so only the test's own words are counted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function opsLine(env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD ${vars} ${shq(OPS_BIN)}`;
}

/** Sessions the test keeps waiting: each with a long query (over 300 characters) of numbered words. */
const SESSIONS = 6;
const WORDS_EACH = 40;
const wordsOf = (i: number) => Array.from({ length: WORDS_EACH }, (_, k) => `q${i}w${String(k + 1).padStart(2, '0')}`);

/** The test's words the screen shows whole. */
function wordsShown(screen: string): number {
  const seen = new Set(screen.split(/[\s,'…]+/));
  let n = 0;
  for (let i = 1; i <= SESSIONS; i++) n += wordsOf(i).filter((w) => seen.has(w)).length;
  return n;
}

describe('a layout that uses the terminal, in a real terminal', () => {
  let db: TestDatabase;
  let conf: ReturnType<typeof tempConfigDir>;
  let session: TmuxSession | null = null;
  const pids: number[] = [];

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    db = await createTestDatabase('e2e_layout');
    conf = tempConfigDir();
    // sessions waiting on a lock for a second are blocked ones here: the Sessions panel lists them
    // first, before the long queries other people may be running on the shared server
    writeFileSync(join(conf.dir, 'config.json'), JSON.stringify({ thresholds: { blockedSec: { warning: 1, critical: 3600 } } }), { mode: 0o600 });
    const holder = await db.client({ application_name: 'report-lock' });
    await holder.query('SELECT pg_advisory_lock(4242)');
    for (let i = 1; i <= SESSIONS; i++) {
      const c = await db.client({ application_name: 'report-runner' });
      const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pids.push(rows[0].pid);
      // never answered: it waits for the holder's lock until drop() ends the clients
      c.query(`SELECT pg_advisory_lock(4242) AS e2e_layout_${i}, '${wordsOf(i).join(' ')}' AS words`).catch(() => {});
    }
    const admin = await db.client();
    await waitFor(async () => {
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock' AND now() - query_start > interval '1 second'", [pids]);
      return rows[0].n === SESSIONS;
    }, { timeoutMs: 15_000, message: 'the planted sessions waiting' });
  });
  afterEach(() => {
    session?.kill();
    session = null;
  });
  afterAll(async () => {
    await db?.drop();
    conf?.cleanup();
  });

  it('at 200x50 the Sessions panel shows more than at 120x35: the long queries wrapped whole', async () => {
    session = new TmuxSession(`${opsLine({ DATABASE_URL: db.url, OPS_CONFIG_DIR: conf.dir, TERM: 'xterm-256color' })} --refresh 1; exec sleep 600`, { cols: 120, rows: 35 });
    const allListed = (t: string) => pids.every((p) => t.includes(`pid ${p} `));
    await waitForScreen(session, (t) => /score \d+%/.test(t) && allListed(t), 20_000);
    // the focus on the Sessions panel (Host, Disks, PostgreSQL, then Sessions)
    session.send('Tab', 'Tab', 'Tab');
    const at120 = await waitForScreen(session, (t) => t.includes('▶ Sessions') && allListed(t));
    const shown120 = wordsShown(at120);
    // more than one line per session: their queries wrap into the rows the panel has
    expect(shown120).toBeGreaterThan(SESSIONS * 3);
    expect(at120.split('\n').length).toBe(35);

    session.resize(200, 50);
    const at200 = await waitForScreen(session, (t) => t.split('\n').length === 50 && t.includes('▶ Sessions') && allListed(t) && wordsShown(t) === SESSIONS * WORDS_EACH, 15_000).catch(
      (err: Error) => {
        throw new Error(`at 200x50 not every word of the planted queries is on screen (${wordsShown(session!.text())} of ${SESSIONS * WORDS_EACH}; ${shown120} at 120x35)\n${err.message}`);
      },
    );
    expect(wordsShown(at200)).toBeGreaterThan(shown120);
    // and nothing is drawn past the width, wrapped or not
    for (const l of at200.split('\n')) expect(l.length).toBeLessThanOrEqual(200);
    session.send('q');
  });
});
