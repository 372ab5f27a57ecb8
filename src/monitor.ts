// The collector knows the configured probe sources (the host with its disks, PostgreSQL, each HTTP
// endpoint, each TLS host, the backup directory, Redis). `ops check` runs every source once and
// waits for each up to its deadline. The monitor runs the sources on the refresh interval, each on
// its own: a source publishes when it answers, so a slow or hung one never holds the others back,
// and a source whose last probe is still unanswered is not started again (no pile-up of queries on
// a hung server). Past its deadline an unanswered source's checks are UNKNOWN, with the reason.
import { hostname } from 'node:os';
import type { History, MonitorLike, MonitorState, ProbeResult, SourceWait } from './types';
import { Collector, noAnswers, type CollectorOptions, type Source } from './collector';
export { Collector, collectOnce, type CollectorOptions, type Source } from './collector';

const HISTORY_POINTS = 60;

function push(arr: number[], v: number | null | undefined): number[] {
  if (v === null || v === undefined || !Number.isFinite(v)) return arr;
  const next = arr.length >= HISTORY_POINTS ? arr.slice(arr.length - HISTORY_POINTS + 1) : arr.slice();
  next.push(v);
  return next;
}

/**
 * A round publishes once, when every source it started has answered, or when this window closes
 * (half the refresh interval at most), whichever comes first; a source answering later
 * publishes on its own. So a healthy round costs one render, and a slow source costs one more.
 */
const SETTLE_MAX_MS = 250;

export interface MonitorOptions extends CollectorOptions {
  refreshMs: number;
  badge?: string | null;
  notice?: string | null;
}

interface Flight {
  since: number;
  deadline: number;
  overdue: boolean;
  timer: NodeJS.Timeout;
}

/** Runs the sources on the refresh interval, each on its own; the console subscribes to its state. */
export class Monitor implements MonitorLike {
  private readonly collector: Collector;
  private state: MonitorState;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  private running = false;
  private starting: Promise<void> | null = null;
  private readonly answers = noAnswers();
  /** the sources asked and not answered yet */
  private readonly flights = new Map<string, Flight>();
  private readonly answeredAt = new Map<string, number>();
  /** the sources the current round started that have not answered; null once it has published */
  private roundWaiting: Set<string> | null = null;
  private publishQueued = false;
  /** answers not yet in the history */
  private fresh = { host: false, postgres: false };
  /** the sessions view is open: every round reads the full session list */
  private sessionsWatched = false;

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

  /**
   * Resolves once the first round has published (at most SETTLE_MAX_MS after start, whatever a
   * source does), or after `maxWaitMs`. The console draws its first frame then, with the data.
   */
  firstReport(maxWaitMs: number): Promise<void> {
    if (this.state.report) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      timer.unref?.();
      const off = this.subscribe(() => {
        if (this.state.report) done();
      });
    });
  }

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
    this.starting = this.collector.prime().then(() => this.round());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clearTimers();
    await this.starting?.catch(() => undefined);
    for (const f of this.flights.values()) clearTimeout(f.timer);
    // Not waiting for unanswered probes: closing the collector ends the PostgreSQL connection,
    // and an answer that still comes is dropped.
    await this.collector.close();
  }

  togglePause(): void {
    const paused = !this.state.paused;
    if (paused && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.publish({ paused });
    if (!paused) this.schedule(0);
  }

  /**
   * Asks for every client session of the cluster (Snapshot.sessions) in each round from now on,
   * or no longer: one more statement in the PostgreSQL probe's batch, on its one connection.
   * Turning it on starts a round now (unless paused, or a round is waited on), so the sessions
   * view need not wait for the refresh interval.
   */
  watchSessions(on: boolean): void {
    const was = this.sessionsWatched;
    this.sessionsWatched = on;
    if (!this.collector.watchSessions(on)) return;
    if (on && !was) this.refreshNow();
  }

  refreshNow(): void {
    if (!this.running || this.roundWaiting) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.schedule(0);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.timer = null;
    this.settleTimer = null;
  }

  private schedule(ms: number): void {
    if (!this.running || this.state.paused || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.round();
    }, ms);
  }

  /** Starts every source that is not still waiting on its previous probe. */
  private round(): void {
    if (!this.running) return;
    const now = Date.now();
    const started = this.collector.sources.filter((s) => !this.flights.has(s.id));
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.roundWaiting = new Set(started.map((s) => s.id));
    for (const s of started) this.launch(s, now);
    this.state = { ...this.state, busy: this.flights.size > 0 };
    if (started.length === 0) {
      // everything is still waiting: publish anyway, so the waits' ages move on
      this.settle();
    } else {
      const window = Math.max(1, Math.min(SETTLE_MAX_MS, Math.floor(this.opts.refreshMs / 2)));
      this.settleTimer = setTimeout(() => this.settle(), window);
    }
    // the interval runs from round to round, whatever any source is doing
    this.schedule(this.opts.refreshMs);
  }

  private launch(s: Source, now: number): void {
    const deadlineMs = this.collector.deadlineMs;
    const flight: Flight = {
      since: now,
      deadline: now + deadlineMs,
      overdue: false,
      timer: setTimeout(() => {
        flight.overdue = true;
        // a round about to publish includes it; otherwise say so now
        if (this.running && !this.roundWaiting && this.flights.get(s.id) === flight) this.queuePublish();
      }, deadlineMs),
    };
    flight.timer.unref?.();
    this.flights.set(s.id, flight);
    void s.probe().then((r) => this.answered(s, flight, r));
  }

  private answered(s: Source, flight: Flight, r: ProbeResult<unknown>): void {
    clearTimeout(flight.timer);
    if (this.flights.get(s.id) === flight) this.flights.delete(s.id);
    if (!this.running) return;
    s.put(this.answers, r);
    this.answeredAt.set(s.id, Date.now());
    if (s.kind === 'host') this.fresh.host = true;
    if (s.kind === 'postgres') this.fresh.postgres = true;
    const waiting = this.roundWaiting;
    if (waiting) {
      // the round publishes it, now if it was the last one the round waited for
      waiting.delete(s.id);
      if (waiting.size === 0) this.settle();
      return;
    }
    this.queuePublish();
  }

  /** Ends the round's wait and publishes what has answered. */
  private settle(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.roundWaiting = null;
    this.publishNow();
  }

  /** Answers arriving together (in one turn of the event loop) make one publish. */
  private queuePublish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    setImmediate(() => {
      this.publishQueued = false;
      if (this.running && !this.roundWaiting) this.publishNow();
    });
  }

  private publishNow(): void {
    if (!this.running) return;
    const now = Date.now();
    const waiting: SourceWait[] = [];
    for (const s of this.collector.sources) {
      const f = this.flights.get(s.id);
      if (!f) continue;
      waiting.push({
        id: s.id,
        kind: s.kind,
        label: s.label,
        since: f.since,
        deadline: f.deadline,
        overdue: f.overdue,
        lastAnswerAt: this.answeredAt.get(s.id) ?? null,
      });
    }
    const snapshot = this.collector.snapshotOf(this.answers, now);
    const report = this.collector.evaluate(snapshot, waiting, now);
    let history = this.state.history;
    if (this.fresh.host || this.fresh.postgres) {
      const host = this.fresh.host && snapshot.host.ok ? snapshot.host.data : null;
      const pg = this.fresh.postgres && snapshot.postgres?.ok ? snapshot.postgres.data : null;
      history = {
        cpu: push(history.cpu, host?.cpuPct),
        mem: push(history.mem, host?.memUsedPct),
        connections: push(history.connections, pg?.connections.total),
        cacheHit: push(history.cacheHit, pg?.cache.bufferHitPct),
      } satisfies History;
      this.fresh = { host: false, postgres: false };
    }
    this.publish({
      snapshot,
      report,
      history,
      busy: this.flights.size > 0,
      pgRetryAt: this.collector.pgRetryAt,
      waiting: waiting.length ? waiting : undefined,
    });
  }
}
