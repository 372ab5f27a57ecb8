// One PostgreSQL probe round: time and connections, on an empty database and on one with
// 10,000 tables. Prints one JSON row per figure for bench/run.mjs.
// The database server: BENCH_DATABASE_URL, or postgres@127.0.0.1:5432.
import pg from 'pg';
import { PostgresProbe } from '../src/probes/postgres';

const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = 40;
const TABLES = 10_000;

const admin = new pg.Client({ connectionString: base });
await admin.connect();

function urlFor(db: string): string {
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

async function measure(db: string): Promise<{ median: number; p95: number; conns: number }> {
  const probe = new PostgresProbe({ connection: { connectionString: urlFor(db) }, timeoutMs: 10_000 });
  const times: number[] = [];
  let conns = 0;
  try {
    for (let i = 0; i < ROUNDS + 3; i++) {
      const t0 = performance.now();
      const r = await probe.probe();
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error(r.error);
      if (i >= 3) times.push(ms); // the first rounds connect and detect extensions
      const c = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'ops-console' AND datname = $1",
        [db],
      );
      conns = Math.max(conns, c.rows[0].n);
    }
  } finally {
    await probe.close();
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)], conns };
}

const small = `ops_bench_small_${process.pid}`;
const big = `ops_bench_10k_${process.pid}`;
try {
  await admin.query(`CREATE DATABASE ${small}`);
  await admin.query(`CREATE DATABASE ${big}`);
  const c = new pg.Client({ connectionString: urlFor(big) });
  await c.connect();
  // 10,000 tables, each with a primary key and a secondary index, some rows, statistics
  for (let i = 0; i < TABLES; i += 500) {
    await c.query(`DO $$ BEGIN FOR i IN ${i}..${i + 499} LOOP
      EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i);
      EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
    END LOOP; END $$`);
  }
  await c.query(`DO $$ BEGIN FOR i IN 0..${TABLES - 1} BY 50 LOOP
      EXECUTE format('INSERT INTO t%s SELECT g, g FROM generate_series(1, 100) g', i);
      EXECUTE format('DELETE FROM t%s WHERE id %% 2 = 0', i);
    END LOOP; END $$`);
  await c.end();
  await new Promise((r) => setTimeout(r, 1500)); // let the statistics collector flush

  const s = await measure(small);
  const b = await measure(big);
  const f = (n: number) => n.toFixed(1);
  const out = [
    ['PostgreSQL probe round, small database (median / p95)', `${f(s.median)} / ${f(s.p95)} ms`, '<= 30 ms'],
    [`PostgreSQL probe round, ${TABLES.toLocaleString('en')} tables (median / p95)`, `${f(b.median)} / ${f(b.p95)} ms`, '<= 100 ms'],
    ['connections held by the probe', String(Math.max(s.conns, b.conns)), '<= 2 (the probe uses 1)'],
  ];
  for (const row of out) process.stdout.write(`${JSON.stringify(row)}\n`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${small} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${big} WITH (FORCE)`);
  await admin.end();
}
