// What the console and `ops checklist` use of checklists: the registry, the journal, walkthroughs
// begun or resumed, the live context their conditions are judged on, and the report.
import { type Settings } from '../config/load';
import { UsageError } from '../errors';
import { Journal, operatorIdentity, stateDir, type JournalEvent, type RunSummary } from '../journal';
import { runChanged } from '../tasks/attention';
import { availableTasks } from '../tasks/session';
import type { TaskDef } from '../tasks/model';
import type { HealthReport, Snapshot } from '../types';
import type { LiveContext } from './conditions';
import { loadChecklists, type Checklist } from './model';
import { renderReport, writeReport, type WalkAction } from './report';
import { checklistJournal, findWalk, latestCompleted, listWalks, unfinishedWalks, Walkthrough, type WalkHandle, type WalkOutcome, type WalkSummary } from './walkthrough';

export interface Health {
  snapshot: Snapshot | null;
  report: HealthReport | null;
}

export interface ChecklistServiceLike {
  checklists(): { checklists: Checklist[]; errors: string[] };
  /** walkthroughs left unfinished (their console gone), newest first */
  unfinished(): WalkSummary[];
  begin(checklistId: string, health: Health): WalkHandle;
  resume(runPrefix: string): WalkHandle;
  live(health: Health, now?: Date): LiveContext;
  /** a task run's recorded outcome ('succeeded', 'interrupted', 'unfinished', ...), or null */
  taskOutcome(run: string): string | null;
  /** ends the walkthrough, writes its report; returns the report's path */
  finish(w: WalkHandle, outcome: WalkOutcome, health: Health | null): string;
}

export class ChecklistService implements ChecklistServiceLike {
  readonly journal: Journal;
  private readonly tasks: Journal;

  constructor(
    private readonly settings: Settings,
    /** the built-in tasks (tasks/index.ts BUILTIN_TASKS, passed in by bin/) */
    /** the built-in tasks (the entry point passes them in from tasks/): a task step runs one of them or an operator's own */
    readonly builtins: readonly TaskDef[],
    private readonly dir: string = stateDir(),
  ) {
    this.journal = checklistJournal(dir, settings.target.secrets);
    this.tasks = new Journal(dir, { secrets: settings.target.secrets });
  }

  checklists(): { checklists: Checklist[]; errors: string[] } {
    const { tasks, errors: taskErrors } = availableTasks(this.builtins);
    const r = loadChecklists(tasks);
    return { checklists: r.checklists, errors: [...r.errors, ...taskErrors] };
  }

  checklist(id: string): Checklist {
    const { checklists, errors } = this.checklists();
    const c = checklists.find((x) => x.id === id);
    if (c) return c;
    const mine = errors.find((e) => e.includes(`/${id}.y`));
    throw new UsageError(mine ?? `unknown checklist "${id}" (checklists: ${checklists.map((x) => x.id).join(', ')})`);
  }

  unfinished(): WalkSummary[] {
    try {
      return unfinishedWalks(this.journal);
    } catch {
      return [];
    }
  }

  walks(): WalkSummary[] {
    return listWalks(this.journal);
  }

  private opts() {
    return { journal: this.journal, target: this.settings.target.display, operator: operatorIdentity(), window: this.settings.config.maintenanceWindow };
  }

  begin(checklistId: string, health: Health): Walkthrough {
    return Walkthrough.begin({ ...this.opts(), checklist: this.checklist(checklistId) }, health);
  }

  resume(runPrefix: string): Walkthrough {
    return Walkthrough.resume({ ...this.opts(), checklists: this.checklists().checklists }, runPrefix);
  }

  live(health: Health, now = new Date()): LiveContext {
    const target = this.settings.target.display;
    return {
      snapshot: health.snapshot,
      report: health.report,
      now,
      window: this.settings.config.maintenanceWindow,
      baseline: (checklist) => {
        const w = latestCompleted(this.journal, checklist, target);
        return w?.start ? { run: w.run, at: w.start.at, statuses: w.start.statuses } : null;
      },
    };
  }

  taskRun(run: string): RunSummary | null {
    try {
      return this.tasks.summary(run);
    } catch {
      return null;
    }
  }

  taskOutcome(run: string): string | null {
    return this.taskRun(run)?.outcome ?? null;
  }

  report(runPrefix: string): { summary: WalkSummary; markdown: string } {
    const summary = findWalk(this.journal, runPrefix);
    return { summary, markdown: renderReport(summary, (r) => this.taskRun(r), this.actionsDuring(summary), this.conditionsOf(summary.checklist)) };
  }

  /**
   * What was done on the walkthrough's target while it was open, besides its task steps: task
   * runs started from the console (sessions cancelled or terminated, a fix) and rollbacks run
   * through u, from the task journal's newest 200 runs, oldest first.
   */
  actionsDuring(w: WalkSummary): WalkAction[] {
    const from = Date.parse(w.startedAt);
    const to = w.endedAt ? Date.parse(w.endedAt) : Date.now();
    const inside = (ts: string) => {
      const t = Date.parse(ts);
      return t >= from && t <= to;
    };
    const attached = new Set(w.steps.map((s) => s.taskRun).filter(Boolean));
    const defs = new Map(availableTasks(this.builtins).tasks.map((t) => [t.id, t]));
    const out: WalkAction[] = [];
    let runs: RunSummary[] = [];
    try {
      runs = this.tasks.runs({ limit: 200 });
    } catch {
      return out; // an unreadable task journal: the report says what the walkthrough recorded
    }
    for (const r of runs) {
      if (r.target !== w.target || r.dryRun) continue;
      const ran = inside(r.startedAt) && !attached.has(r.run);
      const undone = r.steps.some((s) => s.rollbackStatus !== 'none');
      if (!ran && !undone) continue;
      let events: JournalEvent[] = [];
      try {
        events = this.tasks.events(r.run);
      } catch {
        /* the run's line says less */
      }
      if (ran) out.push({ ts: r.startedAt, text: `ran ${r.task} (run ${r.run}): ${r.outcome}; ${runChanged(defs.get(r.task), r, events)}` });
      for (const e of events) {
        if (e.type === 'rollback.finish' && inside(e.ts)) out.push({ ts: e.ts, text: `undid step ${e.step} of run ${r.run} (${r.task}): ${e.outcome}` });
      }
    }
    return out.sort((a, b) => a.ts.localeCompare(b.ts));
  }

  /** Each check's and gate's condition, as a key, from the checklist as it is loaded now (none if it is gone). */
  private conditionsOf(id: string): Map<string, string> {
    try {
      return new Map(this.checklist(id).steps.flatMap((s) => (s.kind === 'check' || s.kind === 'gate' ? [[s.id, JSON.stringify(s.condition)] as const] : [])));
    } catch {
      return new Map();
    }
  }

  finish(w: WalkHandle, outcome: WalkOutcome, health: Health | null): string {
    w.end(outcome, health);
    const markdown = renderReport(w.state, (r) => this.taskRun(r), this.actionsDuring(w.state), this.conditionsOf(w.checklist.id));
    return writeReport(this.dir, w.run, markdown);
  }
}
