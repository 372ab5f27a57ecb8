// vitest globalSetup: makes a PostgreSQL server available to the tests.
//  1. OPS_TEST_DATABASE_URL, when set;
//  2. else a server answering at 127.0.0.1:5432 as user postgres (skipped with OPS_TEST_FORCE_THROWAWAY=1);
//  3. else a throwaway cluster (see cluster.ts), stopped and deleted at teardown.
// Tests read it with inject('pg') (see pg.ts); child processes get OPS_TEST_PG_* env vars.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from './cluster';
import { ensureAnsible, ensurePromtool, ensureTmux } from './ensure-tools';

export interface TestPgServer {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** database to connect to for administration (CREATE/DROP DATABASE) */
  database: string;
  /** where it came from: 'env' | 'local' | 'throwaway' */
  source: 'env' | 'local' | 'throwaway';
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg: TestPgServer;
  }
}

async function answers(server: Omit<TestPgServer, 'source'>, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ ...server, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function fromUrl(url: string): TestPgServer {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  return {
    host: decodeURIComponent(u.hostname) || u.searchParams.get('host') || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
    source: 'env',
  };
}

export function toUrl(s: Pick<TestPgServer, 'host' | 'port' | 'user' | 'password'>, database: string): string {
  const auth = encodeURIComponent(s.user) + (s.password ? `:${encodeURIComponent(s.password)}` : '');
  const host = s.host.startsWith('/') ? `localhost` : s.host;
  const query = s.host.startsWith('/') ? `?host=${encodeURIComponent(s.host)}` : '';
  return `postgres://${auth}@${host}:${s.port}/${encodeURIComponent(database)}${query}`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // tools the end-to-end tests need (installed as root when missing; they check for it themselves)
  try {
    ensureTmux();
  } catch {
    /* the e2e tests report a missing tmux */
  }
  try {
    ensurePromtool();
  } catch {
    /* the OpenMetrics test says it cannot run without it */
  }
  try {
    ensureAnsible();
  } catch {
    /* the fleet test says it cannot run without it */
  }

  let server: TestPgServer | null = null;
  let cluster: Cluster | null = null;

  const envUrl = process.env.OPS_TEST_DATABASE_URL;
  if (envUrl) {
    server = fromUrl(envUrl);
    if (!(await answers(server, 5000))) {
      throw new Error(`OPS_TEST_DATABASE_URL is set but no PostgreSQL server answers at ${server.host}:${server.port}`);
    }
  } else if (process.env.OPS_TEST_FORCE_THROWAWAY !== '1') {
    const local = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
    if (await answers(local, 1500)) server = { ...local, source: 'local' };
  }
  if (!server) {
    cluster = await startCluster();
    server = { host: cluster.host, port: cluster.port, user: cluster.user, database: 'postgres', source: 'throwaway' };
  }

  project.provide('pg', server);
  process.env.OPS_TEST_PG_HOST = server.host;
  process.env.OPS_TEST_PG_PORT = String(server.port);
  process.env.OPS_TEST_PG_USER = server.user;
  process.env.OPS_TEST_PG_DATABASE = server.database;
  if (server.password) process.env.OPS_TEST_PG_PASSWORD = server.password;
  else delete process.env.OPS_TEST_PG_PASSWORD;
  process.env.OPS_TEST_PG_URL = toUrl(server, server.database);

  return async () => {
    cluster?.stop();
  };
}
