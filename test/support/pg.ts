// Test helpers for the PostgreSQL server provided by global-setup.ts.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { toUrl, type TestPgServer } from './global-setup';

export type { TestPgServer };

/** The server global-setup made available (connection details, admin database). */
export function testServer(): TestPgServer {
  return inject('pg');
}

export interface TestDatabase {
  name: string;
  connection: pg.ClientConfig;
  url: string;
  /** a connected client to this database, closed by drop() */
  client(config?: Partial<pg.ClientConfig>): Promise<pg.Client>;
  /** closes the tracked clients, terminates any other backend on the database and drops it */
  drop(): Promise<void>;
}

/** A connected client to the server's admin database (caller ends it). */
export async function adminClient(server: Pick<TestPgServer, 'host' | 'port' | 'user' | 'password' | 'database'> = testServer()): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
    application_name: 'ops-console-test-admin',
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Creates a uniquely named database on the server (or on the given one, e.g. a dedicated cluster). */
export async function createTestDatabase(
  prefix = 'ops_test',
  server: Pick<TestPgServer, 'host' | 'port' | 'user' | 'password' | 'database'> = testServer(),
): Promise<TestDatabase> {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const name = `${safe}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = await adminClient(server);
  try {
    await admin.query(`CREATE DATABASE ${ident(name)}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const connection: pg.ClientConfig = {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: name,
  };
  const clients = new Set<pg.Client>();
  let dropped = false;
  return {
    name,
    connection,
    url: toUrl(server, name),
    async client(config = {}) {
      if (dropped) throw new Error(`test database ${name} was dropped`);
      const client = new pg.Client({ application_name: 'ops-console-test', ...connection, ...config });
      // A terminated session must not crash the test run.
      client.on('error', () => {});
      clients.add(client);
      await client.connect();
      return client;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await Promise.all(
        [...clients].map(async (c) => {
          const timer = setTimeout(() => c.connection.stream.destroy(), 2000);
          await c.end().catch(() => {});
          clearTimeout(timer);
        }),
      );
      clients.clear();
      const admin = await adminClient(server);
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        const { rows } = await admin.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
        if (rows[0].v >= 130000) {
          await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
        } else {
          await waitFor(
            async () => {
              try {
                await admin.query(`DROP DATABASE IF EXISTS ${ident(name)}`);
                return true;
              } catch (err) {
                if (/being accessed by other users/.test(String(err))) return false;
                throw err;
              }
            },
            { timeoutMs: 10_000, message: `drop database ${name}` },
          );
        }
      } finally {
        await admin.end().catch(() => {});
      }
    },
  };
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** what is being waited for, for the timeout message */
  message?: string;
}

/**
 * Polls fn until it returns a truthy value and returns that value. Errors thrown by fn count as
 * "not yet"; on timeout the last error (or the message) is reported.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const what = opts.message ? `: ${opts.message}` : '';
      const why = lastErr ? ` (last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)})` : '';
      throw new Error(`waitFor timed out after ${timeoutMs} ms${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
