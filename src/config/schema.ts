// The configuration schema. Defaults follow the thresholds table of the product brief.
import * as z from 'zod';

const pair = (warning: number, critical: number) =>
  z
    .object({ warning: z.number().nonnegative().default(warning), critical: z.number().nonnegative().default(critical) })
    .strict()
    .default({ warning, critical });

export const ThresholdsSchema = z
  .object({
    cpuPct: pair(60, 80),
    memPct: pair(70, 85),
    diskPct: pair(80, 90),
    connectionsPct: pair(80, 90),
    /** below these the cache hit ratio is WARNING / CRITICAL */
    cacheHitPct: pair(90, 80),
    longQuerySec: pair(60, 300),
    /** time idle in a transaction (since state_change) */
    idleInTransactionSec: pair(60, 600),
    /**
     * age of an open transaction (since xact_start), whatever it is doing: what holds vacuum's
     * xmin horizon back. The brief is silent; these are check_postgres's txn_time figures (its
     * documented example, --warning='10 minutes' --critical='25 minutes'; txn_time itself has
     * no default and check_pgactivity's oldest_xact wants both thresholds given)
     */
    longTransactionSec: pair(600, 1500),
    blockedSec: pair(30, 300),
    deadTuplesPct: pair(20, 50),
    /** a table is judged on dead tuples only once it has at least this many */
    deadTuplesMin: z.number().int().nonnegative().default(1000),
    /** a never-scanned, non-unique index at least this large is reported */
    unusedIndexMinBytes: z.number().int().nonnegative().default(1024 * 1024),
    xidAge: pair(1_300_000_000, 1_400_000_000),
    replicationLagSec: pair(30, 300),
    httpLatencyMs: pair(500, 1000),
    /** fewer days left than these is WARNING / CRITICAL */
    tlsDays: pair(30, 7),
    backupAgeHours: pair(24, 48),
    /** minutes the oldest journal event not yet in the mirror (journal.mirror) has waited */
    journalMirrorLagMin: pair(15, 60),
    redisMemoryPct: pair(80, 90),
    redisLatencyMs: pair(50, 200),
    // ---- the checks behind real outages (src/health/outages.ts). The brief and the guides in
    // seeds/ are silent on these; each names the peer its figures come from, or says none has one.
    /**
     * WAL a replication slot retains, in bytes. check_postgres replication_slots and
     * check_pgactivity replication_slots take sizes but have no default: chosen, 1 GiB (the
     * default max_wal_size) and 5 GiB
     */
    slotRetainedBytes: pair(1024 ** 3, 5 * 1024 ** 3),
    /**
     * that WAL as a share of the room WAL has on pg_wal's filesystem (retained + free), when the
     * server runs on this host. No peer has it: chosen, a quarter and a half
     */
    slotRetainedFreePct: pair(25, 50),
    /** WAL files waiting to be archived: check_postgres archive_ready's defaults (10 and 15 files) */
    archiveWaitingFiles: pair(10, 15),
    /**
     * age in transactions of the oldest xmin held back. check_pgactivity oldest_xmin takes raw
     * transaction counts with no default (its issue #201 suggested 100,000): chosen, 1 M and 10 M
     */
    xminHorizonAge: pair(1_000_000, 10_000_000),
    /** age of a prepared transaction: check_postgres prepared_txns's defaults (1 s and 30 s) */
    preparedXactSec: pair(1, 30),
    /**
     * how long every autovacuum worker has been busy. check_pgactivity's autovacuum ignores
     * thresholds, check_postgres has none: chosen, 10 minutes and an hour
     */
    autovacuumBusySec: pair(600, 3600),
    /**
     * rows of a table never analyzed. check_pgactivity last_analyze is CRITICAL on any such
     * table; by size here, so a new table autovacuum has not reached yet is not an alert:
     * chosen, 1,000 (deadTuplesMin's) and 100,000 rows
     */
    neverAnalyzedRows: pair(1000, 100_000),
    /**
     * multixact ID age: pg.xid_age's figures (check_postgres txn_wraparound), as multixact IDs
     * wrap around at the same 2^31
     */
    mxidAge: pair(1_300_000_000, 1_400_000_000),
    /** share of a sequence's usable range used (the issue's 75 % and 90 %; check_postgres sequence has 85 and 95) */
    sequenceUsedPct: pair(75, 90),
  })
  .strict()
  .superRefine((t, ctx) => {
    const lowerIsWorse = new Set(['cacheHitPct', 'tlsDays']);
    for (const [key, v] of Object.entries(t)) {
      if (typeof v !== 'object') continue;
      const ok = lowerIsWorse.has(key) ? v.warning >= v.critical : v.warning <= v.critical;
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: lowerIsWorse.has(key)
            ? 'warning must be at or above critical (lower is worse here)'
            : 'warning must be at or below critical',
        });
      }
    }
  });

const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "." or "-"');

/** libpq's sslmode values; anything else is refused rather than left to the driver to guess. */
export const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

const shortText = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 39)}…` : s);

/**
 * What is wrong with a URL, or null. The URL itself is never quoted (it may hold a password):
 * a password holding "/" or "@" makes the URL unparseable, and the message says how to fix it.
 */
export function urlProblem(url: string, schemes: readonly string[]): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const want = schemes.map((x) => `${x}://`).join(' or ');
  if (!scheme || !schemes.includes(scheme)) return `must be a ${want} URL`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a valid URL (a user name or password holding "/", "@", ":", "?" or "#" must be percent-encoded, e.g. "/" as %2F)`;
  }
  for (const [key, value] of u.searchParams) {
    if (key === 'sslmode' && !(SSLMODES as readonly string[]).includes(value)) return `sslmode ${shortText(value)} is not one of ${SSLMODES.join(', ')}`;
  }
  return null;
}

const urlOf = (schemes: readonly string[]) =>
  z.string().superRefine((url, ctx) => {
    const problem = urlProblem(url, schemes);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const TargetSchema = z
  .object({
    name,
    url: urlOf(['postgres', 'postgresql']),
  })
  .strict();

export const HttpEndpointSchema = z
  .object({
    name,
    url: urlOf(['http', 'https']),
    /** expected status; any 2xx when absent */
    expectStatus: z.number().int().min(100).max(599).optional(),
  })
  .strict();

export const TlsHostSchema = z
  .object({
    name,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(443),
  })
  .strict();

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'expected a time as HH:MM (24 h)');
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The maintenance window: from `start` to `end` (past midnight when end < start) on `days`, in `timezone`. */
export const MaintenanceWindowSchema = z
  .object({
    /** the days the window opens on; every day when absent */
    days: z.array(z.enum(WEEKDAYS, { error: `expected one of ${WEEKDAYS.join(', ')}` })).min(1).default([...WEEKDAYS]),
    start: hhmm.default('02:00'),
    end: hhmm.default('04:00'),
    /** an IANA zone such as UTC or Europe/Berlin */
    timezone: z
      .string()
      .default('UTC')
      .refine((tz) => {
        // UTC needs no check: asking Intl about a zone loads ICU's time zone data, some 6 MB of
        // RSS an idle console would otherwise carry for nothing
        if (tz === 'UTC') return true;
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'not a known time zone (use an IANA name such as UTC or Europe/Berlin)'),
  })
  .strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindowSchema>;

export const ConfigSchema = z
  .object({
    /**
     * Absent: the target comes from --database, DATABASE_URL or libpq's defaults, as with psql.
     * Present, it must list at least one: an empty list is refused rather than read as "use the
     * libpq defaults", which would quietly reach whatever server those point at.
     */
    targets: z
      .array(TargetSchema)
      .min(1, 'lists no target: add one, or remove the key to use DATABASE_URL or the PG* variables (libpq defaults)')
      .default([]),
    /** the target used when --target is not given; the first target when absent */
    defaultTarget: z.string().optional(),
    http: z.array(HttpEndpointSchema).default([]),
    tls: z.array(TlsHostSchema).default([]),
    backup: z
      .object({ dir: z.string().min(1), glob: z.string().min(1).default('*') })
      .strict()
      .optional(),
    redis: z
      .object({ url: urlOf(['redis', 'rediss']) })
      .strict()
      .optional(),
    /** seconds between dashboard refreshes; k9s and friends refuse faster than 1 s */
    refreshSec: z.number().min(1).max(3600).default(2),
    /** per-probe timeout in milliseconds */
    probeTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    /**
     * how long a task, its run lock or a rollback waits for PostgreSQL (milliseconds): to
     * connect, and for each statement of ops' own; a step's SQL is bounded by its own timeout
     */
    taskConnectTimeoutMs: z.number().int().min(500).max(300_000).default(10_000),
    /**
     * The shared journal (off when absent): every journal event is also written, after the
     * local fsync, to the table ops.journal_events of `mirror`: a PostgreSQL URL, or `target`
     * for each target's own database (src/journal/mirror.ts, docs/fleet.md).
     */
    journal: z
      .object({
        mirror: z.string().superRefine((v, ctx) => {
          if (v === 'target') return;
          const problem = urlProblem(v, ['postgres', 'postgresql']);
          if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (a postgres:// URL, or "target" for each target's own database)` });
        }),
      })
      .strict()
      .optional(),
    thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
    /** when maintenance may happen; the checklists' window gate reads it */
    maintenanceWindow: MaintenanceWindowSchema.default(MaintenanceWindowSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    // names are how --target, defaultTarget and the checks' ids tell entries apart
    for (const list of ['targets', 'http', 'tls'] as const) {
      const seen = new Map<string, number>();
      c[list].forEach((entry, i) => {
        const first = seen.get(entry.name);
        if (first === undefined) seen.set(entry.name, i);
        else ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: `duplicate name "${entry.name}" (also ${list}[${first}].name)` });
      });
    }
    if (c.defaultTarget !== undefined && !c.targets.some((t) => t.name === c.defaultTarget)) {
      const known = c.targets.map((t) => t.name);
      ctx.addIssue({
        code: 'custom',
        path: ['defaultTarget'],
        message: `no target named ${shortText(c.defaultTarget)} (${known.length ? `targets: ${known.join(', ')}` : 'no targets are configured'})`,
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type Thresholds = z.infer<typeof ThresholdsSchema>;
export type Target = z.infer<typeof TargetSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
export const DEFAULT_CONFIG: Config = ConfigSchema.parse({});
