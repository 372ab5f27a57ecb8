// The collector: the configured probe sources, each run with its deadline, and one round judged.
// `ops check` and a headless checklist run it once (collectOnce); the Monitor (src/monitor.ts)
// runs its sources on the refresh interval.
import type { Config } from './config/schema';
import { resolveMirror, type ResolvedTarget } from './config/load';
import { MirrorLagProbe } from './journal/mirror';
import { stateDir } from './journal/state-dir';
import { evaluate, worst } from './health/rules';
import { probeBackup } from './probes/backup';
import { HostProbe } from './probes/host';
import { probeHttp } from './probes/http';
import { PostgresProbe } from './probes/postgres';
import { probeRedis } from './probes/redis';
import { probeTls } from './probes/tls';
import type {
  BackupData,
  Check,
  CheckGroup,
  HealthReport,
  HostData,
  MirrorLagData,
  PgData,
  ProbeResult,
  RedisData,
  Snapshot,
  SourceKind,
  SourceWait,
} from './types';
import { formatDuration } from './util/format';

export interface CollectorOptions {
  config: Config;
  /** null: no PostgreSQL probe at all */
  target: ResolvedTarget | null;
  /** only the probes these groups need; all when absent */
  only?: ReadonlySet<CheckGroup>;
  /** the state directory whose journal the mirror check reads (default: stateDir()) */
  stateDir?: string;
}

/**
 * Every probe bounds itself by probeTimeoutMs and answers with its own reason (a PostgreSQL
 * timeout, a refused connection). This margin lets it do so before the collector gives up on it.
 */
const DEADLINE_GRACE_MS = 1000;

/** The latest answer of each source. */
interface Answers {
  host?: ProbeResult<HostData>;
  postgres?: ProbeResult<PgData>;
  /** by the endpoint's index in the configuration */
  http: Map<number, Snapshot['http'][number]>;
  tls: Map<number, Snapshot['tls'][number]>;
  backup?: ProbeResult<BackupData>;
  mirror?: ProbeResult<MirrorLagData>;
  redis?: ProbeResult<RedisData>;
}

export const noAnswers = (): Answers => ({ http: new Map(), tls: new Map() });

interface CheckInit {
  id: string;
  group: CheckGroup;
  label: string;
  unit: string;
}

/** One probe source. */
export interface Source {
  readonly id: string;
  readonly kind: SourceKind;
  /** what messages call it: "PostgreSQL", "the host", "http endpoint api" */
  readonly label: string;
  /** the checks its answer feeds */
  owns(check: Check): boolean;
  /** what stands in its checks' place before its first answer */
  readonly placeholders: readonly CheckInit[];
  /** one probe; never rejects */
  probe(): Promise<ProbeResult<unknown>>;
  /** files an answer */
  put(answers: Answers, result: ProbeResult<unknown>): void;
}

function source<T>(s: {
  id: string;
  kind: SourceKind;
  label: string;
  owns: (c: Check) => boolean;
  placeholders: CheckInit[];
  probe: () => Promise<ProbeResult<T>>;
  put: (a: Answers, r: ProbeResult<T>) => void;
}): Source {
  return {
    id: s.id,
    kind: s.kind,
    label: s.label,
    owns: s.owns,
    placeholders: s.placeholders,
    // a probe that throws (a bug) still answers, so its source is not left waiting for ever
    probe: () =>
      Promise.resolve()
        .then(s.probe)
        .catch((err: unknown) => failed<T>(oneLine(err), Date.now())),
    put: (a, r) => s.put(a, r as ProbeResult<T>),
  };
}

function failed<T>(error: string, at: number): ProbeResult<T> {
  return { ok: false, error, at, ms: Date.now() - at };
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim() || 'unknown error';
}

function seconds(ms: number): string {
  return formatDuration(Math.max(0, ms) / 1000);
}

const inGroups =
  (...groups: CheckGroup[]) =>
  (c: Check) =>
    groups.includes(c.group);

/** Waits for a probe up to `ms`; past it, answers for it with the reason. */
async function answerWithin<T>(p: Promise<ProbeResult<T>>, ms: number, label: string): Promise<ProbeResult<T>> {
  const at = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ProbeResult<T>>((resolve) => {
    timer = setTimeout(() => resolve(failed(`no answer from ${label} within ${seconds(ms)}`, at)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export class Collector {
  private readonly host: HostProbe | null;
  private readonly pg: PostgresProbe | null;
  private readonly wants: (g: CheckGroup) => boolean;
  /** the configured sources, in a fixed order */
  readonly sources: readonly Source[];
  /** how long a source is waited for before it is given up on */
  readonly deadlineMs: number;

  constructor(private readonly opts: CollectorOptions) {
    const only = opts.only;
    this.wants = (g) => !only || only.has(g);
    const { config } = opts;
    const t = config.probeTimeoutMs;
    this.deadlineMs = t + DEADLINE_GRACE_MS;
    this.host = this.wants('host') || this.wants('disk') ? new HostProbe({ timeoutMs: t }) : null;
    this.pg =
      opts.target && (this.wants('postgres') || this.wants('sessions') || this.wants('tables'))
        ? new PostgresProbe({ connection: opts.target.connection, timeoutMs: t, secrets: opts.target.secrets })
        : null;

    const sources: Source[] = [];
    const host = this.host;
    if (host) {
      sources.push(
        source({
          id: 'host',
          kind: 'host',
          label: 'the host',
          owns: inGroups('host', 'disk'),
          placeholders: [
            { id: 'host', group: 'host', label: 'host', unit: '' },
            { id: 'disk', group: 'disk', label: 'disks', unit: '%' },
          ],
          probe: () => host.probe(),
          put: (a, r) => {
            a.host = r;
          },
        }),
      );
    }
    const pg = this.pg;
    if (pg) {
      sources.push(
        source({
          id: 'postgres',
          kind: 'postgres',
          label: 'PostgreSQL',
          owns: inGroups('postgres', 'sessions', 'tables'),
          placeholders: [{ id: 'pg.up', group: 'postgres', label: 'PostgreSQL', unit: '' }],
          probe: () => pg.probe(),
          put: (a, r) => {
            a.postgres = r;
          },
        }),
      );
    }
    if (this.wants('http')) {
      config.http.forEach((e, i) => {
        const id = `http:${e.name}`;
        sources.push(
          source({
            id,
            kind: 'http',
            label: `http endpoint ${e.name}`,
            owns: (c) => c.id === id,
            placeholders: [{ id, group: 'http', label: e.name, unit: 'ms' }],
            probe: () => probeHttp(e.url, t),
            put: (a, r) => {
              a.http.set(i, { name: e.name, url: e.url, result: r });
            },
          }),
        );
      });
    }
    if (this.wants('tls')) {
      config.tls.forEach((h, i) => {
        const id = `tls:${h.name}`;
        sources.push(
          source({
            id,
            kind: 'tls',
            label: `TLS ${h.name}`,
            owns: (c) => c.id === id,
            placeholders: [{ id, group: 'tls', label: h.name, unit: 'd' }],
            probe: () => probeTls(h.host, h.port, t),
            put: (a, r) => {
              a.tls.set(i, { name: h.name, host: h.host, port: h.port, result: r });
            },
          }),
        );
      });
    }
    const backup = config.backup;
    if (this.wants('backup') && backup) {
      sources.push(
        source({
          id: 'backup',
          kind: 'backup',
          label: 'the backup directory',
          owns: (c) => c.id === 'backup.age',
          placeholders: [{ id: 'backup.age', group: 'backup', label: 'newest backup', unit: 'h' }],
          probe: () => probeBackup(backup.dir, backup.glob, t),
          put: (a, r) => {
            a.backup = r;
          },
        }),
      );
    }
    // the journal's mirror: how far behind it is, read from this host's files (no connection)
    if (this.wants('backup') && config.journal?.mirror) {
      const lag = new MirrorLagProbe(resolveMirror(config, opts.target ?? null), opts.stateDir ?? stateDir());
      sources.push(
        source({
          id: 'mirror',
          kind: 'mirror',
          label: 'the journal mirror',
          owns: (c) => c.id === 'journal.mirror',
          placeholders: [{ id: 'journal.mirror', group: 'backup', label: 'journal mirror', unit: 'min' }],
          probe: async () => {
            const at = Date.now();
            return { ok: true, data: lag.probe(), at: Date.now(), ms: Date.now() - at };
          },
          put: (a, r) => {
            a.mirror = r;
          },
        }),
      );
    }
    const redis = config.redis;
    if (this.wants('redis') && redis) {
      sources.push(
        source({
          id: 'redis',
          kind: 'redis',
          label: 'Redis',
          owns: inGroups('redis'),
          placeholders: [{ id: 'redis.latency', group: 'redis', label: 'Redis ping', unit: 'ms' }],
          probe: () => probeRedis(redis.url, t),
          put: (a, r) => {
            a.redis = r;
          },
        }),
      );
    }
    this.sources = sources;
  }

  /** Takes the first CPU sample, so the first round can report CPU use. */
  prime(): Promise<void> {
    return this.host?.prime() ?? Promise.resolve();
  }

  get pgRetryAt(): number | null {
    return this.pg?.retryAt ?? null;
  }

  /** Every client session in each PostgreSQL round while on (PostgresProbe.watchSessions); false without a PostgreSQL probe. */
  watchSessions(on: boolean): boolean {
    if (!this.pg) return false;
    this.pg.watchSessions(on);
    return true;
  }

  /** Every source once, together; each is waited for up to its deadline (`ops check`). */
  async round(): Promise<Snapshot> {
    const answers = noAnswers();
    await Promise.all(
      this.sources.map(async (s) => {
        s.put(answers, await answerWithin(s.probe(), this.deadlineMs, s.label));
      }),
    );
    return this.snapshotOf(answers, Date.now());
  }

  /** The snapshot of the answers so far. */
  snapshotOf(a: Answers, at: number): Snapshot {
    const byIndex = <T>(m: Map<number, T>): T[] => [...m.entries()].sort((x, y) => x[0] - y[0]).map(([, v]) => v);
    return {
      at,
      host: a.host ?? { ok: false, error: this.host ? 'no answer yet' : 'not probed', at, ms: 0 },
      postgres: a.postgres,
      http: byIndex(a.http),
      tls: byIndex(a.tls),
      backup: a.backup,
      ...(a.mirror ? { mirror: a.mirror } : {}),
      redis: a.redis,
      ...(a.postgres?.ok && a.postgres.data.sessions ? { sessions: a.postgres.data.sessions } : {}),
    };
  }

  /**
   * Judges a snapshot. With `waiting` (the monitor), a source that has not answered yet has one
   * UNKNOWN check in its place, and one past its deadline has every check UNKNOWN: its last
   * answer is shown as stale, never judged as if it were current.
   */
  evaluate(snap: Snapshot, waiting: readonly SourceWait[] = [], now = Date.now()): HealthReport {
    const expectStatus = Object.fromEntries(this.opts.config.http.map((e) => [e.name, e.expectStatus]));
    const report = evaluate(snap, this.opts.config.thresholds, { only: this.opts.only, expectStatus });
    const stalled = snap.host.ok && this.wants('disk') ? (snap.host.data.stalledMounts ?? []) : [];
    if (waiting.length === 0 && stalled.length === 0) return report;
    let checks = report.checks;
    let changed = false;
    if (stalled.length) {
      // a filesystem that does not answer is not known, and is not "no filesystem found" either
      checks = checks.filter((c) => c.id !== 'disk');
      for (const m of stalled) {
        checks.push({
          id: `disk:${m.mount}`,
          group: 'disk',
          label: m.mount,
          status: 'UNKNOWN',
          summary: `${m.mount} (${m.fstype}) is not answering: statfs waited on for ${seconds(now - m.since)}`,
          value: null,
          unit: '%',
          thresholds: null,
          subject: m.mount,
        });
      }
      changed = true;
    }
    for (const w of waiting) {
      const s = this.sources.find((x) => x.id === w.id);
      if (!s) continue;
      const waited = seconds(now - w.since);
      if (w.lastAnswerAt === null) {
        const reason = w.overdue
          ? `no answer from ${s.label} after ${waited} (deadline ${seconds(this.deadlineMs)})`
          : `waiting for the first answer from ${s.label} (${waited})`;
        checks = checks.filter((c) => !s.owns(c));
        for (const p of s.placeholders) {
          if (this.wants(p.group)) checks.push({ ...p, status: 'UNKNOWN', summary: reason, value: null, thresholds: null, subject: null });
        }
        changed = true;
      } else if (w.overdue) {
        const reason = `no answer from ${s.label} for ${waited} (deadline ${seconds(this.deadlineMs)}); last answer ${seconds(now - w.lastAnswerAt)} ago`;
        checks = checks.map((c) => (s.owns(c) ? { ...c, status: 'UNKNOWN', summary: reason, value: null, thresholds: null } : c));
        changed = true;
      }
    }
    if (!changed) return report;
    const ok = checks.filter((c) => c.status === 'OK').length;
    return {
      at: report.at,
      status: checks.length ? worst(checks.map((c) => c.status)) : 'UNKNOWN',
      score: checks.length ? Math.round((100 * ok) / checks.length) : 0,
      checks,
    };
  }

  async close(): Promise<void> {
    await this.pg?.close();
  }
}

/** One probe round, judged, with the collector closed after it: `ops check`, a headless checklist. */
export async function collectOnce(opts: CollectorOptions): Promise<{ snapshot: Snapshot; report: HealthReport }> {
  const collector = new Collector(opts);
  try {
    await collector.prime();
    const snapshot = await collector.round();
    return { snapshot, report: collector.evaluate(snapshot) };
  } finally {
    await collector.close();
  }
}
