// The outage checks' own queries (src/probes/pg-outages.ts), timed apart from the probe round:
// the every-round query, and the slower reads (every sequence's last value, every table's analyze
// times and freeze ages) that run once a minute in the background. On an empty database and on
// one with 10,000 tables, each with a serial column (so 10,000 sequences) and a secondary index.
// Prints one JSON row per figure, like probe-round.ts. The server: BENCH_DATABASE_URL, or
// postgres@127.0.0.1:5432.
import pg from 'pg';
import { __fastSqlForBench, __tablesSqlForBench, OutageProbe } from '../src/probes/pg-outages';

const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TABLES = 10_000;

function urlFor(db: string): string {
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Measured {
  fast: number;
  tables: number;
  sequences: number;
}

async function measure(db: string): Promise<Measured> {
  const c = new pg.Client({ connectionString: urlFor(db), application_name: 'ops-console' });
  await c.connect();
  try {
    // as the probe has it: one statistics snapshot per transaction
    await c.query('SET stats_fetch_consistency = snapshot').catch(() => {});
    const probe = new OutageProbe({ timeoutMs: 10_000, describe: (e) => String(e) });
    await probe.detect(c);
    await probe.collect(c); // reads the slower parts once, as the first round does
    const inner = probe as unknown as {
      meta: Parameters<typeof __fastSqlForBench>[0];
      slow: Parameters<typeof __fastSqlForBench>[1];
      readSequences(client: pg.Client, budgetMs: number | null): Promise<void>;
    };
    const time = async (n: number, fn: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await fn();
        xs.push(performance.now() - t0);
      }
      return median(xs);
    };
    return {
      fast: await time(30, () => c.query(__fastSqlForBench(inner.meta, inner.slow))),
      tables: await time(7, () => c.query(__tablesSqlForBench)),
      sequences: await time(5, () => inner.readSequences(c, null)),
    };
  } finally {
    await c.end();
  }
}

const admin = new pg.Client({ connectionString: base });
await admin.connect();
const small = `ops_bench_out_small_${process.pid}`;
const big = `ops_bench_out_10k_${process.pid}`;
try {
  await admin.query(`CREATE DATABASE ${small}`);
  await admin.query(`CREATE DATABASE ${big}`);
  const c = new pg.Client({ connectionString: urlFor(big) });
  await c.connect();
  for (let i = 0; i < TABLES; i += 500) {
    await c.query(`DO $$ BEGIN FOR i IN ${i}..${i + 499} LOOP
      EXECUTE format('CREATE TABLE t%s (id serial PRIMARY KEY, v int)', i);
      EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
    END LOOP; END $$`);
  }
  await c.query(`DO $$ BEGIN FOR i IN 0..${TABLES - 1} BY 50 LOOP
      EXECUTE format('INSERT INTO t%s (v) SELECT g FROM generate_series(1, 100) g', i);
      EXECUTE format('DELETE FROM t%s WHERE id %% 2 = 0', i);
    END LOOP; END $$`);
  await c.end();
  await new Promise((r) => setTimeout(r, 1500));
  const s = await measure(small);
  const b = await measure(big);
  const f = (n: number) => `${n.toFixed(1)} ms`;
  for (const row of [
    ['outage checks, every-round query, small database (median)', f(s.fast), 'part of the round'],
    [`outage checks, every-round query, ${TABLES.toLocaleString('en')} tables (median)`, f(b.fast), 'part of the round'],
    ['outage checks, table scan, small database (median)', f(s.tables), 'first round, then every 60 s in the background'],
    [`outage checks, table scan, ${TABLES.toLocaleString('en')} tables (median)`, f(b.tables), 'first round, then every 60 s in the background'],
    ['outage checks, every sequence read, small database (median)', f(s.sequences), 'first round (500 ms at most), then every 5 min in the background'],
    [`outage checks, every sequence read, ${TABLES.toLocaleString('en')} sequences (median)`, f(b.sequences), 'first round (500 ms at most), then every 5 min in the background'],
  ]) {
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${small} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${big} WITH (FORCE)`);
  await admin.end();
}
