// The one confirmation policy (src/tasks/confirm.ts), on the built-in tasks.
import { describe, expect, test } from 'vitest';
import { BUILTIN_TASKS } from '../../tasks/index';
import { confirmationFor, confirmationForRollback, confirmWordFor } from '../../src/tasks/confirm';
import type { Risk, TaskDef } from '../../src/tasks/model';
import { chosenRollbacks, promptWith } from '../../src/cli/prompt';

const builtin = (id: string): TaskDef => BUILTIN_TASKS.find((t) => t.id === id)!;
const planOf = (t: TaskDef, params: Record<string, unknown> = {}) => ({ params, steps: t.steps.map((s) => ({ irreversible: !!s.irreversible })) });

describe('confirmationFor', () => {
  test('low risk and nothing irreversible: nothing to ask', () => {
    const t = builtin('analyze');
    expect(t.risk).toBe('low');
    expect(confirmationFor(t, planOf(t), 'appdb')).toEqual({ kind: 'none' });
    expect(confirmationFor(builtin('verify-backup'), planOf(builtin('verify-backup')), 'appdb')).toEqual({ kind: 'none' });
  });

  test('low risk with an irreversible step: y/N, saying it is irreversible', () => {
    const t = builtin('rotate-logs');
    expect(t.risk).toBe('low');
    expect(confirmationFor(t, planOf(t), 'appdb')).toEqual({ kind: 'yes-no', irreversible: true });
  });

  test('medium and high: y/N', () => {
    for (const id of ['vacuum-analyze', 'backup', 'set-setting', 'drop-index']) {
      const t = builtin(id);
      expect(['medium', 'high']).toContain(t.risk);
      expect(confirmationFor(t, planOf(t), 'appdb')).toEqual({ kind: 'yes-no', irreversible: t.steps.some((s) => s.irreversible === true) });
    }
    const medium = { risk: 'medium' as Risk };
    expect(confirmationFor(medium, { params: {}, steps: [{}] }, 'appdb')).toEqual({ kind: 'yes-no', irreversible: false });
    expect(confirmationFor({ risk: 'high' }, { params: {}, steps: [{ irreversible: true }] }, 'appdb')).toEqual({ kind: 'yes-no', irreversible: true });
  });

  test('critical: type the object the task destroys, else the database name', () => {
    const slot = builtin('drop-replication-slot');
    expect(confirmationFor(slot, planOf(slot, { slot: 'stale_slot' }), 'appdb')).toEqual({ kind: 'type-word', word: 'stale_slot', what: 'the slot name' });
    const gid = builtin('rollback-prepared');
    expect(confirmationFor(gid, planOf(gid, { gid: 'g1' }), 'appdb')).toEqual({ kind: 'type-word', word: 'g1', what: 'the gid' });
    const restore = builtin('restore');
    expect(restore.risk).toBe('critical');
    expect(confirmationFor(restore, planOf(restore, {}), 'appdb')).toEqual({ kind: 'type-word', word: 'appdb', what: 'the database name' });
    // the database parameter, when given, is the one overwritten
    expect(confirmationFor(restore, planOf(restore, { database: 'other' }), 'appdb')).toEqual({ kind: 'type-word', word: 'other', what: 'the database name' });
    // critical without an irreversible step still types the word
    expect(confirmationFor({ risk: 'critical' }, { params: {}, steps: [] }, 'appdb')).toEqual({ kind: 'type-word', word: 'appdb', what: 'the database name' });
  });

  test('the word is confirmWordFor\'s', () => {
    const slot = builtin('drop-replication-slot');
    const c = confirmationFor(slot, planOf(slot, { slot: 's' }), 'appdb');
    expect(c).toEqual({ kind: 'type-word', ...confirmWordFor(slot, { slot: 's' }, 'appdb') });
    // an empty own word falls back to the database
    expect(confirmationFor(slot, planOf(slot, { slot: '' }), 'appdb')).toEqual({ kind: 'type-word', word: 'appdb', what: 'the database name' });
  });
});

describe('confirmationForRollback', () => {
  test('always asks: y/N, or for a critical task the connection\'s database name', () => {
    expect(confirmationForRollback(builtin('analyze'), 'appdb')).toEqual({ kind: 'yes-no', irreversible: false });
    expect(confirmationForRollback(builtin('vacuum-analyze'), 'appdb')).toEqual({ kind: 'yes-no', irreversible: false });
    expect(confirmationForRollback(builtin('drop-index'), 'appdb')).toEqual({ kind: 'yes-no', irreversible: false });
    // not the slot name: the rollback of a critical task asks for the database, as it always has
    expect(confirmationForRollback(builtin('drop-replication-slot'), 'appdb')).toEqual({ kind: 'type-word', word: 'appdb', what: 'the database name' });
    expect(confirmationForRollback(builtin('restore'), 'appdb')).toEqual({ kind: 'type-word', word: 'appdb', what: 'the database name' });
  });
});

describe('the CLI Prompter asks what the policy says', () => {
  const scripted = (answers: string[]) => {
    const asked: string[] = [];
    return { asked, p: promptWith(async (q) => (asked.push(q), answers.shift() ?? '')) };
  };

  test('none asks nothing; yes-no takes y or yes; type-word takes the word exactly', async () => {
    const a = scripted([]);
    expect(await a.p.confirmAs({ kind: 'none' }, { yesNo: 'Run it? [y/N] ' })).toBe(true);
    expect(a.asked).toEqual([]);
    const b = scripted([' YES ', 'n', '']);
    expect(await b.p.confirmAs({ kind: 'yes-no', irreversible: false }, { yesNo: 'Run it? [y/N] ' })).toBe(true);
    expect(await b.p.confirm('Run it? [y/N] ')).toBe(false);
    expect(await b.p.confirm('Run it? [y/N] ')).toBe(false);
    const c = scripted(['appdb ', 'Appdb']);
    const word = { kind: 'type-word', word: 'appdb', what: 'the database name' } as const;
    expect(await c.p.confirmAs(word, { yesNo: 'unused' })).toBe(true);
    expect(await c.p.confirmAs(word, { yesNo: 'unused', typeWord: 'Type the database name (appdb) to roll back: ' })).toBe(false);
    expect(c.asked).toEqual(['Type the database name (appdb) to go on: ', 'Type the database name (appdb) to roll back: ']);
  });

  test('the rollback choice: all, none, or numbers; continue or quit', async () => {
    const items = [{ step: 'c' }, { step: 'b' }, { step: 'a' }];
    expect(chosenRollbacks('A', items)).toEqual(['c', 'b', 'a']);
    expect(chosenRollbacks('all', items)).toEqual(['c', 'b', 'a']);
    expect(chosenRollbacks(' ', items)).toEqual([]);
    expect(chosenRollbacks('none', items)).toEqual([]);
    expect(chosenRollbacks('3, 1 9', items)).toEqual(['a', 'c']);
    const s = scripted(['2', 'continue', 'q']);
    expect(await s.p.chooseRollbacks(items)).toEqual(['b']);
    expect(s.asked[0]).toBe('Roll back [a]ll, [n]one, or list the numbers (e.g. 1,2): ');
    expect(await s.p.continueOrQuit('?')).toBe(true);
    expect(await s.p.continueOrQuit('?')).toBe(false);
  });
});
