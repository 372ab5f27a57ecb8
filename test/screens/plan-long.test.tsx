// A plan at 80 columns with a long pid list and a long target (issue 13 §4): no pid split across
// rows, and the confirmation names host, port and database, the target shortened in its middle.
import { act } from 'react';
import * as z from 'zod';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { healthyState } from '../support/fixtures';
import { fakeService, PLANS, TASKS } from '../support/fake-tasks';
import type { TaskDef } from '../../src/tasks/model';
import { KEY, renderApp, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

const PIDS = Array.from({ length: 14 }, (_, i) => 212_90 + i);
const TARGET = 'postgres://maintenance_operator:***@db-primary-01.eu-west-3.internal.example.com:6432/shop_orders_production';

const TASK: TaskDef = {
  id: 'terminate-many',
  title: 'Terminate sessions',
  description: 'pg_terminate_backend each session, bound to its pid.',
  risk: 'high',
  params: z.object({}).strict() as unknown as TaskDef['params'],
  steps: [{ id: 'terminate', title: 'Terminate them', action: () => ({ kind: 'sql', text: 'SELECT 1' }), irreversible: true } as unknown as TaskDef['steps'][number]],
};
PLANS['terminate-many'] = () => [
  {
    id: 'terminate',
    title: 'Terminate them',
    detail: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${PIDS.join(', ')}) AND backend_start = ANY ($1)`,
    rollback: null,
    irreversible: true,
  },
];

describe('a long plan at 80 columns', () => {
  test('no pid split across rows; the target shown with its host, port and database', async () => {
    const service = { ...fakeService({ tasks: [...TASKS, TASK] }), targetDisplay: TARGET, databaseName: 'shop_orders_production' };
    const d = await renderApp(healthyState(), { service });
    await d.press('t');
    for (let k = 0; k < TASKS.length; k++) await d.press(KEY.down);
    await d.press(KEY.enter);
    const lines = d.lines();
    expect(lines[0]).toMatch(/^Plan · terminate-many/);
    for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(80);
    const text = lines.join('\n');
    // every pid whole on one row
    for (const p of PIDS) expect(text).toMatch(new RegExp(`(^|\\D)${p}(\\D|$)`, 'm'));
    // the header and the prompt keep the target's end: port and database
    expect(lines[0]).toMatch(/ · on postgres:\/\/[^\n]*…[^\n]*shop_orders_production$/);
    expect(text).toMatch(/^ +on [^\n]*…[^\n]*:6432\/shop_orders_production$/m);
    expect(text).toMatch(/^ +on postgres:\/\/maint/m);
    expect(text).toContain('Run terminate-many? [y/N]');
  });
});
