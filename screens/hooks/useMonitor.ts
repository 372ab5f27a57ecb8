// Subscribes a component to a MonitorLike. Re-renders only when the monitor publishes a new state
// (the monitor must return the same object from getState() until something changes).
import { useCallback, useSyncExternalStore } from 'react';
import type { MonitorLike, MonitorState } from '../../src/types';

export function useMonitor(monitor: MonitorLike): MonitorState {
  const subscribe = useCallback((listener: () => void) => monitor.subscribe(listener), [monitor]);
  const getState = useCallback(() => monitor.getState(), [monitor]);
  return useSyncExternalStore(subscribe, getState, getState);
}
