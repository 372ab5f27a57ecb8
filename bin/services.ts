// What the composition root (bin/main.ts) hands the commands: the settings and the services,
// built on the built-in tasks. A type only, so bin/console.ts and bin/drill.ts need not import
// bin/main.ts back.
import type { ChecklistService } from '../src/checklists/service';
import type { GlobalFlags, Settings } from '../src/config/load';
import type { TaskDef } from '../src/tasks/model';
import type { TaskService } from '../src/tasks/service';

export interface Services {
  /** the built-in tasks (tasks/index.ts BUILTIN_TASKS) */
  readonly tasks: readonly TaskDef[];
  /** the settings for these command-line flags (config file, environment, flags) */
  settings(flags: GlobalFlags): Settings;
  checklists(settings: Settings): ChecklistService;
  taskService(settings: Settings): TaskService;
}
