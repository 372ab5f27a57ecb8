// The poll of a running statement's progress (src/tasks/progress.ts reads its rows). It needs a
// connection of its own: the step's statement occupies the task's. At most one per run, opened
// lazily once a statement has run ~1 s, reused by later steps, closed at the run's end
// (ProgressPoller.close). A poll that fails or hangs never touches the step: it just stops
// showing progress.
import type pg from 'pg';
import type { GuardedClient } from '../util/db';
import { closeClient } from '../util/db';
import { progressOfRow, progressSql, type StepProgress } from './progress';

export interface PollerOptions {
  /** opens a connection bounded by the task's connect timeout and statement deadline */
  connect: () => Promise<pg.Client>;
  /** a statement's wait before the first poll (and before the connection is opened) */
  firstAfterMs?: number;
  /** between polls */
  everyMs?: number;
}

/**
 * Polls the progress of one backend while a statement runs on it. One connection per run, opened
 * on the first poll and reused; `close()` ends it. Any failure of the poll (no connection, an
 * error, a deadline) stops the polling for the rest of the run, and never reaches the step.
 */
export class ProgressPoller {
  private client: pg.Client | null = null;
  private opening: Promise<pg.Client | null> | null = null;
  private sql: string | null = null;
  private broken = false;
  private closed = false;

  constructor(private readonly opts: PollerOptions) {}

  /** Whether the poll connection is open (tests and the bench). */
  get open(): boolean {
    return this.client !== null;
  }

  /**
   * Watches `pid` until the returned stop is called: each answer goes to `report` (null once
   * nothing is shown). Polls at most once a second, one at a time.
   */
  watch(pid: number, report: (p: StepProgress | null) => void): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      if (stopped || this.broken || this.closed) return;
      const p = await this.pollOnce(pid);
      if (stopped) return;
      if (p !== undefined) report(p);
      if (!this.broken) {
        timer = setTimeout(() => void tick(), Math.max(1000, this.opts.everyMs ?? 1000));
        timer.unref?.();
      }
    };
    timer = setTimeout(() => void tick(), this.opts.firstAfterMs ?? 1000);
    timer.unref?.();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** One poll; undefined when it failed (and polling stops). */
  private async pollOnce(pid: number): Promise<StepProgress | null | undefined> {
    try {
      const c = await this.connection();
      if (!c || !this.sql) return undefined;
      const r = await c.query(this.sql, [pid]);
      return progressOfRow(r.rows[0], Date.now());
    } catch {
      this.broken = true;
      void this.close();
      return undefined;
    }
  }

  private async connection(): Promise<pg.Client | null> {
    if (this.client && !(this.client as Partial<GuardedClient>).lost) return this.client;
    if (this.client) throw new Error('the progress connection was lost');
    this.opening ??= (async () => {
      const c = await this.opts.connect();
      c.on('error', () => undefined); // a broken poll connection only stops the polling
      if (this.closed) {
        await closeClient(c, 200);
        return null;
      }
      const v = await c.query('SELECT current_setting($1)::int AS v', ['server_version_num']);
      this.sql = progressSql(Number(v.rows[0].v));
      this.client = c;
      return c;
    })();
    return await this.opening;
  }

  /** Ends the poll connection (the run's end, a failure); a later step may open it again. */
  async close(): Promise<void> {
    const c = this.client;
    const opening = this.opening;
    this.client = null;
    this.opening = null;
    this.sql = null;
    if (c) await closeClient(c, 500);
    else if (opening) {
      // a connection still opening is closed once it is there
      this.closed = true;
      const late = await opening.catch(() => null);
      await closeClient(late, 200);
      this.closed = false;
    }
  }

  /** After a run's end: polling may start again for a rollback or a resume. */
  rearm(): void {
    this.broken = false;
  }
}
