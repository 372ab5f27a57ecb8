// The collector runs one round of every configured probe; the monitor repeats rounds on the
// refresh interval and publishes state for the console. `ops check` uses the collector once.
import { hostname } from 'node:os';
import type { Config } from './config/schema';
import type { ResolvedTarget } from './config/load';
import { evaluate } from './health/rules';
import { probeBackup } from './probes/backup';
import { HostProbe } from './probes/host';
import { probeHttp } from './probes/http';
import { PostgresProbe } from './probes/postgres';
import { probeRedis } from './probes/redis';
import { probeTls } from './probes/tls';
import type { CheckGroup, History, HealthReport, MonitorLike, MonitorState, Snapshot } from './types';

export interface CollectorOptions {
  config: Config;
  /** null: no PostgreSQL probe at all */
  target: ResolvedTarget | null;
  /** only the probes these groups need; all when absent */
  only?: ReadonlySet<CheckGroup>;
}

export class Collector {
  private readonly host: HostProbe | null;
  private readonly pg: PostgresProbe | null;
  private readonly wants: (g: CheckGroup) => boolean;

  constructor(private readonly opts: CollectorOptions) {
    const only = opts.only;
    this.wants = (g) => !only || only.has(g);
    const timeoutMs = opts.config.probeTimeoutMs;
    this.host = this.wants('host') || this.wants('disk') ? new HostProbe({ timeoutMs }) : null;
    this.pg =
      opts.target && (this.wants('postgres') || this.wants('sessions') || this.wants('tables'))
        ? new PostgresProbe({ connection: opts.target.connection, timeoutMs, secrets: opts.target.secrets })
        : null;
  }

  /** Takes the first CPU sample, so the first round can report CPU use. */
  prime(): Promise<void> {
    return this.host?.prime() ?? Promise.resolve();
  }

  get pgRetryAt(): number | null {
    return this.pg?.retryAt ?? null;
  }

  async round(): Promise<Snapshot> {
    const { config } = this.opts;
    const t = config.probeTimeoutMs;
    const [host, postgres, http, tls, backup, redis] = await Promise.all([
      this.host ? this.host.probe() : Promise.resolve(undefined),
      this.pg ? this.pg.probe() : Promise.resolve(undefined),
      this.wants('http') ? Promise.all(config.http.map(async (e) => ({ name: e.name, url: e.url, result: await probeHttp(e.url, t) }))) : [],
      this.wants('tls')
        ? Promise.all(config.tls.map(async (h) => ({ name: h.name, host: h.host, port: h.port, result: await probeTls(h.host, h.port, t) })))
        : [],
      this.wants('backup') && config.backup ? probeBackup(config.backup.dir, config.backup.glob, t) : Promise.resolve(undefined),
      this.wants('redis') && config.redis ? probeRedis(config.redis.url, t) : Promise.resolve(undefined),
    ]);
    return {
      at: Date.now(),
      host: host ?? { ok: false, error: 'not probed', at: Date.now(), ms: 0 },
      postgres,
      http,
      tls,
      backup,
      redis,
    };
  }

  evaluate(snap: Snapshot): HealthReport {
    const expectStatus = Object.fromEntries(this.opts.config.http.map((e) => [e.name, e.expectStatus]));
    return evaluate(snap, this.opts.config.thresholds, { only: this.opts.only, expectStatus });
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

const HISTORY_POINTS = 60;

function push(arr: number[], v: number | null | undefined): number[] {
  if (v === null || v === undefined || !Number.isFinite(v)) return arr;
  const next = arr.length >= HISTORY_POINTS ? arr.slice(arr.length - HISTORY_POINTS + 1) : arr.slice();
  next.push(v);
  return next;
}

export interface MonitorOptions extends CollectorOptions {
  refreshMs: number;
  badge?: string | null;
  notice?: string | null;
}

/** Repeats collector rounds on the refresh interval; the console subscribes to its state. */
export class Monitor implements MonitorLike {
  private readonly collector: Collector;
  private state: MonitorState;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly opts: MonitorOptions) {
    this.collector = new Collector(opts);
    this.state = {
      hostname: hostname(),
      target: opts.target ? { name: opts.target.name, display: opts.target.display } : null,
      refreshMs: opts.refreshMs,
      paused: false,
      busy: false,
      snapshot: null,
      report: null,
      history: { cpu: [], mem: [], connections: [], cacheHit: [] },
      pgRetryAt: null,
      badge: opts.badge ?? null,
      notice: opts.notice ?? null,
    };
  }

  getState = (): MonitorState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private publish(patch: Partial<MonitorState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.inFlight = this.collector.prime().then(() => this.tick());
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight?.catch(() => undefined);
    await this.collector.close();
  }

  togglePause(): void {
    const paused = !this.state.paused;
    if (paused && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.publish({ paused });
    if (!paused && !this.state.busy) this.schedule(0);
  }

  refreshNow(): void {
    if (!this.running || this.state.busy) return;
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.running || this.state.paused) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    // no re-render just for "busy": each render costs the console more than the round itself
    this.state = { ...this.state, busy: true };
    let snapshot: Snapshot;
    try {
      snapshot = await this.collector.round();
    } catch (err) {
      // probes do not throw; this is a bug, but the console must stay up
      snapshot = { at: Date.now(), host: { ok: false, error: (err as Error).message, at: Date.now(), ms: 0 }, http: [], tls: [] };
    }
    if (!this.running) return;
    const report = this.collector.evaluate(snapshot);
    const h = this.state.history;
    const host = snapshot.host.ok ? snapshot.host.data : null;
    const pg = snapshot.postgres?.ok ? snapshot.postgres.data : null;
    const history: History = {
      cpu: push(h.cpu, host?.cpuPct),
      mem: push(h.mem, host?.memUsedPct),
      connections: push(h.connections, pg?.connections.total),
      cacheHit: push(h.cacheHit, pg?.cache.bufferHitPct),
    };
    this.publish({ snapshot, report, history, busy: false, pgRetryAt: this.collector.pgRetryAt });
    this.schedule(this.opts.refreshMs);
  }
}
