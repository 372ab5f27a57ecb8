// Subscribes a screen to a task runner, batching redraws: the runner notifies per output line
// (thousands a second under heavy output); the screen re-renders at most once per `redrawMs`
// (100 ms: 10 frames a second), the first change at once, later ones at the end of the window.
// While a step runs, a slow tick keeps its elapsed time moving when it prints nothing.
import { useEffect, useState } from 'react';
import type { RunnerLike } from '../../src/tasks/engine';

export interface Throttle {
  /** something changed: flush now, or at the end of the current window */
  trigger(): void;
  cancel(): void;
}

/** Calls `flush` at most once per `ms` (leading and trailing edge); ms <= 0 flushes every time. */
export function createThrottle(flush: () => void, ms: number, now: () => number = Date.now): Throttle {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    timer = null;
    last = now();
    flush();
  };
  return {
    trigger() {
      if (timer) return;
      const wait = ms - (now() - last);
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** A number that changes when the screen should redraw the runner's state. */
export function useRunnerVersion(runner: RunnerLike | null, redrawMs = 100, tickMs = 1000): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!runner) return;
    const throttle = createThrottle(() => setVersion((v) => v + 1), redrawMs);
    const off = runner.subscribe(() => throttle.trigger());
    const tick =
      tickMs > 0
        ? setInterval(() => {
            const p = runner.state.phase;
            if (p === 'running' || p === 'rolling back') throttle.trigger();
          }, tickMs)
        : null;
    throttle.trigger(); // whatever changed before the subscription
    return () => {
      off();
      throttle.cancel();
      if (tick) clearInterval(tick);
    };
  }, [runner, redrawMs, tickMs]);
  return version;
}
