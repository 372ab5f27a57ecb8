// From a finding to its fix, on real PostgreSQL: a table with most rows dead, a never-used index
// and an invalid one left by a failed CREATE UNIQUE INDEX CONCURRENTLY. ops check --json names
// each finding's task bound to its object, and each bound task plans (ops run --dry-run) with
// exactly those parameters.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

interface Fix {
  task: string;
  params: Record<string, unknown>;
}
interface JsonCheck {
  id: string;
  status: string;
  fix?: Fix;
  findings?: { subject: string; fix?: Fix }[];
}

let db: TestDatabase;
let admin: pg.Client;
let conf: ReturnType<typeof tempConfigDir>;

beforeAll(async () => {
  db = await createTestDatabase('fixes');
  admin = await db.client();
  conf = tempConfigDir({});
  await admin.query('CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = false)');
  await admin.query(`INSERT INTO bloated SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g`);
  await admin.query('CREATE INDEX bloated_pad_idx ON bloated (pad)'); // never scanned, over 1 MiB
  await admin.query('DELETE FROM bloated WHERE id % 10 <> 0'); // 18,000 dead, 2,000 live
  await admin.query('CREATE TABLE dup (v int)');
  await admin.query('INSERT INTO dup VALUES (1), (1)');
  await admin.query('CREATE UNIQUE INDEX CONCURRENTLY dup_v_key ON dup (v)').catch(() => undefined); // fails: left invalid
  if (Number((await admin.query('SHOW server_version_num')).rows[0].server_version_num) >= 150000) await admin.query('SELECT pg_stat_force_next_flush()');
}, 60_000);

afterAll(async () => {
  await db?.drop();
  conf?.cleanup();
});

const env = () => cleanEnv({ OPS_CONFIG_DIR: conf.dir, DATABASE_URL: db.url, OPS_STATE_DIR: conf.dir });

describe('every finding a built-in task fixes names it, bound to its object', () => {
  it('ops check --json: fix on the check and on its finding; the bound task plans with those parameters', async () => {
    const checks = await waitFor(
      async () => {
        const r = await runOps(['check', '--only', 'tables', '--json'], { env: env() });
        const out = JSON.parse(r.stdout) as { checks: JsonCheck[] };
        const dead = out.checks.find((c) => c.id === 'tables.dead_tuples');
        return dead?.fix ? out.checks : null;
      },
      { timeoutMs: 15_000, message: 'the dead tuples of "bloated" judged' },
    );
    const byId = (id: string) => checks.find((c) => c.id === id)!;

    const dead = byId('tables.dead_tuples');
    expect(dead.status).toBe('CRITICAL');
    expect(dead.fix).toEqual({ task: 'vacuum-analyze', params: { tables: ['public.bloated'] } });
    expect(dead.findings?.find((f) => f.subject === 'public.bloated')?.fix).toEqual(dead.fix);

    const unused = byId('tables.unused_indexes');
    expect(unused.fix).toEqual({ task: 'drop-index', params: { index: 'public.bloated_pad_idx' } });

    const invalid = byId('indexes.invalid');
    expect(invalid.fix).toEqual({ task: 'reindex-concurrently', params: { index: 'public.dup_v_key' } });

    for (const fix of [dead.fix!, unused.fix!, invalid.fix!]) {
      const flags = Object.entries(fix.params).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).flatMap((x) => ['--param', `${k}=${String(x)}`]));
      const plan = await runOps(['run', fix.task, '--dry-run', ...flags], { env: env() });
      expect(plan.stderr).toBe('');
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain('dry run: nothing was changed');
    }
  });
});
