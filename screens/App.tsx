// The console's shell: it makes the controller once (screens/controller.ts), subscribes to its
// store, hands each key to the screen table (the one root input handler: one raw-mode user, bound
// once, each chunk split into keys), and draws the current screen. Nothing else happens here:
// navigation, runs, rollbacks and walkthroughs are the controller's.
import { useInput, type Key } from 'ink';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { ChecklistServiceLike } from '../src/checklists/service';
import type { TaskServiceLike } from '../src/tasks/service';
import type { MonitorLike } from '../src/types';
import { createController } from './controller';
import { useRunnerVersion } from './hooks/useRunnerVersion';
import { useTerminalSize } from './hooks/useTerminalSize';
import { keysOf } from './keys';
import type { ClipboardLike } from './sessions/clipboard';
import { drawScreen, routeKey } from './screen-table';
import { BadgeContext } from './tasks/Frame';

export interface AppProps {
  monitor: MonitorLike;
  /** the task engine; without it the console is the dashboard alone */
  service?: TaskServiceLike;
  /** checklists and walkthroughs; without it the console has no checklist screens */
  checklists?: ChecklistServiceLike;
  /** open on a walkthrough: a new one of this checklist, or one to resume */
  walk?: { begin: string } | { resume: string } | null;
  /** open on the emergency rollback list (the console's u): `ops rollback` at a terminal */
  start?: 'emergency-rollback';
  /** lines at the top of the dashboard's help overlay (a drill's psql command) */
  about?: readonly string[];
  onQuit: () => void;
  /** opened from the overview of every target: o goes back there (screens/console.tsx runConsole) */
  onOverview?: () => void;
  /** forced size (tests); otherwise the terminal's, following resize events */
  columns?: number;
  rows?: number;
  color?: boolean;
  /** redraws of a run's screen are batched to one per this many ms (default 100); tests pass 0 */
  redrawMs?: number;
  /** a running step's elapsed time ticks this often (default 1000 ms; 0: never) */
  tickMs?: number;
  /** the clock for elapsed times (tests) */
  now?: () => number;
  /** the terminal's clipboard (OSC 52 to stdout, given by screens/console.tsx); tests pass a spy */
  clipboard?: ClipboardLike;
}

export function App({ monitor, service, checklists, walk, start, about, onQuit, onOverview, columns: columnsProp, rows: rowsProp, color = true, redrawMs = 100, tickMs = 1000, now, clipboard }: AppProps) {
  const { columns, rows } = useTerminalSize(columnsProp, rowsProp);
  // made once: the services are the console's for its whole life (onQuit and now may change)
  const [ctl] = useState(() => createController({ monitor, service, checklists, clipboard, onQuit: () => onQuitNow(), onOverview: onOverview ? () => onOverviewNow() : undefined, now: () => nowNow() }));
  const onOverviewNow = useLatest(() => onOverview?.());
  const onQuitNow = useLatest(onQuit);
  const nowNow = useLatest(() => now?.() ?? Date.now());
  ctl.resize(columns, rows);

  const state = useSyncExternalStore(ctl.store.subscribe, ctl.store.getState, ctl.store.getState);
  const handleInput = useCallback(
    (input: string, key: Key) => {
      for (const k of keysOf(input, key)) if (routeKey(ctl, k) === 'stop') return;
    },
    [ctl],
  );
  useInput(handleInput);

  useEffect(() => {
    ctl.begin(walk ?? null);
    if (start === 'emergency-rollback') ctl.openHistory('attention');
    return () => ctl.dispose();
    // opened once, on the walkthrough the console was started for
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ctl]);

  // a run's screen redraws at most every redrawMs (its output arrives line by line)
  const runner = state.route.screen === 'run' ? state.route.handle.runner : null;
  useRunnerVersion(runner, redrawMs, tickMs);

  return <BadgeContext.Provider value={monitor.getState().badge}>{drawScreen({ route: state.route, state, ctl, columns, rows, color, now: now?.(), about })}</BadgeContext.Provider>;
}

/** A function that always calls the latest `fn` given (a prop that may change between renders). */
function useLatest<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R {
  const [box] = useState(() => ({ fn }));
  box.fn = fn;
  return useCallback((...a: A) => box.fn(...a), [box]);
}

export interface DashboardProps {
  monitor: MonitorLike;
  onQuit: () => void;
  columns?: number;
  rows?: number;
  color?: boolean;
  about?: readonly string[];
}

/** The dashboard alone (no task service): the console with nothing but its health. */
export function Dashboard(props: DashboardProps) {
  return <App {...props} />;
}

export default App;
