// Data of the checks behind real outages (issue 10, section 2): what src/probes/pg-outages.ts
// reads, src/health/outages.ts judges and the dashboard draws. Plain, JSON-serialisable data.

// ---------------------------------------------------------------- judged rows (CheckRow's object)
/**
 * The object a finding is about, with what a task needs to act on it (section 3 binds a fix to
 * it): names, never row positions.
 */
export type FindingObject =
  | { kind: 'table'; schema: string; table: string }
  | { kind: 'index'; schema: string; table: string; index: string }
  | { kind: 'session'; pid: number; backendStart: string | null; database: string | null; user: string | null }
  | { kind: 'slot'; slot: string; slotType: string; database: string | null }
  | { kind: 'prepared'; gid: string; database: string; owner: string }
  | { kind: 'standby'; pid: number; application: string; client: string }
  | { kind: 'sequence'; schema: string; sequence: string; column: { schema: string; table: string; column: string; type: string } | null }
  | { kind: 'database'; database: string }
  | { kind: 'setting'; name: string }
  | { kind: 'archiver'; wal: string | null };

export interface VacuumVerdict {
  /** 'now': nothing older holds the horizon; 'held': the holder began before the last vacuum (or the horizon is old); 'partly': rows deleted after the holder began stay */
  removable: 'now' | 'held' | 'partly';
  /** the holder, as its finding names it ("pid 4242 (idle in transaction 12m03s)"); null when removable now */
  heldBy: string | null;
}

// ---------------------------------------------------------------- probe data
export interface PgOutageAccess {
  superuser: boolean;
  /** pg_read_all_stats (in pg_monitor): other roles' sessions, walsenders and progress rows */
  readAllStats: boolean;
  /** pg_read_all_settings (in pg_monitor): data_directory, so pg_wal's filesystem */
  readAllSettings: boolean;
  /** EXECUTE on pg_ls_archive_statusdir() (pg_monitor): the WAL files waiting, counted */
  listArchiveStatus: boolean;
}

export interface PgSlot {
  name: string;
  /** physical or logical */
  type: string;
  database: string | null;
  active: boolean;
  activePid: number | null;
  temporary: boolean;
  /** bytes of WAL kept for it (current or received LSN minus restart_lsn); null when it reserves none */
  retainedBytes: number | null;
  /** PG 13+: reserved, extended, unreserved or lost; null before 13 */
  walStatus: string | null;
  /** PG 13+: bytes that can still be written before it is lost (max_slot_wal_keep_size); null when unlimited */
  safeWalBytes: number | null;
  /** PG 17+: seconds since it became inactive; null before 17 or while active */
  inactiveSec: number | null;
  /** PG 17+: why it was invalidated */
  invalidationReason: string | null;
  /** age in transactions of the xmin it holds (a physical slot with hot_standby_feedback) */
  xminAge: number | null;
  /** age of its catalog_xmin (logical slots: holds back vacuum of the system catalogs) */
  catalogXminAge: number | null;
}

export interface PgArchiver {
  /** archive_mode: on, always or off */
  mode: string;
  archivedCount: number;
  lastArchivedWal: string | null;
  /** seconds since the last WAL file was archived; null when none ever was */
  lastArchivedAgeSec: number | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedAgeSec: number | null;
  /** the last failure is newer than the last success */
  failing: boolean;
  /** failures counted since the probe's previous round on this connection; null in its first */
  failuresSinceLastRound: number | null;
  /** WAL files waiting to be archived: counted in archive_status, or estimated from LSNs */
  waitingFiles: number | null;
  waitingCounted: boolean;
  /** seconds since the oldest waiting file became ready (counted only) */
  oldestWaitingAgeSec: number | null;
}

export type XminHolderKind = 'session' | 'prepared' | 'slot' | 'standby';

export interface PgXminHolder {
  kind: XminHolderKind;
  /** age in transactions of the xmin (or xid) it holds */
  age: number;
  /** the database it holds the horizon in; null: every database (a slot, a standby) */
  database: string | null;
  /** a logical slot's catalog_xmin: holds back the system catalogs only */
  catalogOnly: boolean;
  /** seconds it has held (the transaction's age, the prepared transaction's); null when unknown */
  heldSec: number | null;
  pid: number | null;
  backendStart: string | null;
  user: string | null;
  client: string | null;
  application: string | null;
  state: string | null;
  query: string | null;
  /** slot name, prepared transaction gid, standby application name */
  name: string | null;
}

export interface PgPreparedXact {
  gid: string;
  database: string;
  owner: string;
  ageSec: number;
  xidAge: number;
}

export interface PgAutovacuumWorker {
  pid: number;
  database: string | null;
  /** the worker's query text (needs pg_read_all_stats), e.g. "autovacuum: VACUUM public.t (to prevent wraparound)" */
  query: string | null;
  runningSec: number | null;
  /** the table it works on, when it is in the target database and visible */
  schema: string | null;
  table: string | null;
  wraparound: boolean;
}

export interface PgInvalidIndex {
  schema: string;
  table: string;
  name: string;
  /** a leftover of a failed REINDEX CONCURRENTLY: the new copy (_ccnew) or the old one (_ccold) */
  leftover: 'ccnew' | 'ccold' | null;
  /** a partitioned index (not yet valid on every partition) */
  partitioned: boolean;
  /** a CREATE INDEX / REINDEX CONCURRENTLY is running on its table: it may be the one being built */
  building: boolean;
}

export interface PgSequenceUse {
  schema: string;
  name: string;
  /** the sequence's own type (smallint, integer, bigint) */
  type: string;
  /** share of the usable range used, 0..100: to the sequence's max or the column type's, whichever is lower */
  usedPct: number;
  lastValue: string | null;
  /** the limit reached first, as text (exact for bigint) */
  limit: string;
  /** what sets the limit: the sequence's max, or the column's type */
  limitedBy: 'sequence' | 'column';
  cycles: boolean;
  /** the serial, identity or DEFAULT nextval() column it feeds, when there is one */
  column: { schema: string; table: string; column: string; type: string; how: 'serial' | 'identity' | 'default' } | null;
}

export interface PgNeverAnalyzed {
  schema: string;
  name: string;
  liveTuples: number;
}

export interface PgFrozenTable {
  schema: string;
  name: string;
  age: number;
  /** a TOAST table: the table it belongs to */
  toastOf: string | null;
}

/** Every sequence's use (read in the first round within a budget, then in the background every SEQUENCES_TTL_MS). */
export interface PgSequences {
  /** when it was read, epoch ms */
  at: number;
  /** sequences looked at (other sessions' temporary ones aside) */
  total: number;
  /** without SELECT or USAGE on them: not read */
  unreadable: number;
  /** not read this time: past the first round's budget (read in the background next), or locked */
  unread: number;
  /** the most used first, at most 20 */
  top: PgSequenceUse[];
}

/** What the slower table scan found (read in the first round, then refreshed in the background every SLOW_TTL_MS). */
export interface PgOutagesSlow {
  /** when it was read, epoch ms */
  at: number;
  neverAnalyzed: { total: number; top: PgNeverAnalyzed[] };
  /** in the target database: the table with the oldest relfrozenxid, and the one with the oldest relminmxid */
  oldestXidTable: PgFrozenTable | null;
  oldestMxidTable: PgFrozenTable | null;
}

export interface PgOutages {
  access: PgOutageAccess;
  settings: {
    autovacuum: boolean;
    trackCounts: boolean;
    autovacuumMaxWorkers: number;
    freezeMaxAge: number;
    multixactFreezeMaxAge: number;
    archiveMode: string;
  };
  /** pg_wal's path on this host (symlinks resolved where readable); null with the reason when not known */
  walDir: { path: string } | { path: null; reason: string };
  slots: PgSlot[];
  archiver: PgArchiver | null;
  /** the oldest xmin holders, oldest first (a few per kind) */
  xminHolders: PgXminHolder[];
  prepared: { total: number; oldest: PgPreparedXact[] };
  autovacuumWorkers: PgAutovacuumWorker[];
  /** tables with autovacuum_enabled = false, most dead rows first */
  autovacuumDisabled: { schema: string; name: string; deadTuples: number; liveTuples: number }[];
  /** multixact and transaction ID age per database, oldest multixact first */
  databases: { database: string; xidAge: number; mxidAge: number }[];
  invalidIndexes: PgInvalidIndex[];
  /** null until first read; { error } when the last attempt failed and nothing was read before */
  slow: PgOutagesSlow | { error: string } | null;
  /** likewise */
  sequences: PgSequences | { error: string } | null;
}

/** On PgData: what was read, or why the every-round query failed (its checks are then UNKNOWN with the reason). */
export type PgOutagesResult = PgOutages | { error: string };
