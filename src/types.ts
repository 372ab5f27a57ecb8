// The core's shared vocabulary: probe results, health checks and the monitor's state.
// Everything here is plain data (JSON-serialisable), so the CLI, the TUI and tests share it.
import type { FindingObject, PgOutagesResult, VacuumVerdict } from './types-outages';
import type { SessionRow } from './sessions/model';

export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Every probe answers with one of these; a probe never throws. */
export type ProbeResult<T> =
  | { ok: true; data: T; at: number; ms: number }
  | { ok: false; error: string; at: number; ms: number };

// ---------------------------------------------------------------- host
export interface Filesystem {
  mount: string;
  device: string;
  fstype: string;
  sizeBytes: number;
  usedBytes: number;
  availBytes: number;
  /** used / (used + avail), as df computes it, 0..100 */
  usedPct: number;
}

export interface HostData {
  hostname: string;
  cores: number;
  /** 0..100 over the interval since the previous sample; null until two samples exist */
  cpuPct: number | null;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** (total - available) / total, 0..100 */
  memUsedPct: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
  load: [number, number, number];
  uptimeSec: number;
  filesystems: Filesystem[];
  /**
   * Filesystems whose statfs has not returned (a hung network filesystem): left out of
   * `filesystems`, and not asked again until the call returns. Absent when there are none.
   */
  stalledMounts?: { mount: string; device: string; fstype: string; since: number }[];
}

// ---------------------------------------------------------------- postgres
export interface PgSession {
  pid: number;
  user: string | null;
  database: string | null;
  /** client address, or 'local' for a Unix socket */
  client: string;
  application: string | null;
  state: string | null;
  /**
   * seconds, what the list it is in measures: the query's age (now - query_start) for running
   * queries and blocked sessions, the time idle (now - state_change) for idle in transaction,
   * the transaction's age (now - xact_start) for long transactions
   */
  durationSec: number;
  /** seconds since its transaction began (now - xact_start); null outside a transaction */
  xactSec: number | null;
  /** query text, whitespace folded, truncated */
  query: string;
  waitEventType: string | null;
  waitEvent: string | null;
}

export interface PgBlockedSession extends PgSession {
  blockedBy: number[];
  /** seconds this session has been waiting for the lock */
  waitSec: number;
}

export interface PgTable {
  schema: string;
  name: string;
  liveTuples: number;
  deadTuples: number;
  /** dead / (live + dead), 0..100 */
  deadPct: number;
  lastVacuum: string | null;
  lastAutovacuum: string | null;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
}

export interface PgIndex {
  schema: string;
  table: string;
  name: string;
  /** pg_relation_size(), read for the listed indexes only (relpages stays stale until a VACUUM or ANALYZE) */
  sizeBytes: number;
}

export interface PgReplica {
  name: string;
  client: string;
  state: string;
  lagSec: number | null;
}

export interface PgStatement {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
}

export interface PgData {
  version: string;
  versionNum: number;
  uptimeSec: number;
  database: string;
  inRecovery: boolean;
  connections: {
    total: number;
    max: number;
    reservedForSuperuser: number;
    /** client backends by state, the console's own sessions left out */
    byState: Record<string, number>;
    /**
     * the console's own sessions (application_name 'ops-console', and 'ops-console: <task> <run>'
     * of the task runs), counted in `total` (they take connection slots) and nowhere else
     */
    own: number;
  };
  longestQuery: PgSession | null;
  oldestIdleInTransaction: PgSession | null;
  /**
   * Queries running and not waiting on a lock (those are `blocked`), longest first (at most
   * 20). Like idleInTransaction and longTransactions: across the cluster, client backends only,
   * the console's own sessions left out.
   */
  longQueries: PgSession[];
  /** sessions idle in a transaction, longest idle first (at most 20) */
  idleInTransaction: PgSession[];
  /** sessions in a transaction, by state, oldest transaction first (at most 20) */
  longTransactions: PgSession[];
  /**
   * The durations of every session of each list, longest first (at most 1,000), so a rule can
   * count the sessions over its threshold beyond the rows listed.
   */
  sessionAges: { longQueries: number[]; idleInTransaction: number[]; longTransactions: number[] };
  /** sessions waiting on a lock, longest wait first, each with the pids blocking it */
  blocked: PgBlockedSession[];
  cache: {
    /** buffer (heap) cache hit ratio of this database, 0..100; null when no blocks were read yet */
    bufferHitPct: number | null;
    /** index cache hit ratio of this database's user indexes, 0..100; null when unknown */
    indexHitPct: number | null;
  };
  /** tables with the most dead tuples, worst first (at most 10) */
  tables: PgTable[];
  /** non-unique indexes never scanned, largest first by pg_relation_size (at most 10) */
  unusedIndexes: PgIndex[];
  /** transaction ID age per database, oldest first */
  xidAge: { database: string; age: number }[];
  databases: { name: string; sizeBytes: number }[];
  replication: {
    role: 'primary' | 'standby';
    replicas: PgReplica[];
    /** on a standby: seconds since the last replayed transaction */
    standbyLagSec: number | null;
  };
  statements: { available: true; top: PgStatement[] } | { available: false; reason: string };
  /** the checks behind real outages (src/probes/pg-outages.ts); absent where nothing read them */
  outages?: PgOutagesResult;
  /**
   * Every client session of the cluster with its locks (src/sessions/sql.ts), the console's own
   * marked: read in the round only while the monitor is asked for it (Monitor.watchSessions).
   */
  sessions?: SessionRow[];
}

// ---------------------------------------------------------------- endpoints, TLS, backups, redis
export interface HttpData {
  status: number;
  latencyMs: number;
}

export interface TlsData {
  subject: string;
  issuer: string;
  validTo: string;
  daysLeft: number;
}

export interface BackupData {
  dir: string;
  glob: string;
  /** files matching the glob (checksum files and unfinished dumps aside) */
  count: number;
  /** the newest that counts as a backup: not empty, and its .sha256 matches it */
  newest: { file: string; ageSec: number; sizeBytes: number } | null;
  /** files newer than `newest` (all of them when there is none) that do not count, newest first, a few at most */
  skipped?: { file: string; reason: string; pending?: true }[];
  /** how many files newer than `newest` do not count */
  skippedCount?: number;
}

/** What of the task journal its mirror has not got yet (journal.mirror), read from local files only. */
export interface MirrorLagData {
  /** journal events past the cursor of the mirror furthest behind */
  pending: number;
  /** the time of the oldest of them; null when none waits */
  oldestAt: string | null;
  /** the mirror (redacted display); the first that is behind when there are several */
  where: string;
}

export interface RedisData {
  latencyMs: number;
  usedMemoryBytes: number;
  maxMemoryBytes: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  /** hits / (hits + misses), 0..100; null before any lookup */
  hitPct: number | null;
  evictedKeys: number;
  connectedClients: number;
  version: string;
}

export interface Snapshot {
  at: number;
  host: ProbeResult<HostData>;
  /** absent when no PostgreSQL target is configured or the group is not selected */
  postgres?: ProbeResult<PgData>;
  http: { name: string; url: string; result: ProbeResult<HttpData> }[];
  tls: { name: string; host: string; port: number; result: ProbeResult<TlsData> }[];
  backup?: ProbeResult<BackupData>;
  /** the journal's mirror, when journal.mirror is set */
  mirror?: ProbeResult<MirrorLagData>;
  redis?: ProbeResult<RedisData>;
  /**
   * Every client session of the cluster (the sessions view): the last PostgreSQL answer's
   * PgData.sessions, present while the monitor is asked for it (MonitorLike.watchSessions) and
   * that answer carries it. It ages with the PostgreSQL answer (snapshot.postgres.at).
   */
  sessions?: SessionRow[];
}

// ---------------------------------------------------------------- health
export type CheckGroup = 'host' | 'disk' | 'postgres' | 'sessions' | 'tables' | 'http' | 'tls' | 'backup' | 'redis';

export const CHECK_GROUPS: readonly CheckGroup[] = [
  'host',
  'disk',
  'postgres',
  'sessions',
  'tables',
  'http',
  'tls',
  'backup',
  'redis',
];

export interface Check {
  /** stable id, e.g. "pg.connections" or "disk:/var" */
  id: string;
  group: CheckGroup;
  /** short human label, e.g. "connections" */
  label: string;
  status: Status;
  /** one line: what was seen, naming the object at fault */
  summary: string;
  /** the measured figure the thresholds apply to; null when it could not be measured */
  value: number | null;
  unit: string;
  thresholds: { warning: number; critical: number; direction: 'above' | 'below' } | null;
  /** the object at fault or measured: a mount, a pid, schema.table, a URL */
  subject: string | null;
  /** where no built-in task fixes the finding (autovacuum off, the archiver failing): what to look at */
  hint?: string;
  /** the built-in task that fixes the finding the summary leads with, bound to its object */
  fix?: FixRef;
  /**
   * Checks over a list (sessions, tables, indexes): each object with its own verdict, so the
   * screens draw what the rules judged and never judge again (src/health/status.ts rowStatus).
   */
  rows?: CheckRow[];
}

/** A task and its parameters, bound to one object: `ops run TASK --param ...` or the console's `f`. */
export interface FixRef {
  task: string;
  params: Record<string, unknown>;
}

/** One object a check judged: a session, a table, an index. */
export interface CheckRow {
  /** the object, named as Check.subject names it: 'pid 4242', 'public.orders' */
  subject: string;
  status: Status;
  /** the figure judged, in the check's unit */
  value: number | null;
  /** outage checks (src/health/outages.ts): one line naming the object and what is wrong with it */
  text?: string;
  /** the object, with what a task needs to act on it (names, never a row's position) */
  object?: FindingObject;
  /** where no built-in task fixes it: what to look at */
  hint?: string;
  /** the built-in task that fixes this row's finding, bound to its object (src/health/fixes.ts) */
  fix?: FixRef;
  /** a table with many dead rows (pg.xmin_horizon): whether vacuum can remove them now */
  vacuum?: VacuumVerdict;
}

export interface HealthReport {
  at: number;
  status: Status;
  /** share of checks that are OK, 0..100 */
  score: number;
  checks: Check[];
}

// ---------------------------------------------------------------- monitor (what the console shows)
export interface History {
  cpu: number[];
  mem: number[];
  connections: number[];
  cacheHit: number[];
}

export interface MonitorState {
  hostname: string;
  /** the target's name and its URL with any password redacted */
  target: { name: string; display: string } | null;
  refreshMs: number;
  paused: boolean;
  /** a round is in flight */
  busy: boolean;
  snapshot: Snapshot | null;
  report: HealthReport | null;
  history: History;
  /** when the PostgreSQL probe is failing: the next reconnect attempt, epoch ms */
  pgRetryAt: number | null;
  /** a label shown in the header, e.g. "DRILL"; null normally */
  badge: string | null;
  /** something the operator must know at start, e.g. an interrupted run to roll back */
  notice: string | null;
  /**
   * The sources asked and not answered yet. Each source publishes when it answers, so a hung
   * database leaves the host and disk figures on the refresh interval; its own panel keeps its
   * last answer (stale, with its age) and says what it is waiting for. Absent: nothing waited on.
   */
  waiting?: SourceWait[];
}

/** A probe source: run on its own, never started again while its last probe is unanswered. */
export type SourceKind = 'host' | 'postgres' | 'http' | 'tls' | 'backup' | 'mirror' | 'redis';

export interface SourceWait {
  /** 'host', 'postgres', 'backup', 'redis', or 'http:NAME' / 'tls:NAME' */
  id: string;
  kind: SourceKind;
  /** what messages call it: "PostgreSQL", "the host", "http endpoint api" */
  label: string;
  /** when the unanswered probe was started, epoch ms */
  since: number;
  /** when it is given up on (epoch ms): past it the source's checks are UNKNOWN, with the reason */
  deadline: number;
  /** the deadline has passed with no answer */
  overdue: boolean;
  /** when its last answer came, epoch ms; null: it never answered */
  lastAnswerAt: number | null;
}

/** What the screens consume. The real implementation is src/monitor.ts; tests use fixed data. */
export interface MonitorLike {
  getState(): MonitorState;
  subscribe(listener: () => void): () => void;
  start(): void;
  stop(): Promise<void>;
  togglePause(): void;
  refreshNow(): void;
  /**
   * Asks for every client session in each round (Snapshot.sessions) while `on`, in the
   * PostgreSQL probe's one batch; turning it on starts a round now unless paused. Optional:
   * fixed-data monitors in tests need not have it.
   */
  watchSessions?(on: boolean): void;
}
