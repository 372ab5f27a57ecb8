// The sessions view's model, pure: the rows of src/sessions/sql.ts, the lock tree, sorting,
// filtering and the counts. No I/O, no terminal: the console's sessions view and the headless
// `ops sessions` / `ops locks` (src/cli/sessions.ts) share it. (About 430 lines: kept as one
// module so that the screens take their values from one listed pure module, and the tree, the
// sort and the counts read one row type.)
//
// The lock tree: an edge runs from a blocker to each session it blocks (pg_blocking_pids). A root
// blocker blocks others and is not itself blocked; its subtree holds every session waiting on it,
// to any depth. A cycle (a deadlock the server has not broken yet, caught between two checks of
// the deadlock detector) has no such root: of the sessions left, the one holding up the most
// becomes a root, the lowest pid on a tie, and is marked `cycle`. A session blocked by several
// blockers appears under each of them; its own subtree is written out the first time only (in
// the tree's order), and later as a leaf marked `repeated`. `heldUp` counts distinct sessions.
import { UserError } from '../errors';
import { sanitizeLine } from '../util/sanitize';

/** One lock a session holds (granted) or waits for, from pg_locks. */
export interface SessionLock {
  /** relation, tuple, transactionid, virtualxid, advisory, ... */
  locktype: string;
  /** AccessShareLock, RowExclusiveLock, ExclusiveLock, ... */
  mode: string;
  granted: boolean;
  /** the database of the locked object; null for shared catalogs and non-database objects */
  database: string | null;
  /** the relation by name (regclass), when it is in the database read from or a shared catalog */
  relation: string | null;
  /**
   * what else names the object: the advisory key (`1`, or `classid,objid` for the two-key
   * form), the transaction id, the virtual xid, `page,tuple`, a relation's oid elsewhere
   */
  object: string | null;
}

/** One client session of the cluster, as read by SESSIONS_SQL. Times are ISO 8601 UTC. */
export interface SessionRow {
  pid: number;
  /** UTC, microseconds kept: with the pid, the session's identity (sessionKey) */
  backendStart: string;
  database: string | null;
  user: string | null;
  /** application_name; '' when unset */
  application: string;
  /** the client as shown: its host name (log_hostname), else its address, else 'local' (Unix socket) */
  client: string;
  clientAddr: string | null;
  clientHostname: string | null;
  /** null for a Unix socket (the server says -1) */
  clientPort: number | null;
  /** active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled; null if unknown */
  state: string | null;
  waitEventType: string | null;
  waitEvent: string | null;
  /** age(backend_xmin) in transactions; null when it holds no snapshot */
  xminAge: number | null;
  xactStart: string | null;
  queryStart: string | null;
  stateChange: string | null;
  /** now - query_start, seconds (the last query's when idle) */
  querySec: number | null;
  /** now - xact_start, seconds; null outside a transaction */
  xactSec: number | null;
  /** now - backend_start, seconds */
  backendSec: number;
  /** the query text as the server keeps it (at most QUERY_TEXT_CAP), raw: sanitize where shown */
  query: string;
  /**
   * the pids holding or ahead in the queue for the lock it waits for (pg_blocking_pids, each
   * once); 0 stands for a prepared transaction; empty when not waiting on a lock
   */
  blockedBy: number[];
  /** seconds waiting on the lock (pg_locks.waitstart from PG 14, else since state_change); null when not waiting */
  lockWaitSec: number | null;
  locks: SessionLock[];
  /** the console's own: application_name 'ops-console' or 'ops-console: …' (src/pg/own.ts), or the backend that read the list */
  own: boolean;
  /** the backend that read the list */
  self: boolean;
}

/** One node of the lock tree. */
export interface LockNode {
  pid: number;
  /** null for a blocker that is not a client session: autovacuum, another background process, a prepared transaction (pid 0) */
  session: SessionRow | null;
  /** seconds this session has waited on its lock; null for a root that waits on nothing */
  waitSec: number | null;
  /** distinct sessions it holds up, directly or through others */
  heldUp: number;
  /** the sessions waiting on it, longest wait first; empty on a `repeated` leaf */
  children: LockNode[];
  /** a root chosen in a cycle: it is itself blocked by a session beneath it */
  cycle?: true;
  /** written out in full earlier in the tree: its subtree is there */
  repeated?: true;
}

/** The identity of a session: its pid and backend start (a pid alone can be reused). */
export function sessionKey(row: Pick<SessionRow, 'pid' | 'backendStart'>): string {
  return `${row.pid}@${row.backendStart}`;
}

// ---------------------------------------------------------------- the lock tree

interface Graph {
  byPid: Map<number, SessionRow>;
  /** blocker -> the sessions it blocks, ascending */
  blocks: Map<number, number[]>;
  /** every pid that blocks or is blocked */
  involved: Set<number>;
}

function graphOf(rows: readonly SessionRow[]): Graph {
  const byPid = new Map<number, SessionRow>();
  for (const r of rows) byPid.set(r.pid, r);
  const blocks = new Map<number, Set<number>>();
  const involved = new Set<number>();
  for (const r of rows) {
    for (const b of r.blockedBy) {
      if (b === r.pid) continue;
      let set = blocks.get(b);
      if (!set) blocks.set(b, (set = new Set()));
      set.add(r.pid);
      involved.add(b);
      involved.add(r.pid);
    }
  }
  const sorted = new Map<number, number[]>();
  for (const [b, set] of blocks) sorted.set(b, [...set].sort((x, y) => x - y));
  return { byPid, blocks: sorted, involved };
}

/** The other sessions a pid holds up, directly or not. */
function reachOf(g: Graph, pid: number): Set<number> {
  const seen = new Set<number>([pid]);
  const stack = [...(g.blocks.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    for (const q of g.blocks.get(p) ?? []) if (!seen.has(q)) stack.push(q);
  }
  seen.delete(pid);
  return seen;
}

const isBlocked = (g: Graph, pid: number) => (g.byPid.get(pid)?.blockedBy.some((b) => b !== pid) ?? false);

/** The roots in the tree's order, each with what it holds up, and whether it was chosen in a cycle. */
function rootsOf(g: Graph, reach: (pid: number) => Set<number>): { pid: number; cycle: boolean }[] {
  const byHeldUp = (a: number, b: number) => reach(b).size - reach(a).size || a - b;
  const roots = [...g.involved].filter((p) => g.blocks.has(p) && !isBlocked(g, p)).sort(byHeldUp);
  const out = roots.map((pid) => ({ pid, cycle: false }));
  const covered = new Set<number>();
  for (const r of roots) {
    covered.add(r);
    for (const p of reach(r)) covered.add(p);
  }
  // what is left is in a cycle, or held up by one: its member holding up the most leads
  for (;;) {
    const left = [...g.involved].filter((p) => !covered.has(p) && g.blocks.has(p));
    if (!left.length) break;
    const pid = left.sort(byHeldUp)[0];
    out.push({ pid, cycle: true });
    covered.add(pid);
    for (const p of reach(pid)) covered.add(p);
  }
  return out;
}

function memo(g: Graph): (pid: number) => Set<number> {
  const cache = new Map<number, Set<number>>();
  return (pid) => {
    let r = cache.get(pid);
    if (!r) cache.set(pid, (r = reachOf(g, pid)));
    return r;
  };
}

/**
 * The lock tree: the root blockers, most sessions held up first (then the lowest pid), each with
 * the sessions waiting on it beneath, longest wait first, to any depth. Sessions not in a lock
 * wait are not in it.
 */
export function lockTree(rows: readonly SessionRow[]): LockNode[] {
  const g = graphOf(rows);
  const reach = memo(g);
  const written = new Set<number>();
  const node = (pid: number, path: Set<number>): LockNode => {
    const session = g.byPid.get(pid) ?? null;
    const n: LockNode = { pid, session, waitSec: session?.lockWaitSec ?? null, heldUp: reach(pid).size, children: [] };
    if (written.has(pid)) return { ...n, repeated: true };
    written.add(pid);
    const kids = (g.blocks.get(pid) ?? []).filter((k) => !path.has(k));
    const wait = (p: number) => g.byPid.get(p)?.lockWaitSec ?? -1;
    kids.sort((a, b) => wait(b) - wait(a) || a - b);
    path.add(pid);
    n.children = kids.map((k) => node(k, path));
    path.delete(pid);
    return n;
  };
  return rootsOf(g, reach).map(({ pid, cycle }) => {
    const n = node(pid, new Set());
    return cycle ? { ...n, cycle: true } : n;
  });
}

/**
 * The root blockers holding up a session, as lockTree chose them: the roots whose subtree has it.
 * Empty when it waits on no one. A cycle's chosen root is its own root blocker: that is the one
 * session to end to break the cycle.
 */
export function rootBlockersOf(rows: readonly SessionRow[], pid: number): LockNode[] {
  const g = graphOf(rows);
  if (!isBlocked(g, pid)) return [];
  const tree = lockTree(rows);
  const reach = memo(g);
  return tree.filter((n) => n.pid === pid || reach(n.pid).has(pid));
}

/** Every node of a tree, depth first, with its depth (0 for a root): for an indented listing. */
export function flattenTree(tree: readonly LockNode[]): { node: LockNode; depth: number }[] {
  const out: { node: LockNode; depth: number }[] = [];
  const walk = (n: LockNode, depth: number) => {
    out.push({ node: n, depth });
    for (const c of n.children) walk(c, depth + 1);
  };
  for (const n of tree) walk(n, 0);
  return out;
}

// ---------------------------------------------------------------- sorting

/** The columns a list sorts by. `duration` is the one DurationKind says. */
export const SORT_KEYS = [
  'pid',
  'database',
  'user',
  'application',
  'client',
  'state',
  'wait',
  'duration',
  'query',
  'querySec',
  'xactSec',
  'backendSec',
  'lockWaitSec',
  'xminAge',
  'blocking',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

/** Which duration the list shows (pg_activity's switch): the query's, the transaction's, the backend's. */
export const DURATION_KINDS = ['query', 'transaction', 'backend'] as const;
export type DurationKind = (typeof DURATION_KINDS)[number];

export function durationOf(row: SessionRow, kind: DurationKind): number | null {
  return kind === 'query' ? row.querySec : kind === 'transaction' ? row.xactSec : row.backendSec;
}

/** The wait event as shown: `Lock:transactionid`, `Client:ClientRead`; null when not waiting. */
export function waitText(row: Pick<SessionRow, 'waitEventType' | 'waitEvent'>): string | null {
  if (!row.waitEventType && !row.waitEvent) return null;
  return [row.waitEventType, row.waitEvent].filter(Boolean).join(':');
}

type SortValue = string | number | null;

function valueOf(row: SessionRow, key: SortKey, duration: DurationKind, blocking: (pid: number) => number): SortValue {
  switch (key) {
    case 'pid':
      return row.pid;
    case 'database':
      return row.database;
    case 'user':
      return row.user;
    case 'application':
      return row.application || null;
    case 'client':
      return row.client;
    case 'state':
      return row.state;
    case 'wait':
      return waitText(row);
    case 'duration':
      return durationOf(row, duration);
    case 'query':
      return row.query || null;
    case 'querySec':
      return row.querySec;
    case 'xactSec':
      return row.xactSec;
    case 'backendSec':
      return row.backendSec;
    case 'lockWaitSec':
      return row.lockWaitSec;
    case 'xminAge':
      return row.xminAge;
    case 'blocking':
      return blocking(row.pid);
  }
}

// made on the first sort by text: ICU's collation data is some 2 MB of RSS the dashboard, which
// never sorts sessions by text, would otherwise carry (issue 14)
let collator: Intl.Collator | null = null;
const compareText = (a: string, b: string) => (collator ??= new Intl.Collator('en', { sensitivity: 'base', numeric: true })).compare(a, b);

/**
 * The rows sorted by one column, a new array. Missing values (no transaction, no wait) go last
 * whichever the direction; ties keep the pid order, then the backend start, so a refresh that
 * changes nothing moves nothing. `blocking` sorts by the sessions each holds up (lockTree's heldUp).
 */
export function sortSessions(rows: readonly SessionRow[], key: SortKey, dir: SortDir = 'asc', opts: { duration?: DurationKind } = {}): SessionRow[] {
  const duration = opts.duration ?? 'query';
  let blocking: (pid: number) => number = () => 0;
  if (key === 'blocking') {
    const g = graphOf(rows);
    const reach = memo(g);
    blocking = (pid) => (g.blocks.has(pid) ? reach(pid).size : 0);
  }
  const sign = dir === 'desc' ? -1 : 1;
  const keyed = rows.map((row) => ({ row, v: valueOf(row, key, duration, blocking) }));
  keyed.sort((a, b) => {
    if (a.v !== b.v) {
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : compareText(String(a.v), String(b.v));
      if (c !== 0) return sign * c;
    }
    return a.row.pid - b.row.pid || (a.row.backendStart < b.row.backendStart ? -1 : a.row.backendStart > b.row.backendStart ? 1 : 0);
  });
  return keyed.map((k) => k.row);
}

// ---------------------------------------------------------------- filtering

export const QUICK_FILTERS = ['active', 'idle-in-transaction', 'waiting'] as const;
export type QuickFilter = (typeof QUICK_FILTERS)[number];

export interface SessionFilter {
  /** a regular expression (case-insensitive) over the database, user, application and query */
  regex?: string;
  /** the state as pg_stat_activity says it; case, '-' and '_' for spaces do not matter ('idle-in-transaction') */
  state?: string;
  /** the database, exactly */
  database?: string;
  /**
   * active: state active; idle-in-transaction: idle in transaction, aborted or not; waiting:
   * waiting on a lock (wait_event_type Lock)
   */
  quick?: QuickFilter;
}

const normState = (s: string) => s.trim().toLowerCase().replace(/[-_]+/g, ' ').replace(/\s+/g, ' ');

export const isIdleInTransaction = (state: string | null | undefined): boolean =>
  state === 'idle in transaction' || state === 'idle in transaction (aborted)';

/**
 * What pg_cancel_backend does to a session in this state: it cancels the query running, so a
 * session that runs none (idle, or idle in a transaction) is left exactly as it was: its
 * transaction stays open with its locks. Null when a cancel acts (active, a fastpath call, or
 * a state not known); else the one line that says so and offers terminate. The cancel task's
 * listing and the console's plan both say it.
 */
export function cancelDoesNothing(state: string | null | undefined): string | null {
  if (isIdleInTransaction(state)) {
    return `it is ${state}: cancelling does nothing (no query runs; its transaction stays open, holding its locks). Terminate it to end the transaction`;
  }
  if (state === 'idle') return 'it is idle: cancelling does nothing (no query runs)';
  return null;
}

/** The regex of a filter, compiled; a UserError naming the problem when it is not one. */
export function filterRegex(source: string): RegExp {
  try {
    return new RegExp(source, 'i');
  } catch (err) {
    const why = String((err as Error).message ?? err).replace(/^Invalid regular expression: /, '');
    throw new UserError(`filter: "${sanitizeLine(source)}" is not a valid regular expression (${sanitizeLine(why)})`);
  }
}

/** The rows the filter keeps, in their order. Throws UserError for a bad regex. */
export function filterSessions(rows: readonly SessionRow[], f: SessionFilter): SessionRow[] {
  const re = f.regex !== undefined && f.regex !== '' ? filterRegex(f.regex) : null;
  const state = f.state !== undefined && f.state.trim() !== '' ? normState(f.state) : null;
  return rows.filter((r) => {
    if (f.database !== undefined && r.database !== f.database) return false;
    if (state !== null && normState(r.state ?? '') !== state) return false;
    if (f.quick === 'active' && r.state !== 'active') return false;
    if (f.quick === 'idle-in-transaction' && !isIdleInTransaction(r.state)) return false;
    if (f.quick === 'waiting' && r.waitEventType !== 'Lock') return false;
    if (re) {
      if (![r.database, r.user, r.application, r.query].some((s) => s != null && s !== '' && re.test(s))) return false;
    }
    return true;
  });
}

// ---------------------------------------------------------------- counts

export interface SessionCounts {
  /** client sessions, the console's own left out */
  total: number;
  /** the console's own sessions (left out of every other figure) */
  own: number;
  byState: Record<string, number>;
  active: number;
  idleInTransaction: number;
  /** waiting on a lock */
  waiting: number;
  /** root blockers (lockTree), the console's own left out */
  rootBlockers: number;
}

export function sessionCounts(rows: readonly SessionRow[]): SessionCounts {
  const out: SessionCounts = { total: 0, own: 0, byState: {}, active: 0, idleInTransaction: 0, waiting: 0, rootBlockers: 0 };
  const own = new Set<number>();
  for (const r of rows) {
    if (r.own || r.self) {
      out.own += 1;
      own.add(r.pid);
      continue;
    }
    out.total += 1;
    const s = r.state ?? 'unknown';
    out.byState[s] = (out.byState[s] ?? 0) + 1;
    if (r.state === 'active') out.active += 1;
    if (isIdleInTransaction(r.state)) out.idleInTransaction += 1;
    if (r.waitEventType === 'Lock') out.waiting += 1;
  }
  out.rootBlockers = lockTree(rows).filter((n) => !own.has(n.pid)).length;
  return out;
}
