// drop-replication-slot and rollback-prepared as an operator runs them: the built `ops`, on a
// throwaway cluster of this file's own (max_prepared_transactions above 0, wal_level replica),
// with a physical slot holding reserved WAL, a slot held active by pg_receivewal, and prepared
// transactions left open, one of them in another database.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { cleanEnv, OPS_BIN, runOps, tempConfigDir, type OpsResult } from '../support/ops';
import { waitFor } from '../support/pg';

let cluster: Cluster;
let state: string;
let conf: ReturnType<typeof tempConfigDir>;
let app: pg.Client;
const clients: pg.Client[] = [];

const url = (db: string) => `postgres://postgres@127.0.0.1:${cluster.port}/${db}`;
const env = (db = 'appdb') => cleanEnv({ OPS_STATE_DIR: state, OPS_CONFIG_DIR: conf.dir, DATABASE_URL: url(db) });
const ops = (args: string[], db?: string) => runOps(args, { env: env(db), timeoutMs: 30_000 });

async function connect(db: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url(db), application_name: 'ops-test-slots' });
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

const shq = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

/** `ops` at a terminal (script(1) gives it a pty): answers the prompt once it is asked. */
function atTerminal(args: string[], answer: string): Promise<OpsResult & { prompt: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, OPS_BIN, ...args].map(shq).join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let prompt = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ops ${args.join(' ')} at a terminal did not finish\n${stdout}\n${stderr}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      // readline's cursor moves are not the prompt's words
      // eslint-disable-next-line no-control-regex
      stdout += d.toString().replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      const m = !prompt && stdout.match(/[^\n]*to go on: /);
      if (m) {
        prompt = m[0];
        child.stdin.write(`${answer}\r`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stdout, stderr, prompt });
    });
  });
}

const history = async () => JSON.parse((await ops(['history', '--json'])).stdout) as { run: string; task: string; outcome: string }[];

beforeAll(async () => {
  cluster = await startCluster({ prefix: 'ops-slots-', settings: { max_prepared_transactions: 5, wal_level: 'replica' } });
  state = mkdtempSync(join(tmpdir(), 'ops-state-'));
  conf = tempConfigDir();
  const admin = await connect('postgres');
  await admin.query('CREATE DATABASE appdb');
  await admin.query('CREATE DATABASE otherdb');
  app = await connect('appdb');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  cluster?.stop();
  if (state) rmSync(state, { recursive: true, force: true });
  conf?.cleanup();
});

const slotRow = async (name: string) =>
  (await app.query<{ active: boolean; active_pid: number | null; retained: string }>(
    `SELECT active, active_pid, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained FROM pg_replication_slots WHERE slot_name = $1`,
    [name],
  )).rows[0];

describe('drop-replication-slot', () => {
  it('shows the plan with --dry-run, asks without a terminal, and drops an inactive slot with the WAL it retained shown', async () => {
    // a physical slot that reserves WAL now, then WAL written and switched past it
    await app.query(`SELECT pg_create_physical_replication_slot('stale_slot', true)`);
    await app.query('CREATE TABLE filler (id int, pad text)');
    for (let i = 0; i < 3; i++) {
      await app.query(`INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g`);
      await app.query('SELECT pg_switch_wal()');
    }
    const before = Number((await slotRow('stale_slot')).retained);
    expect(before).toBeGreaterThan(16 * 1024 * 1024);

    const dry = await ops(['run', 'drop-replication-slot', '--dry-run', '--param', 'slot=stale_slot']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^drop-replication-slot \(critical risk\)/);
    expect(dry.stdout).toContain('the WAL it retains (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)');
    expect(dry.stdout).toContain('wal_status (13+)');
    expect(dry.stdout).toMatch(/2\. Drop the slot \(pg_drop_replication_slot\)  \[IRREVERSIBLE\]\n\s+runs: SELECT pg_drop_replication_slot\(\$1\)  -- with "stale_slot", after re-checking/);
    expect(dry.stdout).toContain('undo: none: cannot be undone');
    expect(dry.stdout).toContain('dry run: nothing was changed');
    expect(await slotRow('stale_slot')).toBeTruthy();

    // critical: without a terminal and without --yes it is refused, and nothing runs
    const asked = await ops(['run', 'drop-replication-slot', '--param', 'slot=stale_slot']);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toBe(
      'ops: run drop-replication-slot: a critical-risk task asks for confirmation; run it at a terminal, or pass --yes (see the plan with --dry-run)\n',
    );
    expect(await slotRow('stale_slot')).toBeTruthy();
    expect(await history()).toEqual([]);

    const r = await ops(['run', 'drop-replication-slot', '--yes', '--param', 'slot=stale_slot']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('slot stale_slot: physical, no database, inactive');
    const m = r.stdout.match(/retains [\d.]+ MB of WAL \((\d+) bytes\)/);
    expect(m, r.stdout).toBeTruthy();
    expect(Number(m![1])).toBeGreaterThanOrEqual(before);
    expect(r.stdout).toMatch(/wal_status (reserved|extended)/);
    expect(r.stdout).toMatch(/slot stale_slot dropped; the [\d.]+ MB of WAL it held can be removed at the next checkpoint/);
    expect(r.stdout).toMatch(/run \S+ succeeded/);
    expect(await slotRow('stale_slot')).toBeUndefined();
    expect((await history())[0]).toMatchObject({ task: 'drop-replication-slot', outcome: 'succeeded' });
  });

  it('at a terminal, the confirmation asks for the slot\'s name, and only that name drops it', async () => {
    await app.query(`SELECT pg_create_physical_replication_slot('typed_slot', true)`);
    const wrong = await atTerminal(['run', 'drop-replication-slot', '--param', 'slot=typed_slot'], 'appdb');
    expect(wrong.prompt).toBe('This is a critical task. Type the slot name (typed_slot) to go on: ');
    expect(wrong.stdout).toContain('SELECT pg_drop_replication_slot($1)  -- with "typed_slot"');
    expect(wrong.stdout).toContain('not confirmed: nothing was run');
    expect(wrong.code).toBe(1);
    expect(await slotRow('typed_slot')).toBeTruthy();
    const right = await atTerminal(['run', 'drop-replication-slot', '--param', 'slot=typed_slot'], 'typed_slot');
    expect(right.stdout).toContain('slot typed_slot dropped');
    expect(right.code, right.stdout).toBe(0);
    expect(await slotRow('typed_slot')).toBeUndefined();
  });

  it('refuses a slot that does not exist, naming the slots there are', async () => {
    await app.query(`SELECT pg_create_physical_replication_slot('kept_slot')`);
    const r = await ops(['run', 'drop-replication-slot', '--yes', '--param', 'slot=no_such_slot']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ Read the slot: no replication slot no_such_slot (slots here: kept_slot)');
    expect(r.stdout).not.toContain('▶ Drop the slot');
    expect(await slotRow('kept_slot')).toBeTruthy();
    const bad = await ops(['run', 'drop-replication-slot', '--yes', '--param', 'slot=Bad-Name']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^ops: drop-replication-slot: --param slot: a replication slot name/);
    await app.query(`SELECT pg_drop_replication_slot('kept_slot')`);
  });

  it('refuses an active slot, naming the pid that holds it, and leaves it in place', async () => {
    await app.query(`SELECT pg_create_physical_replication_slot('live_slot', true)`);
    const dir = mkdtempSync(join(tmpdir(), 'ops-receivewal-'));
    if (process.getuid?.() === 0) chownSync(dir, 0, 0);
    let child: ChildProcess | null = null;
    try {
      child = spawn(join(cluster.bin, 'pg_receivewal'), ['-D', dir, '--slot', 'live_slot', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', '--no-loop', '--no-password'], {
        stdio: 'ignore',
      });
      const row = await waitFor(async () => {
        const s = await slotRow('live_slot');
        return s?.active ? s : null;
      }, { message: 'pg_receivewal holds live_slot' });
      const pid = row.active_pid!;
      const r = await ops(['run', 'drop-replication-slot', '--yes', '--param', 'slot=live_slot']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`slot live_slot: physical, no database, active (pid ${pid})`);
      expect(r.stdout).toContain(
        `✗ Read the slot: slot live_slot is active, held by pid ${pid} (walsender of postgres@127.0.0.1 [pg_receivewal]): not dropped; ` +
          `terminating it first (pg_terminate_backend(${pid})) is a separate step`,
      );
      expect(r.stdout).not.toContain('▶ Drop the slot');
      expect(await slotRow('live_slot')).toMatchObject({ active: true, active_pid: pid });
    } finally {
      child?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
    await waitFor(async () => (await slotRow('live_slot'))?.active === false, { message: 'live_slot released' });
    await app.query(`SELECT pg_drop_replication_slot('live_slot')`);
  });
});

describe('rollback-prepared', () => {
  const prepared = async () => (await app.query<{ gid: string; database: string }>('SELECT gid, database FROM pg_prepared_xacts ORDER BY gid')).rows;

  it('rolls back a prepared transaction left open, listing its locks on the relations in the plan', async () => {
    await app.query('CREATE TABLE orders (id int PRIMARY KEY, note text); CREATE TABLE ledger (id int)');
    const c = await connect('appdb');
    const gid = "batch-7 'nightly'";
    await c.query('BEGIN');
    await c.query(`INSERT INTO orders VALUES (1, 'kept only if committed')`);
    await c.query('LOCK TABLE ledger IN EXCLUSIVE MODE');
    await c.query(`PREPARE TRANSACTION 'batch-7 ''nightly'''`);
    expect(await prepared()).toEqual([{ gid, database: 'appdb' }]);

    const dry = await ops(['run', 'rollback-prepared', '--dry-run', '--param', `gid=${gid}`]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^rollback-prepared \(critical risk\)/);
    expect(dry.stdout).toContain("runs: ROLLBACK PREPARED 'batch-7 ''nightly''', after re-checking");
    expect(dry.stdout).toContain('[IRREVERSIBLE]');
    expect(await prepared()).toHaveLength(1);

    const asked = await ops(['run', 'rollback-prepared', '--param', `gid=${gid}`]);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(/^ops: run rollback-prepared: a critical-risk task asks for confirmation/);
    expect(await prepared()).toHaveLength(1);

    const r = await ops(['run', 'rollback-prepared', '--yes', '--param', `gid=${gid}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gid 'batch-7 ''nightly''': transaction \d+, prepared \S+ \S+ \(\d+s ago\) by postgres in database appdb/);
    expect(r.stdout).toContain('lock: RowExclusiveLock on public.orders');
    expect(r.stdout).toContain('lock: ExclusiveLock on public.ledger');
    expect(r.stdout).toMatch(/lock: ExclusiveLock on its own transaction id \d+/);
    expect(r.stdout).toMatch(/\d+ locks held, on 2 relations: public.ledger, public.orders/);
    expect(r.stdout).toMatch(/transaction \d+ \(gid 'batch-7 ''nightly'''\) rolled back; its \d+ locks released/);
    expect(await prepared()).toEqual([]);
    expect((await app.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(0);
    // its locks went with it
    await app.query('BEGIN; LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE NOWAIT; COMMIT');
  });

  it('refuses a gid prepared in another database, naming it, and one that is not prepared', async () => {
    const other = await connect('otherdb');
    await other.query('CREATE TABLE t (id int)');
    await other.query('BEGIN');
    await other.query('INSERT INTO t VALUES (1)');
    await other.query(`PREPARE TRANSACTION 'elsewhere'`);

    const r = await ops(['run', 'rollback-prepared', '--yes', '--param', 'gid=elsewhere']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "✗ Read the prepared transaction: prepared transaction 'elsewhere' is in database otherdb, not appdb: ROLLBACK PREPARED must run there; run this again with --database naming otherdb",
    );
    expect(r.stdout).not.toContain('▶ ROLLBACK PREPARED');
    expect(await prepared()).toEqual([{ gid: 'elsewhere', database: 'otherdb' }]);

    const none = await ops(['run', 'rollback-prepared', '--yes', '--param', 'gid=never-prepared']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(`✗ Read the prepared transaction: no prepared transaction with gid 'never-prepared' (prepared now: "elsewhere" (otherdb))`);

    // connected to its database, as the refusal says, and with its gid typed, it is rolled back
    const there = await atTerminal(['run', 'rollback-prepared', '--param', 'gid=elsewhere', '--database', url('otherdb')], 'elsewhere');
    expect(there.prompt).toBe('This is a critical task. Type the gid (elsewhere) to go on: ');
    expect(there.code, there.stdout + there.stderr).toBe(0);
    expect(there.stdout).toContain("(gid 'elsewhere') rolled back");
    expect(await prepared()).toEqual([]);
  });
});
