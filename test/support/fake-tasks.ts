// A fixed TaskServiceLike and a scriptable RunnerLike for the task screens' tests: fixed tasks
// (one per risk, and one with an irreversible step), fixed plans, fixed history, and runners
// whose steps, phase and output a test sets by hand (inside act()).
import { vi } from 'vitest';
import * as z from 'zod';
import type { RunSummary } from '../../src/journal';
import { parseParams, type Outcome, type RollbackItem, type RunnerLike, type RunState, type StepState } from '../../src/tasks/engine';
import type { StepDef, TaskDef } from '../../src/tasks/model';
import type { PlanStep, RunHandleLike, TaskServiceLike } from '../../src/tasks/service';
import { initialRunState } from '../../src/tasks/run-state';

const sql = (text: string): StepDef['action'] => () => ({ kind: 'sql', text });
const step = (id: string, title: string, extra: Partial<StepDef> = {}): StepDef => ({ id, title, action: sql(`SELECT '${id}'`), ...extra });

export const TASKS: TaskDef[] = [
  {
    id: 'analyze',
    title: 'Refresh planner statistics (ANALYZE)',
    description: 'ANALYZE VERBOSE the given tables, or every user table. Changes no data.',
    risk: 'low',
    params: z.object({ tables: z.string().min(1).optional() }).strict() as unknown as TaskDef['params'],
    steps: [step('analyze', 'ANALYZE VERBOSE')],
  },
  {
    id: 'vacuum-analyze',
    title: 'Reclaim dead tuples (VACUUM ANALYZE)',
    description: 'VACUUM (VERBOSE, ANALYZE) the given tables. Adds I/O load while it runs.',
    risk: 'medium',
    params: z
      // a list, as the real task takes it (a fix binds one table), or one table as typed in the form
      .object({ tables: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(), minDeadPct: z.coerce.number().min(0).max(100).default(20) })
      .strict() as unknown as TaskDef['params'],
    steps: [step('pick', 'Pick the tables'), step('vacuum', 'VACUUM (VERBOSE, ANALYZE)')],
  },
  {
    id: 'set-setting',
    title: 'Change a server setting (ALTER SYSTEM)',
    description: 'ALTER SYSTEM SET a setting and reload the configuration.',
    risk: 'high',
    params: z.object({ name: z.string().min(1, 'give a setting name'), value: z.string().min(1, 'give a value') }).strict() as unknown as TaskDef['params'],
    steps: [step('read', 'Read the current value'), step('set', 'ALTER SYSTEM SET', { rollback: sql('ALTER SYSTEM RESET') }), step('reload', 'Reload the configuration')],
  },
  {
    id: 'restore',
    title: 'Restore a dump over the database',
    description: 'pg_restore --clean the newest dump into the target database. Replaces its contents.',
    risk: 'critical',
    params: z.object({ file: z.string().min(1).optional() }).strict() as unknown as TaskDef['params'],
    steps: [step('check', 'Check the dump'), step('restore', 'pg_restore --clean', { irreversible: true })],
  },
  {
    id: 'purge-archives',
    title: 'Delete old WAL archives',
    description: 'Deletes archived WAL segments older than the newest base backup.',
    risk: 'low',
    params: z.object({}).strict() as unknown as TaskDef['params'],
    steps: [step('list', 'List the old segments'), step('delete', 'Delete them', { irreversible: true })],
  },
  {
    id: 'backup',
    title: 'Back up a database (pg_dump)',
    description: 'pg_dump -Fc into the backup directory, a .sha256 beside it, pg_restore --list to check it.',
    risk: 'medium',
    params: z.object({ dir: z.string().min(1).optional() }).strict() as unknown as TaskDef['params'],
    steps: [
      step('check', 'Check the backup directory'),
      step('dump', 'Dump the database', { rollback: sql('rm dump') }),
      step('checksum', 'Write the checksum', { rollback: sql('rm sha') }),
      step('verify', 'Verify the archive'),
    ],
  },
];

/** Not in TASKS (the list tests count those): the Sessions panel's terminate action. */
export const TERMINATE_TASK: TaskDef = {
  id: 'terminate-sessions',
  title: 'Terminate sessions (pg_terminate_backend)',
  description: 'Lists the sessions first, then terminates each, bound to its pid and start time.',
  risk: 'high',
  params: z.object({ pids: z.array(z.number()) }).strict() as unknown as TaskDef['params'],
  steps: [step('list', 'List the sessions'), step('terminate', 'Terminate them', { irreversible: true })],
};

/** Not in TASKS either: a critical task that names its own confirmation word (the slot's name). */
export const DROP_SLOT_TASK: TaskDef = {
  id: 'drop-replication-slot',
  title: 'Drop a replication slot',
  description: 'Reads the slot, refuses an active one, then pg_drop_replication_slot.',
  risk: 'critical',
  params: z.object({ slot: z.string().min(1, 'give the slot name') }).strict() as unknown as TaskDef['params'],
  confirmWord: (p) => ({ word: String(p.slot), what: 'the slot name' }),
  steps: [step('read', 'Read the slot'), step('drop', 'Drop the slot', { irreversible: true })],
};

export const PLANS: Record<string, (p: Record<string, unknown>) => PlanStep[]> = {
  'drop-replication-slot': (p) => [
    { id: 'read', title: 'Read the slot', detail: `read slot ${String(p.slot)} from pg_replication_slots`, rollback: null, irreversible: false },
    { id: 'drop', title: 'Drop the slot', detail: `SELECT pg_drop_replication_slot($1)  -- with "${String(p.slot)}"`, rollback: null, irreversible: true },
  ],
  'terminate-sessions': (p) => [
    { id: 'list', title: 'List the sessions', detail: `pg_stat_activity where pid in (${(p.pids as number[]).join(', ')})`, rollback: null, irreversible: false },
    { id: 'terminate', title: 'Terminate them', detail: `pg_terminate_backend(${(p.pids as number[]).join(', ')})`, rollback: null, irreversible: true },
  ],
  analyze: (p) => [{ id: 'analyze', title: 'ANALYZE VERBOSE', detail: p.tables ? `ANALYZE VERBOSE ${p.tables}` : 'ANALYZE VERBOSE every user table', rollback: null, irreversible: false }],
  'vacuum-analyze': (p) => [
    { id: 'pick', title: 'Pick the tables', detail: `tables in pg_stat_user_tables with at least ${p.minDeadPct}% dead`, rollback: null, irreversible: false },
    { id: 'vacuum', title: 'VACUUM (VERBOSE, ANALYZE)', detail: `VACUUM (VERBOSE, ANALYZE) ${([] as unknown[]).concat(p.tables ?? '"public"."orders"').join(', ')}`, rollback: null, irreversible: false },
  ],
  'set-setting': (p) => [
    { id: 'read', title: 'Read the current value', detail: `SELECT setting FROM pg_settings WHERE name = $1  -- with "${p.name}"`, rollback: null, irreversible: false },
    { id: 'set', title: 'ALTER SYSTEM SET', detail: `ALTER SYSTEM SET ${p.name} = '${p.value}'`, rollback: `ALTER SYSTEM RESET ${p.name}`, irreversible: false },
    { id: 'reload', title: 'Reload the configuration', detail: 'SELECT pg_reload_conf()', rollback: null, irreversible: false },
  ],
  restore: () => [
    { id: 'check', title: 'Check the dump', detail: 'pg_restore --list /var/backups/app-20250115.dump', rollback: null, irreversible: false },
    { id: 'restore', title: 'pg_restore --clean', detail: 'pg_restore --clean --if-exists -d appdb /var/backups/app-20250115.dump', rollback: null, irreversible: true },
  ],
  'purge-archives': () => [
    { id: 'list', title: 'List the old segments', detail: 'list WAL segments in /var/lib/wal-archive older than the newest base backup', rollback: null, irreversible: false },
    { id: 'delete', title: 'Delete them', detail: 'rm the listed segments', rollback: null, irreversible: true },
  ],
  backup: () => [
    { id: 'check', title: 'Check the backup directory', detail: 'check /var/backups/postgres is a writable directory', rollback: null, irreversible: false },
    { id: 'dump', title: 'Dump the database', detail: 'pg_dump -Fc -f /var/backups/postgres/appdb-20250115-103000.dump appdb', rollback: 'rm -f /var/backups/postgres/appdb-20250115-103000.dump', irreversible: false },
    { id: 'checksum', title: 'Write the checksum', detail: 'sha256sum appdb-20250115-103000.dump > appdb-20250115-103000.dump.sha256', rollback: 'rm -f /var/backups/postgres/appdb-20250115-103000.dump.sha256', irreversible: false },
    { id: 'verify', title: 'Verify the archive', detail: 'pg_restore --list /var/backups/postgres/appdb-20250115-103000.dump', rollback: null, irreversible: false },
  ],
};

// ---------------------------------------------------------------- runner
export interface FakeRunner extends RunnerLike {
  cancel: ReturnType<typeof vi.fn> & (() => void);
  rollback: ReturnType<typeof vi.fn> & RunnerLike['rollback'];
  end: ReturnType<typeof vi.fn> & RunnerLike['end'];
  /** pushes output lines and notifies (wrap in act) */
  push(lines: string[]): void;
  /** changes one step and notifies */
  setStep(i: number, patch: Partial<StepState>): void;
  setPhase(phase: RunState['phase'], outcome?: Outcome | null): void;
  notify(): void;
  listenerCount(): number;
  /** settles the pending rollback() call */
  finishRollback(): void;
}

export function fakeRunner(task: TaskDef, runId: string, plan: PlanStep[]): FakeRunner {
  const listeners = new Set<() => void>();
  const state: RunState = initialRunState(task, runId, 2000);
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  let settle: (() => void) | null = null;
  const runner: FakeRunner = {
    state,
    subscribe(fn) {
      listeners.add(fn);
      return () => {
        listeners.delete(fn);
      };
    },
    cancel: vi.fn(() => {
      state.output.push('· cancel requested');
      notify();
    }),
    rollbackPlan(): RollbackItem[] {
      const out: RollbackItem[] = [];
      for (let i = state.steps.length - 1; i >= 0; i--) {
        const st = state.steps[i];
        const p = plan.find((x) => x.id === st.id);
        if (st.status === 'ok' && st.hasRollback && st.rollback !== 'done') out.push({ step: st.id, index: i, title: st.title, detail: p?.rollback ?? '?' });
      }
      return out;
    },
    rollback: vi.fn((ids: readonly string[]) => {
      state.phase = 'rolling back';
      notify();
      return new Promise<{ step: string; ok: boolean }[]>((resolve) => {
        settle = () => {
          for (const id of ids) {
            const st = state.steps.find((s) => s.id === id);
            if (st) st.rollback = 'done';
          }
          state.phase = 'stopped';
          notify();
          resolve(ids.map((step) => ({ step, ok: true })));
        };
      });
    }) as FakeRunner['rollback'],
    end: vi.fn((outcome?: Outcome) => {
      const undone = state.steps.some((s) => s.rollback === 'done');
      state.outcome = outcome ?? (undone && runner.rollbackPlan().length === 0 ? 'rolled back' : (state.outcome ?? 'failed'));
      state.phase = 'done';
      notify();
    }) as FakeRunner['end'],
    push(lines) {
      for (const l of lines) state.output.push(l);
      notify();
    },
    setStep(i, patch) {
      Object.assign(state.steps[i], patch);
      notify();
    },
    setPhase(phase, outcome) {
      state.phase = phase;
      if (outcome !== undefined) state.outcome = outcome;
      if (phase !== 'running' && phase !== 'rolling back') state.current = null;
      notify();
    },
    notify,
    listenerCount: () => listeners.size,
    finishRollback() {
      settle?.();
    },
  };
  return runner;
}

export interface FakeHandle extends RunHandleLike {
  runner: FakeRunner;
  close: ReturnType<typeof vi.fn> & (() => Promise<void>);
}

function handleFor(task: TaskDef, runId: string, params: Record<string, unknown>): FakeHandle {
  const runner = fakeRunner(task, runId, PLANS[task.id](params));
  return { runId, task, runner, close: vi.fn(async () => undefined) as FakeHandle['close'] };
}

// ---------------------------------------------------------------- history
const OPERATOR = { user: 'alice', sudoUser: null, sshClient: '10.0.0.5', tty: '/dev/pts/3', host: 'db-maint-01', pid: 4321 };

function summary(run: string, task: TaskDef, outcome: RunSummary['outcome'], startedAt: string, stepStatus: ('ok' | 'failed' | 'pending' | 'started')[], pending: number): RunSummary {
  return {
    run,
    task: task.id,
    title: task.title,
    risk: task.risk,
    target: 'postgres://app:***@127.0.0.1:5432/appdb',
    operator: OPERATOR,
    startedAt,
    endedAt: outcome === 'interrupted' || outcome === 'unfinished' ? null : startedAt.replace(':00.000Z', ':42.000Z'),
    outcome,
    dryRun: false,
    steps: task.steps.map((s, i) => ({
      id: s.id,
      title: s.title,
      status: stepStatus[i] ?? 'pending',
      rolledBack: false,
      rollback: s.rollback ? 'rm …' : null,
      irreversible: !!s.irreversible,
      rollbackStatus: 'none',
      attempts: stepStatus[i] && stepStatus[i] !== 'pending' ? 1 : 0,
      durationMs: 1000,
      exitCode: 0,
    })),
    pendingRollbacks: pending,
    notes: [],
  };
}

const task = (id: string) => TASKS.find((t) => t.id === id)!;

export const RUNS: RunSummary[] = [
  summary('20250115-101500-backup-ab12', task('backup'), 'interrupted', '2025-01-15T10:15:00.000Z', ['ok', 'ok', 'ok', 'started'], 2),
  summary('20250114-220000-vacuum-analyze-cd34', task('vacuum-analyze'), 'succeeded', '2025-01-14T22:00:00.000Z', ['ok', 'ok'], 0),
  summary('20250113-090000-set-setting-ef56', task('set-setting'), 'failed', '2025-01-13T09:00:00.000Z', ['ok', 'ok', 'failed'], 1),
];

export const LOGS: Record<string, string> = {
  '20250114-220000-vacuum-analyze-cd34': Array.from({ length: 60 }, (_, i) => `2025-01-14T22:00:${String(i).padStart(2, '0')}Z out log line ${i + 1}`).join('\n') + '\n',
};

// ---------------------------------------------------------------- service
export interface FakeService extends TaskServiceLike {
  start: ReturnType<typeof vi.fn> & TaskServiceLike['start'];
  openForRollback: ReturnType<typeof vi.fn> & TaskServiceLike['openForRollback'];
  hangUp: ReturnType<typeof vi.fn> & TaskServiceLike['hangUp'];
  /** every handle start/openForRollback returned, newest last */
  handles: FakeHandle[];
  last(): FakeHandle;
}

export function fakeService(
  over: { hangUp?: () => Promise<void>; tasks?: TaskDef[]; errors?: string[]; preview?: TaskServiceLike['preview']; paramDefaults?: TaskServiceLike['paramDefaults']; choices?: TaskServiceLike['choices'] } = {},
): FakeService {
  const tasks = over.tasks ?? TASKS;
  const handles: FakeHandle[] = [];
  const find = (id: string) => {
    const t = tasks.find((x) => x.id === id);
    if (!t) throw new Error(`unknown task "${id}"`);
    return t;
  };
  return {
    targetDisplay: 'postgres://app:***@127.0.0.1:5432/appdb',
    databaseName: 'appdb',
    tasks: () => ({ tasks, errors: over.errors ?? [] }),
    plan(taskId, params) {
      const t = find(taskId);
      return PLANS[t.id](parseParams(t, params));
    },
    start: vi.fn(async (taskId: string, params: Record<string, unknown>) => {
      const t = find(taskId);
      const h = handleFor(t, `20250115-103000-${t.id}-0001`, parseParams(t, params));
      h.runner.state.phase = 'running';
      h.runner.state.current = 0;
      h.runner.state.steps[0].status = 'running';
      h.runner.state.steps[0].startedAt = Date.now();
      handles.push(h);
      return h;
    }) as FakeService['start'],
    openForRollback: vi.fn(async (runId: string) => {
      const s = RUNS.find((r) => r.run === runId);
      if (!s) throw new Error(`run ${runId} is not in the journal`);
      const t = find(s.task);
      const h = handleFor(t, runId, {});
      s.steps.forEach((x, i) => {
        const st = h.runner.state.steps[i];
        st.status = x.status === 'started' ? 'running' : x.status === 'pending' ? 'pending' : (x.status as StepState['status']);
      });
      h.runner.state.phase = 'stopped';
      h.runner.state.outcome = s.outcome === 'unfinished' || s.outcome === 'refused' ? null : s.outcome;
      handles.push(h);
      return h;
    }) as FakeService['openForRollback'],
    history: () => RUNS,
    needingAttention: () => RUNS.filter((r) => r.pendingRollbacks > 0 || r.outcome === 'interrupted' || r.outcome === 'unfinished'),
    hangUp: vi.fn(over.hangUp ?? (async () => undefined)) as FakeService['hangUp'],
    log: (runId) => LOGS[runId] ?? null,
    ...(over.preview ? { preview: over.preview } : {}),
    ...(over.paramDefaults ? { paramDefaults: over.paramDefaults } : {}),
    ...(over.choices ? { choices: over.choices } : {}),
    handles,
    last: () => handles[handles.length - 1],
  };
}
