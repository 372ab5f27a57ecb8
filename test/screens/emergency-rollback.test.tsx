// The emergency rollback list (the console's u, and `ops rollback` at a terminal): each run says
// what it changed, from the journal (issue 13 §5.2); a succeeded backup is not listed as needing
// attention, but is in the history (§5.3); a succeeded run's prompt does not say "The run
// stopped" (§5.4), and y runs its undo (§6). A real journal in a temp directory behind the fake service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act } from 'react';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { Journal } from '../../src/journal';
import { runsNeedingAttention } from '../../src/tasks/attention';
import { BUILTIN_TASKS } from '../../tasks/index';
import { healthyState } from '../support/fixtures';
import { fakeService } from '../support/fake-tasks';
import { KEY, renderApp } from './render';

let dir: string;
let journal: Journal;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-emergency-'));
  journal = new Journal(join(dir, 'state'), { env: {} });
});
afterEach(async () => {
  await act(async () => {
    cleanup();
  });
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

function journalRun(task: string, params: Record<string, unknown>, steps: { id: string; title: string; rollback: string | null; values?: Record<string, unknown> }[], ts: string): string {
  const run = journal.newRunId(task);
  journal.append({ run, ts, type: 'run.start', task, title: task, risk: 'high', params, target: 'postgres://x@h/db', operator: null, dryRun: false, steps: steps.map((s) => ({ id: s.id, title: s.title, rollback: s.rollback, irreversible: false })) });
  steps.forEach((s, index) => {
    journal.append({ run, ts, type: 'step.start', step: s.id, index, attempt: 1, detail: s.title });
    journal.append({ run, ts, type: 'step.finish', step: s.id, index, outcome: 'ok', exitCode: 0, durationMs: 1, ...(s.values ? { values: s.values } : {}), ...(s.rollback ? { rollback: s.rollback } : {}) });
  });
  journal.append({ run, ts, type: 'run.end', outcome: 'succeeded' });
  return run;
}

function seed() {
  const setting = journalRun(
    'set-setting',
    { name: 'work_mem', value: '64kB' },
    [
      { id: 'read', title: 'Read the current value', rollback: null, values: { previous: '4096', previousShown: '4MB', previousAuto: '4MB', expected: '64kB', exact: true, context: 'user' } },
      { id: 'alter', title: 'ALTER SYSTEM and reload', rollback: `ALTER SYSTEM SET "work_mem" = '4MB'; SELECT pg_reload_conf()`, values: { applied: true, now: '64kB' } },
    ],
    '2026-12-02T10:00:00.000Z',
  );
  const backup = journalRun(
    'backup',
    {},
    [
      { id: 'check', title: 'Check the backup directory', rollback: 'rm -f -- /b/.shop.dump.partial', values: { file: '/var/backups/shop-20261202-110000.dump', partial: '/b/.shop.dump.partial' } },
      { id: 'checksum', title: 'Write the sha256 checksum', rollback: 'rm -f -- /b/shop.dump.sha256', values: { sha256: 'ab', size: 1024 } },
      { id: 'rename', title: 'Give the dump its name', rollback: 'rm -f -- /var/backups/shop-20261202-110000.dump', values: { named: true } },
    ],
    '2026-12-02T11:00:00.000Z',
  );
  const service = fakeService();
  service.needingAttention = () => runsNeedingAttention(journal, { tasks: BUILTIN_TASKS });
  service.history = () => journal.runs();
  return { service, setting, backup };
}

describe('the emergency rollback list', () => {
  test('u: each run says what it changed; a succeeded backup is not listed, but is in the history', async () => {
    const { service, setting, backup } = seed();
    const d = await renderApp(healthyState(), { service });
    await d.press('u');
    expect(d.lines()[0]).toMatch(/^Emergency rollback · runs needing attention · 1 run/);
    const at = d.lines().findIndex((l) => l.startsWith('▶ '));
    expect(d.lines()[at]).toContain(setting.slice(0, 25));
    expect(at).toBeGreaterThan(0);
    expect(d.lines()[at + 1].trim()).toBe('work_mem 4MB → 64kB');
    expect(d.frame()).not.toContain(backup.slice(0, 20));
    expect(d.frame()).toContain('Enter undo (rollback)');
    await d.press(KEY.esc);
    await d.press('h');
    expect(d.frame()).toContain(backup.slice(0, 25));
    expect(d.frame()).toContain(setting.slice(0, 25));
  });

  test('opened at start (ops rollback): Enter shows the undo of the newest run, not "The run stopped"; y runs it', async () => {
    const { service, setting } = seed();
    // the fake opens runs of its own journal: give it this one's summary
    const open = service.openForRollback;
    service.openForRollback = (async (runId: string) => {
      const h = await open('20250115-101500-backup-ab12').catch(() => null);
      if (!h) throw new Error('no fake run');
      return h;
    }) as typeof service.openForRollback;
    const d = await renderApp(healthyState(), { service, start: 'emergency-rollback' });
    expect(d.lines()[0]).toMatch(/^Emergency rollback/);
    expect(d.lines().find((l) => l.startsWith('▶ '))).toContain(setting.slice(0, 25));
    await d.press(KEY.enter);
    expect(d.lines()[0]).toMatch(/^Rollback · /);
    expect(d.frame()).toContain('The run succeeded.');
    expect(d.frame()).not.toContain('The run stopped');
    expect(d.frame()).toContain('It changed: work_mem 4MB → 64kB');
    const runner = service.last().runner;
    await d.press('y');
    expect(runner.rollback).toHaveBeenCalled();
  });
});
