// Fixed data for the sessions view's screen tests: session rows (a lock chain A > B > C, an idle
// in transaction holder, the console's own), a monitor serving them that records watchSessions
// and really pauses, a task service with cancel-query and terminate-sessions taking
// sessions=PID@BACKENDSTART, and the console rendered inside act() with a clipboard spy.
import { render } from 'ink-testing-library';
import { act } from 'react';
import { vi } from 'vitest';
import * as z from 'zod';
import { App, type AppProps } from '../../screens/App';
import type { ClipboardLike } from '../../screens/sessions/clipboard';
import type { SessionRow } from '../../src/sessions/model';
import type { TaskDef } from '../../src/tasks/model';
import type { PlanStep, TaskServiceLike } from '../../src/tasks/service';
import type { MonitorLike, MonitorState } from '../../src/types';
import { fakeRunner, type FakeHandle } from '../support/fake-tasks';
import { healthyState } from '../support/fixtures';
import { stripAnsi } from './render';

export function row(pid: number, over: Partial<SessionRow> = {}): SessionRow {
  return {
    pid,
    backendStart: `2025-01-15T09:${String(pid % 60).padStart(2, '0')}:00.${String(pid).padStart(6, '0')}Z`,
    database: 'app',
    user: 'alice',
    application: 'web',
    client: '10.0.0.1',
    clientAddr: '10.0.0.1',
    clientHostname: null,
    clientPort: 50000 + (pid % 10000),
    state: 'active',
    waitEventType: null,
    waitEvent: null,
    xminAge: null,
    xactStart: '2025-01-15T10:29:00.000Z',
    queryStart: '2025-01-15T10:29:30.000Z',
    stateChange: '2025-01-15T10:29:30.000Z',
    querySec: 30,
    xactSec: 60,
    backendSec: 3600,
    query: `SELECT ${pid}`,
    blockedBy: [],
    lockWaitSec: null,
    locks: [],
    own: false,
    self: false,
    ...over,
  };
}

/** A blocks B blocks C (advisory locks), an idle in transaction session, two plain ones and the console's own. */
export function chainRows(): SessionRow[] {
  return [
    row(101, {
      user: 'alice',
      state: 'idle in transaction',
      querySec: 400,
      xactSec: 420,
      query: 'SELECT pg_advisory_xact_lock(1)',
      locks: [{ locktype: 'advisory', mode: 'ExclusiveLock', granted: true, database: 'app', relation: null, object: '1' }],
    }),
    row(202, {
      user: 'bob',
      application: 'batch',
      waitEventType: 'Lock',
      waitEvent: 'advisory',
      querySec: 300,
      xactSec: 310,
      blockedBy: [101],
      lockWaitSec: 300,
      query: 'SELECT pg_advisory_xact_lock(1), pg_advisory_xact_lock(2)',
      locks: [
        { locktype: 'advisory', mode: 'ExclusiveLock', granted: true, database: 'app', relation: null, object: '2' },
        { locktype: 'advisory', mode: 'ExclusiveLock', granted: false, database: 'app', relation: null, object: '1' },
      ],
    }),
    row(303, {
      user: 'carol',
      database: 'reports',
      waitEventType: 'Lock',
      waitEvent: 'advisory',
      querySec: 200,
      xactSec: 205,
      blockedBy: [202],
      lockWaitSec: 200,
      query: 'SELECT pg_advisory_xact_lock(2)',
      locks: [{ locktype: 'advisory', mode: 'ExclusiveLock', granted: false, database: 'reports', relation: null, object: '2' }],
    }),
    row(404, { user: 'dave', state: 'idle', querySec: 5, xactSec: null, xactStart: null, query: 'COMMIT' }),
    row(505, {
      user: 'erin',
      application: 'psql',
      querySec: 12,
      query: 'UPDATE accounts SET balance = balance - 1 WHERE id = 7',
      locks: [{ locktype: 'relation', mode: 'RowExclusiveLock', granted: true, database: 'app', relation: 'public.accounts', object: null }],
    }),
    row(606, { user: 'ops', application: 'ops-console', querySec: 0, own: true, self: true, query: 'SELECT … FROM pg_stat_activity' }),
  ];
}

export function sessionsState(rows: SessionRow[], over: Partial<MonitorState> = {}): MonitorState {
  const base = healthyState();
  return { ...base, snapshot: { ...base.snapshot!, sessions: rows }, ...over };
}

export interface SessionsMonitor extends MonitorLike {
  watchSessions: ReturnType<typeof vi.fn> & ((on: boolean) => void);
  togglePause: ReturnType<typeof vi.fn> & (() => void);
  /** replaces the state and notifies (wrap in act) */
  set(state: MonitorState): void;
  /** replaces the sessions only */
  setRows(rows: SessionRow[]): void;
}

/** A monitor of fixed states whose pause is real (the header says PAUSED) and whose watchSessions is recorded. */
export function sessionsMonitor(initial: MonitorState): SessionsMonitor {
  let state = initial;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const m: SessionsMonitor = {
    getState: () => state,
    subscribe(l) {
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
    start() {},
    async stop() {},
    togglePause: vi.fn(() => {
      state = { ...state, paused: !state.paused };
      notify();
    }) as SessionsMonitor['togglePause'],
    refreshNow() {},
    watchSessions: vi.fn() as SessionsMonitor['watchSessions'],
    set(next) {
      state = next;
      notify();
    },
    setRows(rows) {
      state = { ...state, snapshot: { ...state.snapshot!, sessions: rows } };
      notify();
    },
  };
  return m;
}

// ---------------------------------------------------------------- the tasks
const sessionsParams = z
  .object({ sessions: z.array(z.string()).optional(), pids: z.array(z.number()).optional() })
  .strict() as unknown as TaskDef['params'];

const sessionTask = (id: string, title: string, risk: TaskDef['risk']): TaskDef => ({
  id,
  title,
  description: `${title}: lists the sessions first, then signals each, bound to its pid and backend start.`,
  risk,
  params: sessionsParams,
  steps: [
    { id: 'list', title: 'List the sessions', action: () => ({ kind: 'sql', text: 'SELECT 1' }) },
    { id: 'signal', title: 'Signal them', action: () => ({ kind: 'sql', text: 'SELECT 1' }), irreversible: true },
  ],
});

export const CANCEL = sessionTask('cancel-query', 'Cancel running queries (pg_cancel_backend)', 'medium');
export const TERMINATE = sessionTask('terminate-sessions', 'Terminate sessions (pg_terminate_backend)', 'high');

const planOf = (task: TaskDef, p: Record<string, unknown>): PlanStep[] => {
  const refs = ((p.sessions as string[] | undefined) ?? (p.pids as number[] | undefined)?.map(String) ?? []).join(', ');
  const fn = task.id === 'cancel-query' ? 'pg_cancel_backend' : 'pg_terminate_backend';
  return [
    { id: 'list', title: 'List the sessions', detail: `list the sessions ${refs} from pg_stat_activity`, rollback: null, irreversible: false },
    { id: 'signal', title: 'Signal them', detail: `${fn}(pid) for each of ${refs}, re-checked by backend start`, rollback: null, irreversible: true },
  ];
};

export interface SessionsService extends TaskServiceLike {
  start: ReturnType<typeof vi.fn> & TaskServiceLike['start'];
  handles: FakeHandle[];
}

export function sessionsService(): SessionsService {
  const tasks = [CANCEL, TERMINATE];
  const handles: FakeHandle[] = [];
  const find = (id: string) => {
    const t = tasks.find((x) => x.id === id);
    if (!t) throw new Error(`unknown task "${id}"`);
    return t;
  };
  return {
    targetDisplay: 'postgres://app:***@127.0.0.1:5432/app',
    databaseName: 'app',
    tasks: () => ({ tasks, errors: [] }),
    plan: (id, p) => planOf(find(id), p),
    start: vi.fn(async (id: string, p: Record<string, unknown>) => {
      const t = find(id);
      const runner = fakeRunner(t, `20250115-103000-${id}-0001`, planOf(t, p));
      runner.state.phase = 'running';
      const h: FakeHandle = { runId: runner.state.runId, task: t, runner, close: vi.fn(async () => undefined) as FakeHandle['close'] };
      handles.push(h);
      return h;
    }) as SessionsService['start'],
    openForRollback: async () => {
      throw new Error('no rollback here');
    },
    history: () => [],
    needingAttention: () => [],
    hangUp: async () => undefined,
    log: () => null,
    handles,
  };
}

// ---------------------------------------------------------------- rendering
export interface SessionsRendered {
  monitor: SessionsMonitor;
  clipboard: { copy: ReturnType<typeof vi.fn> & ClipboardLike['copy'] };
  frame(): string;
  lines(): string[];
  press(chunk: string): Promise<void>;
  /** inside act: the monitor publishes these rows */
  refresh(rows: SessionRow[]): Promise<void>;
  unmount(): void;
}

export async function renderSessions(state: MonitorState, props: Partial<Omit<AppProps, 'monitor' | 'onQuit'>> = {}): Promise<SessionsRendered> {
  const monitor = sessionsMonitor(state);
  const clipboard = { copy: vi.fn(() => true) as ReturnType<typeof vi.fn> & ClipboardLike['copy'] };
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(<App monitor={monitor} onQuit={vi.fn()} columns={120} rows={35} redrawMs={0} tickMs={0} clipboard={clipboard} {...props} />);
  });
  const frame = () => stripAnsi(r.lastFrame() ?? '');
  return {
    monitor,
    clipboard,
    frame,
    lines: () => frame().split('\n'),
    press: async (chunk) => {
      await act(async () => {
        r.stdin.write(chunk);
      });
    },
    refresh: async (rows) => {
      await act(async () => {
        monitor.setRows(rows);
      });
    },
    unmount: () => r.unmount(),
  };
}
