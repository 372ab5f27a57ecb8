// What a screen is to the console: a module with its key table and its drawing. The screen table
// (screens/screen-table.tsx) has one row per route, checked by the compiler: a new screen is one
// module and one row there.
import type { ReactElement } from 'react';
import type { Controller } from './controller';
import type { Binding } from './keymap';
import type { AppState, Route, ScreenName } from './state';

/** What a key binding works on: the controller, the route it was pressed on, the whole state. */
export interface KeyCtx<R extends Route = Route> {
  ctl: Controller;
  route: R;
  state: AppState;
}

/** What drawing a screen gets: its route, the terminal, and the generated footer hints. */
export interface DrawProps<R extends Route = Route> {
  route: R;
  state: AppState;
  ctl: Controller;
  hints: string;
  columns: number;
  rows: number;
  color: boolean;
  /** the clock for elapsed times (tests fix it) */
  now?: number;
  /** lines at the top of the dashboard's help overlay (a drill's psql command) */
  about?: readonly string[];
}

export interface ScreenModule<R extends Route> {
  keys: readonly Binding<KeyCtx<R>>[];
  draw: (p: DrawProps<R>) => ReactElement;
}

export type ScreenTable = { [K in ScreenName]: ScreenModule<Extract<Route, { screen: K }>> };
