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
    idleInTransactionSec: pair(60, 600),
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
    redisMemoryPct: pair(80, 90),
    redisLatencyMs: pair(50, 200),
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

export const TargetSchema = z
  .object({
    name,
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  })
  .strict();

export const HttpEndpointSchema = z
  .object({
    name,
    url: z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL'),
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
    targets: z.array(TargetSchema).default([]),
    /** the target used when --target is not given; the first target when absent */
    defaultTarget: z.string().optional(),
    http: z.array(HttpEndpointSchema).default([]),
    tls: z.array(TlsHostSchema).default([]),
    backup: z
      .object({ dir: z.string().min(1), glob: z.string().min(1).default('*') })
      .strict()
      .optional(),
    redis: z
      .object({ url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL') })
      .strict()
      .optional(),
    /** seconds between dashboard refreshes; k9s and friends refuse faster than 1 s */
    refreshSec: z.number().min(1).max(3600).default(2),
    /** per-probe timeout in milliseconds */
    probeTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
    /** when maintenance may happen; the checklists' window gate reads it */
    maintenanceWindow: MaintenanceWindowSchema.default(MaintenanceWindowSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type Thresholds = z.infer<typeof ThresholdsSchema>;
export type Target = z.infer<typeof TargetSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
export const DEFAULT_CONFIG: Config = ConfigSchema.parse({});
