// What the controller's parts (screens/tasks/plan-commands.ts, screens/tasks/run-commands.ts)
// are given by screens/controller.ts: the services, the store, and the controller's own go, so
// every change of screen still passes through one place.
import type { ChecklistServiceLike } from '../src/checklists/service';
import type { TaskServiceLike } from '../src/tasks/service';
import type { MonitorLike } from '../src/types';
import type { WalkController } from './checklists/controller';
import type { ClipboardLike } from './sessions/clipboard';
import type { AppAction, AppState, Route } from './state';
import type { Store } from './store';

export interface ControllerDeps {
  monitor: MonitorLike;
  /** the task engine; without it the console is the dashboard alone */
  service?: TaskServiceLike;
  /** checklists and walkthroughs */
  checklists?: ChecklistServiceLike;
  onQuit: () => void;
  /** the console was opened from the overview of every target: o goes back to it */
  onOverview?: () => void;
  /** the clock (tests fix it) */
  now?: () => number;
  /** the terminal's clipboard (OSC 52), given by the console's entry; without it y copies nothing */
  clipboard?: ClipboardLike;
}

export interface CommandContext {
  deps: ControllerDeps;
  store: Store<AppState, AppAction>;
  apply: (a: AppAction) => void;
  route: () => Route;
  now: () => number;
  /** the controller's go: every change of screen */
  go: (to: Route) => void;
  /** the walkthrough part (made after the parts that reach it) */
  walk: () => WalkController;
}
