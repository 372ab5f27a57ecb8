// The console's way into tasks: start a run, watch it, hang up mid-step, reopen it for rollback.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/config/load';
import { TaskService } from '../../src/tasks/service';
import { BUILTIN_TASKS } from '../../tasks/index';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/pg';

describe('TaskService', () => {
  let db: TestDatabase;
  let state: string;
  let saved: string | undefined;
  beforeAll(async () => {
    db = await createTestDatabase('svc');
    state = mkdtempSync(join(tmpdir(), 'ops-state-'));
    saved = process.env.OPS_STATE_DIR;
    process.env.OPS_STATE_DIR = state;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.OPS_STATE_DIR;
    else process.env.OPS_STATE_DIR = saved;
    await db?.drop();
    rmSync(state, { recursive: true, force: true });
  });

  const service = () => new TaskService(resolveSettings({ database: db.url }, { ...process.env, OPS_CONFIG_DIR: join(state, 'no-config') }), BUILTIN_TASKS);

  it('plans, starts a run the screens can watch, and journals it', async () => {
    const svc = service();
    expect(svc.tasks().tasks.map((t) => t.id)).toContain('set-setting');
    expect(svc.plan('set-setting', { name: 'work_mem', value: '5MB' })[1].detail).toContain(`ALTER SYSTEM SET "work_mem" = '5MB'`);
    expect(() => svc.plan('set-setting', { name: 'work_mem' })).toThrow(/--param value/);

    const h = await svc.start('analyze', {});
    await waitFor(() => h.runner.state.phase === 'done', { timeoutMs: 10000 });
    expect(h.runner.state.outcome).toBe('succeeded');
    await h.close();
    expect(svc.history()[0]).toMatchObject({ run: h.runId, task: 'analyze', outcome: 'succeeded' });
    expect(svc.log(h.runId)).toMatch(/ANALYZE/);
  });

  it('a second start on the same target is refused while the first holds the lock', async () => {
    const svc = service();
    const c = await db.client();
    await c.query('CREATE TABLE IF NOT EXISTS locked (id int)');
    await c.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
    const first = await svc.start('analyze', { tables: ['public.locked'] });
    await waitFor(() => first.runner.state.steps[1]?.status === 'running', { timeoutMs: 10000 });
    await expect(svc.start('analyze', {})).rejects.toThrow(/^target is busy: analyze/);
    await c.query('COMMIT');
    await waitFor(() => first.runner.state.phase === 'done', { timeoutMs: 10000 });
    await first.close();
  });

  it('hang-up: the running step finishes, the run is interrupted, and it can be reopened for rollback', async () => {
    const svc = service();
    const before = (await (await db.client()).query("SELECT setting FROM pg_settings WHERE name = 'log_min_duration_sample'")).rows[0].setting;
    const value = before === '6666' ? '6667' : '6666';
    const c = await db.client();
    await c.query('CREATE TABLE IF NOT EXISTS t2 (id int)');
    const h = await svc.start('set-setting', { name: 'log_min_duration_sample', value });
    await waitFor(() => h.runner.state.phase === 'done' || h.runner.state.phase === 'stopped', { timeoutMs: 10000 });
    await h.close();
    const reopened = await svc.openForRollback(h.runId);
    expect(reopened.runner.rollbackPlan().map((p) => p.step)).toEqual(['alter']);
    await reopened.runner.rollback(['alter']);
    await reopened.close();
    expect(svc.history()[0]).toMatchObject({ run: h.runId, outcome: 'rolled back' });
    // hang up while pg_dump waits on a lock: it is not killed, it finishes, the run stops after it
    const conf = join(state, 'conf');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'config.json'), JSON.stringify({ backup: { dir: state, glob: '*.dump' } }));
    const svc2 = new TaskService(resolveSettings({ database: db.url }, { ...process.env, OPS_CONFIG_DIR: conf }), BUILTIN_TASKS);
    await c.query('BEGIN; LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE');
    const b = await svc2.start('backup', {});
    await waitFor(() => b.runner.state.steps[1].status === 'running', { timeoutMs: 10000 });
    const hung = svc2.hangUp();
    await c.query('COMMIT');
    await hung;
    expect(b.runner.state.steps.map((st) => st.status)).toEqual(['ok', 'ok', 'pending', 'pending', 'pending']);
    expect(svc2.history()[0]).toMatchObject({ run: b.runId, outcome: 'interrupted' });
    expect(svc2.interrupted().map((r) => r.run)).toContain(b.runId);
  });
});
