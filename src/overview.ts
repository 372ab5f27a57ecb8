// Every configured target at once (issue 15 §1): the console's overview. One Monitor per target,
// asked only for that target's PostgreSQL groups (one probe connection each, on its own
// interval, so a target that is down or slow degrades only its own line), and one Monitor for
// the host itself (CPU, memory, disks, endpoints), probed once for all. UI-free: the overview
// screen (screens/overview/) draws OverviewState and never judges.
import type { Config } from './config/schema';
import type { ResolvedTarget } from './config/load';
import { worstFirst } from './health/status';
import { Monitor } from './monitor';
import { CHECK_GROUPS, type CheckGroup, type HealthReport, type MonitorState, type Status } from './types';

/** The groups a target's own monitor judges; the rest are the host's. */
export const TARGET_GROUPS: readonly CheckGroup[] = ['postgres', 'sessions', 'tables'];
const HOST_GROUPS: readonly CheckGroup[] = CHECK_GROUPS.filter((g) => !TARGET_GROUPS.includes(g));

/** How long the overview gathers its monitors' answers into one new state. */
const GATHER_MS = 150;

/** One target's line. */
export interface OverviewLine {
  name: string;
  /** the URL with any password redacted */
  display: string;
  /** null until its first round */
  status: Status | null;
  score: number | null;
  /** "primary", "primary, 2 replicas", "standby, lag 3s"; null before the first answer */
  role: string | null;
  /** "12/100"; null when not known */
  connections: string | null;
  /** the summary of its worst check that is not OK; null when all are OK */
  top: string | null;
  /** when its figures were read (epoch ms); null before the first answer */
  at: number | null;
  /** its probe is being waited for past its deadline: the figures shown are old */
  stale: boolean;
}

export interface OverviewState {
  hostname: string;
  refreshMs: number;
  /** the host's own checks (CPU, memory, disks, endpoints…): null until their first round */
  host: HealthReport | null;
  lines: OverviewLine[];
}

/** What the overview screen needs of the overview: the state and a way to follow it. */
export interface OverviewLike {
  getState(): OverviewState;
  subscribe(listener: () => void): () => void;
  refreshNow(): void;
}

function roleOf(state: MonitorState): string | null {
  const pg = state.snapshot?.postgres;
  if (!pg?.ok) return null;
  const r = pg.data.replication;
  if (r.role === 'standby') return r.standbyLagSec === null ? 'standby' : `standby, lag ${Math.round(r.standbyLagSec)}s`;
  return r.replicas.length ? `primary, ${r.replicas.length} replica${r.replicas.length === 1 ? '' : 's'}` : 'primary';
}

/** A target's line from its monitor's state (pure: the screen test feeds it fixtures). */
export function overviewLine(name: string, display: string, state: MonitorState): OverviewLine {
  const report = state.report;
  const pg = state.snapshot?.postgres;
  const worst = report ? [...report.checks].filter((c) => c.status !== 'OK').sort((a, b) => worstFirst(a.status, b.status))[0] : undefined;
  const c = pg?.ok ? pg.data.connections : null;
  return {
    name,
    display,
    status: report?.status ?? null,
    score: report?.score ?? null,
    role: roleOf(state),
    connections: c ? `${c.total}/${c.max}` : null,
    top: worst ? worst.summary : null,
    at: pg?.ok ? pg.at : report?.at ?? null,
    stale: (state.waiting ?? []).some((w) => w.kind === 'postgres' && w.overdue),
  };
}

export interface OverviewOptions {
  config: Config;
  targets: readonly ResolvedTarget[];
  refreshMs: number;
}

/** The overview's monitors: started and stopped together, their states merged into one. */
export class OverviewMonitor implements OverviewLike {
  private readonly host: Monitor;
  private readonly monitors: { target: ResolvedTarget; monitor: Monitor }[];
  private readonly listeners = new Set<() => void>();
  private state: OverviewState;
  private queued = false;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly opts: OverviewOptions) {
    this.host = new Monitor({ config: opts.config, target: null, refreshMs: opts.refreshMs, only: new Set(HOST_GROUPS) });
    this.monitors = opts.targets.map((target) => ({ target, monitor: new Monitor({ config: opts.config, target, refreshMs: opts.refreshMs, only: new Set(TARGET_GROUPS) }) }));
    this.state = this.compute();
  }

  private compute(): OverviewState {
    const host = this.host.getState();
    return {
      hostname: host.hostname,
      refreshMs: this.opts.refreshMs,
      host: host.report,
      lines: this.monitors.map(({ target, monitor }) => overviewLine(target.name, target.display, monitor.getState())),
    };
  }

  getState = (): OverviewState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /**
   * The monitors' answers of one round arrive a few milliseconds apart: they are gathered for
   * GATHER_MS and make one new state, so ten targets cost one frame a round, not eleven.
   */
  private changed = (): void => {
    if (this.queued) return;
    this.queued = true;
    const t = setTimeout(() => {
      this.queued = false;
      this.state = this.compute();
      for (const l of this.listeners) l();
    }, GATHER_MS);
    t.unref?.();
  };

  /** Resolves once every monitor has published its first round, or after `maxWaitMs`. */
  async firstReport(maxWaitMs: number): Promise<void> {
    await Promise.all([this.host, ...this.monitors.map((m) => m.monitor)].map((m) => m.firstReport(maxWaitMs)));
    this.state = this.compute();
  }

  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const m of [this.host, ...this.monitors.map((x) => x.monitor)]) {
      this.unsubscribe.push(m.subscribe(this.changed));
      m.start();
    }
  }

  refreshNow(): void {
    for (const m of [this.host, ...this.monitors.map((x) => x.monitor)]) m.refreshNow();
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await Promise.all([this.host, ...this.monitors.map((x) => x.monitor)].map((m) => m.stop().catch(() => undefined)));
  }
}
