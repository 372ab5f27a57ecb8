// A walkthrough opened with the console begins on a complete health round: not on the first
// publish, which may come before PostgreSQL's first answer (the sources publish as they answer).
import { cleanup, render } from 'ink-testing-library';
import { act } from 'react';
import { afterEach, expect, test, vi } from 'vitest';
import { App } from '../../screens/App';
import type { ChecklistServiceLike, Health } from '../../src/checklists/service';
import type { MonitorState } from '../../src/types';
import { fixedMonitor, healthyState } from '../support/fixtures';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

/** healthyState before PostgreSQL's first answer: no PostgreSQL data, one UNKNOWN check in its place. */
function beforePgAnswers(): MonitorState {
  const base = healthyState();
  const now = Date.now();
  return {
    ...base,
    snapshot: { ...base.snapshot!, postgres: undefined },
    report: {
      ...base.report!,
      status: 'UNKNOWN',
      checks: [
        ...base.report!.checks.filter((c) => !['postgres', 'sessions', 'tables'].includes(c.group)),
        { id: 'pg.up', group: 'postgres', label: 'PostgreSQL', status: 'UNKNOWN', summary: 'waiting for the first answer from PostgreSQL (0s)', value: null, unit: '', thresholds: null, subject: null },
      ],
    },
    waiting: [{ id: 'postgres', kind: 'postgres', label: 'PostgreSQL', since: now, deadline: now + 4000, overdue: false, lastAnswerAt: null }],
  };
}

test('the walkthrough is begun once every source has answered, with PostgreSQL in its health', async () => {
  const begun: Health[] = [];
  const svc: ChecklistServiceLike = {
    checklists: () => ({ checklists: [], errors: [] }),
    unfinished: () => [],
    begin(_id, health) {
      begun.push(health);
      throw new Error('recorded');
    },
    resume: () => {
      throw new Error('not used');
    },
    live: () => {
      throw new Error('not used');
    },
    taskOutcome: () => null,
    finish: () => '',
  };
  const monitor = fixedMonitor(beforePgAnswers());
  await act(async () => {
    render(<App monitor={monitor} checklists={svc} walk={{ begin: 'daily' }} onQuit={vi.fn()} columns={80} rows={24} color={false} redrawMs={0} tickMs={0} />);
  });
  expect(begun).toEqual([]);
  await act(async () => {
    monitor.set(healthyState());
  });
  expect(begun).toHaveLength(1);
  expect(begun[0].report!.checks.find((c) => c.id === 'pg.up')?.status).toBe('OK');
  expect(begun[0].snapshot!.postgres?.ok).toBe(true);
});
