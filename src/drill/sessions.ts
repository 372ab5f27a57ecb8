// The locks scenario's planted sessions, held by one small helper process (`ops` re-run with a
// hidden command), so the drill needs no psql and the sessions outlive nothing but the drill:
//  - shop-worker: BEGIN; UPDATE accounts ... WHERE id = 1; then idle in its transaction;
//  - shop-api:    the same row's UPDATE, blocked behind shop-worker's lock;
//  - shop-report: a long query.
// Each session ends on its own when terminated or cancelled; the process exits when all have.
import { spawn } from 'node:child_process';
import type pg from 'pg';
import { loadPg } from '../pg/load';

export const SESSIONS_COMMAND = '__drill-sessions';

const PLANTS: { app: string; sql: string; hold: boolean }[] = [
  { app: 'shop-worker', sql: 'BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 1', hold: true },
  { app: 'shop-api', sql: 'UPDATE accounts SET balance = balance + 10 WHERE id = 1', hold: false },
  { app: 'shop-report', sql: 'SELECT count(*) FROM orders, pg_sleep(86400)', hold: false },
];

/** Starts the helper in its own process group; returns its pid (= the group's id). */
export function startPlantedSessions(url: string): number {
  const entry = process.argv[1];
  const child = spawn(process.execPath, [entry, SESSIONS_COMMAND, url], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

/** The helper's body: opens the sessions in order (the blocker first) and waits. */
export async function runPlantedSessions(url: string): Promise<never> {
  let open = 0;
  const done = () => {
    open -= 1;
    if (open <= 0) process.exit(0);
  };
  for (const p of PLANTS) {
    const c = new (await loadPg()).Client({ connectionString: url, application_name: p.app });
    c.on('error', () => undefined); // terminated: the session is over
    await c.connect();
    open += 1;
    c.on('end', done);
    const q = c.query(p.sql);
    if (p.hold) await q; // the blocker holds its row lock before the writer queues behind it
    else {
      q.then(
        () => c.end().catch(() => undefined),
        () => c.end().catch(() => undefined),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });
}
