// End-to-end (issue 15 §1): the built `ops` in tmux with three configured targets, one of them
// a stopped throwaway cluster. It opens on the overview: two live lines and one degraded line,
// at 80x24 and at 200x50. Enter opens the chosen target's dashboard, o comes back to the
// overview with the cursor on it, q quits. Each watched target holds one probe connection.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';
import { OPS_BIN, assertBuilt, tempConfigDir } from '../support/ops';
import { haveTmux, TmuxSession, waitForScreen } from '../support/tmux';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('the overview of every target', () => {
  let live: Cluster;
  let gone: Cluster;
  const dbs: TestDatabase[] = [];
  let conf: ReturnType<typeof tempConfigDir>;
  let session: TmuxSession | null = null;

  beforeAll(async () => {
    assertBuilt();
    if (!haveTmux()) throw new Error('tmux is needed for the end-to-end tests and could not be installed');
    live = await startCluster({ prefix: 'ops-ov-live-' });
    gone = await startCluster({ prefix: 'ops-ov-gone-' });
    const server = { host: live.host, port: live.port, user: live.user, password: live.password, database: 'postgres' };
    dbs.push(await createTestDatabase('ov_shop', server), await createTestDatabase('ov_billing', server));
    const goneUrl = `postgres://${gone.user}@127.0.0.1:${gone.port}/postgres`;
    gone.stop();
    conf = tempConfigDir({ targets: [{ name: 'shop', url: dbs[0].url }, { name: 'billing', url: dbs[1].url }, { name: 'gone', url: goneUrl }] });
  }, 120_000);
  afterEach(() => {
    session?.kill();
    session = null;
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    live?.stop();
    gone?.stop();
    conf?.cleanup();
  });

  const command = () =>
    `env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u DATABASE_URL OPS_CONFIG_DIR=${shq(conf.dir)} TERM=xterm-256color ${shq(OPS_BIN)}; echo "EXITED:$?"; exec sleep 600`;

  for (const [cols, rows] of [[80, 24], [200, 50]] as const) {
    it(`${cols}x${rows}: two live lines and one degraded line; Enter opens a dashboard, o comes back, q quits`, async () => {
      session = new TmuxSession(command(), { cols, rows });
      const screen = await waitForScreen(session, (t) => /overview · 3 targets/.test(t) && /shop .*\d+\/\d+/.test(t) && /billing .*\d+\/\d+/.test(t) && /gone .*CRITICAL/.test(t));
      const line = (name: string) => session!.screen().find((l) => new RegExp(`^[ ▶] ${name} `).test(l))!;
      expect(line('shop')).toMatch(/primary/);
      expect(line('billing')).toMatch(/primary/);
      // the stopped one: degraded on its own line, with the reason, no figures
      expect(line('gone')).toMatch(/!! CRITICAL/);
      expect(line('gone')).toMatch(/unavailable|refused/i);
      expect(line('gone')).not.toMatch(/\d+\/\d+/);
      for (const l of session.screen()) expect(l.length).toBeLessThanOrEqual(cols);
      expect(screen.split('\n')[0]).toMatch(/^ops .* overview · 3 targets · !! CRITICAL/);

      // one probe connection per live target while the overview watches them
      for (const db of dbs) {
        const c = await db.client();
        await waitFor(async () => (await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ops-console'", [db.name])).rows[0].n === 1, { timeoutMs: 10_000 });
      }

      session.send('Down');
      await waitForScreen(session, (t) => /^▶ billing /m.test(t));
      session.send('Enter');
      await waitForScreen(session, (t) => /score \d+%/.test(t) && t.includes(dbs[1].name) && /o overview/.test(t));
      session.send('o');
      await waitForScreen(session, (t) => /overview · 3 targets/.test(t) && /^▶ billing /m.test(t));
      session.send('q');
      const after = await waitForScreen(session, (t) => t.includes('EXITED:'));
      expect(after).toContain('EXITED:0');
      expect(session.flags().alternate).toBe(false);
    }, 90_000);
  }
});
