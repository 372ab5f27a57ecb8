#!/usr/bin/env node
// The journal mirror's cost to a run (issue 15 §2): `ops run analyze --yes` on one database,
// 5 times each with no mirror, a live mirror (a database of the same server), a stopped mirror
// (nothing listens on its port) and a hung one (a socket that accepts and never answers, as a
// server stopped by SIGSTOP looks to a client). For each: the run's own time (its run.start to
// its run.end in the journal, what the mirror must never lengthen) and the command's wall time
// (which includes the flush at the end, at most twice probeTimeoutMs). One JSON row per line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opsBin = join(root, 'bin/ops');
const DB_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const RUNS = 5;
const psql = (sql) => spawnSync('psql', [DB_URL, '-qAtc', sql], { encoding: 'utf8' });
const at = (db) => {
  const u = new URL(DB_URL);
  u.pathname = `/${db}`;
  return u.toString();
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

psql('DROP DATABASE IF EXISTS ops_bench_mir_t');
psql('CREATE DATABASE ops_bench_mir_t');
psql('DROP DATABASE IF EXISTS ops_bench_mir_m');
psql('CREATE DATABASE ops_bench_mir_m');
const hung = createServer(() => undefined);
await new Promise((r) => hung.listen(0, '127.0.0.1', r));
const closed = createServer();
await new Promise((r) => closed.listen(0, '127.0.0.1', r));
const closedPort = closed.address().port;
await new Promise((r) => closed.close(r));

const cases = [
  ['no mirror', null],
  ['live mirror', at('ops_bench_mir_m')],
  ['stopped mirror', `postgres://postgres@127.0.0.1:${closedPort}/x`],
  ['hung mirror', `postgres://postgres@127.0.0.1:${hung.address().port}/x`],
];
const rows = [];
try {
  for (const [name, mirror] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'ops-bench-mir-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(mirror ? { journal: { mirror } } : {}));
    const runMs = [];
    const wallMs = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [opsBin, 'run', 'analyze', '--yes', '--json'], {
        env: { ...process.env, OPS_CONFIG_DIR: dir, OPS_STATE_DIR: join(dir, 'state'), DATABASE_URL: at('ops_bench_mir_t') },
        encoding: 'utf8',
      });
      wallMs.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`${name}: ops run failed: ${r.stderr}`);
      const id = JSON.parse(r.stdout).run;
      const ev = readFileSync(join(dir, 'state', 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.run === id);
      runMs.push(Date.parse(ev.at(-1).ts) - Date.parse(ev[0].ts));
    }
    rows.push([`ops run analyze, ${name}: the run (run.start to run.end) / the command (wall)`, `${median(runMs)} ms / ${Math.round(median(wallMs))} ms`, name === 'no mirror' ? '' : 'the run as without']);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  hung.close();
  psql('DROP DATABASE IF EXISTS ops_bench_mir_t WITH (FORCE)');
  psql('DROP DATABASE IF EXISTS ops_bench_mir_m WITH (FORCE)');
}
for (const r of rows) console.log(JSON.stringify(r));
