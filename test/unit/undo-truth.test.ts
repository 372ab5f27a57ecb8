// The undo shown is the undo that runs (issue 13 §5): a step whose rollback depends on what an
// earlier step read (as set-setting's puts back the value postgresql.auto.conf held) is listed by
// `ops show`, `ops rollback` and the rollback prompt with the values captured at run time, from
// the journal alone, and the same text is what the rollback then runs. No database: the steps
// are functions; the journal is a real one in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/config/load';
import { DEFAULT_CONFIG } from '../../src/config/schema';
import { showCommand } from '../../src/cli/history';
import { describeRun } from '../../src/cli/rollback';
import { Journal } from '../../src/journal';
import { TaskRunner, type LogSink } from '../../src/tasks/engine';
import type { TaskDef } from '../../src/tasks/model';

const target: ResolvedTarget = { name: 'none', source: 'default', connection: {}, display: 'postgres://app@db1/prod', database: 'prod', secrets: [] };

/** Reads a value, then changes it; the undo puts back what was read (or resets when nothing was). */
function captureTask(ran: string[]): TaskDef {
  return {
    id: 'capture',
    title: 'Change x',
    description: '',
    risk: 'low',
    params: z.object({}).strict() as unknown as TaskDef['params'],
    steps: [
      { id: 'read', title: 'Read x', action: () => ({ kind: 'fn', describe: 'read x', run: async () => ({ before: '4MB' }) }) },
      {
        id: 'change',
        title: 'Set x',
        action: () => ({ kind: 'fn', describe: `SET x = '64MB'`, run: async () => undefined }),
        rollback: (ctx) => {
          const sql = ctx.values.before === undefined ? 'RESET x' : `SET x = '${String(ctx.values.before)}'`;
          return { kind: 'fn', describe: sql, run: async () => void ran.push(sql) };
        },
      },
    ],
  };
}

const NO_LOG: LogSink = { write: () => undefined, flush: () => undefined, close: () => undefined };

let dir: string;
let journal: Journal;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-undo-'));
  journal = new Journal(join(dir, 'state'), { env: {} });
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the undo listed is the undo that runs', () => {
  it('ops show, ops rollback and the rollback prompt list the undo with the captured value, and that is what runs', async () => {
    const ran: string[] = [];
    const task = captureTask(ran);
    const runId = journal.newRunId(task.id);
    const runner = new TaskRunner({ task, params: {}, runId, target, config: DEFAULT_CONFIG, journal, log: NO_LOG });
    // before the run nothing has been read: the plan cannot know the value yet
    expect(runner.plan()[1].rollback).toBe('RESET x');
    expect((await runner.run()).outcome).toBe('succeeded');
    runner.end();

    const undo = `SET x = '4MB'`;
    const finish = journal.events(runId).find((e) => e.type === 'step.finish' && e.step === 'change');
    expect(finish).toMatchObject({ rollback: undo });
    expect(journal.summary(runId)!.steps[1].rollback).toBe(undo);
    expect(showCommand(journal, runId)).toContain(`\n  undo Set x: ${undo}\n`);
    expect(describeRun(journal.summary(runId)!)).toContain(`    undo Set x: ${undo}\n`);

    // the emergency session rebuilds the run from the journal alone
    const later = new TaskRunner({ task, params: {}, runId, target, config: DEFAULT_CONFIG, journal, log: NO_LOG });
    later.restore(journal.events(runId));
    expect(later.rollbackPlan().map((p) => p.detail)).toEqual([undo]);
    await later.rollback(['change']);
    later.end();
    expect(ran).toEqual([undo]);
    expect(journal.events(runId).find((e) => e.type === 'rollback.start')).toMatchObject({ detail: undo });
  });

  it('a step whose end was never recorded lists the undo as it would run then', async () => {
    const task = captureTask([]);
    const runId = journal.newRunId(task.id);
    const runner = new TaskRunner({ task, params: {}, runId, target, config: DEFAULT_CONFIG, journal, log: NO_LOG });
    await runner.run();
    runner.end();
    // as if ops died mid-step: the events up to the second step's start only
    const events = journal.events(runId);
    const cut = events.slice(0, events.findIndex((e) => e.type === 'step.start' && e.step === 'change') + 1);
    expect(cut.at(-1)).toMatchObject({ type: 'step.start', rollback: `SET x = '4MB'` });
    const later = new TaskRunner({ task, params: {}, runId: 'r2', target, config: DEFAULT_CONFIG, journal: { append: () => undefined }, log: NO_LOG });
    later.restore(cut);
    expect(later.rollbackPlan()).toEqual([expect.objectContaining({ step: 'change', detail: `SET x = '4MB'`, mayHaveRun: true })]);
  });
});
