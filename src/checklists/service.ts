// What the console and `ops checklist` use of checklists: the registry, the journal, walkthroughs
// begun or resumed, the live context their conditions are judged on, and the report.
import { type Settings } from '../config/load';
import { UsageError } from '../errors';
import { Journal, operatorIdentity, stateDir, type RunSummary } from '../journal';
import { availableTasks } from '../tasks/session';
import type { TaskDef } from '../tasks/model';
import type { HealthReport, Snapshot } from '../types';
import type { LiveContext } from './conditions';
import { loadChecklists, type Checklist } from './model';
import { renderReport, writeReport } from './report';
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
    return { summary, markdown: renderReport(summary, (r) => this.taskRun(r)) };
  }

  finish(w: WalkHandle, outcome: WalkOutcome, health: Health | null): string {
    w.end(outcome, health);
    const markdown = renderReport(w.state, (r) => this.taskRun(r));
    return writeReport(this.dir, w.run, markdown);
  }
}
