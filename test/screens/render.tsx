// Helpers for the screen tests: render the dashboard inside act(), send keys inside act(), read frames.
import { render } from 'ink-testing-library';
import { act } from 'react';
import stringWidth from 'string-width';
import { vi } from 'vitest';
import { App, type AppProps } from '../../screens/App';
import { Dashboard, type DashboardProps } from '../../screens/App';
import type { MonitorState } from '../../src/types';
import { fixedMonitor, type FixedMonitor } from '../support/fixtures';

export const KEY = {
  tab: '\t',
  shiftTab: '\x1b[Z',
  up: '\x1b[A',
  down: '\x1b[B',
  esc: '\x1b',
  ctrlC: '\u0003',
  enter: '\r',
  backspace: '\x7f',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  end: '\x1b[F',
  home: '\x1b[H',
} as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

export interface Rendered {
  monitor: FixedMonitor;
  onQuit: ReturnType<typeof vi.fn>;
  /** the last frame, ANSI escapes removed */
  frame(): string;
  /** the last frame as written, escapes included */
  raw(): string;
  lines(): string[];
  /** one stdin chunk, delivered inside act() */
  press(chunk: string): Promise<void>;
  /** resizes the fake terminal and emits 'resize' (inside act) */
  resize(columns: number, rows: number): Promise<void>;
  unmount(): void;
}

export async function renderDashboard(state: MonitorState, props: Partial<Omit<DashboardProps, 'monitor' | 'onQuit'>> = {}): Promise<Rendered> {
  const monitor = fixedMonitor(state);
  const onQuit = vi.fn();
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(<Dashboard monitor={monitor} onQuit={onQuit} columns={80} rows={24} {...props} />);
  });
  const raw = () => r.lastFrame() ?? '';
  const frame = () => stripAnsi(raw());
  return {
    monitor,
    onQuit,
    raw,
    frame,
    lines: () => frame().split('\n'),
    press: async (chunk) => {
      await act(async () => {
        r.stdin.write(chunk);
      });
    },
    resize: async (columns, rows) => {
      await act(async () => {
        Object.defineProperty(r.stdout, 'columns', { configurable: true, get: () => columns });
        Object.defineProperty(r.stdout, 'rows', { configurable: true, get: () => rows });
        r.stdout.emit('resize');
      });
    },
    unmount: () => r.unmount(),
  };
}

/** The whole console (dashboard and task screens), as runConsole renders it, at 80x24 by default. */
export async function renderApp(state: MonitorState, props: Partial<Omit<AppProps, 'monitor' | 'onQuit'>> = {}): Promise<Rendered> {
  const monitor = fixedMonitor(state);
  const onQuit = vi.fn();
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(<App monitor={monitor} onQuit={onQuit} columns={80} rows={24} redrawMs={0} tickMs={0} {...props} />);
  });
  const raw = () => r.lastFrame() ?? '';
  const frame = () => stripAnsi(raw());
  return {
    monitor,
    onQuit,
    raw,
    frame,
    lines: () => frame().split('\n'),
    press: async (chunk) => {
      await act(async () => {
        r.stdin.write(chunk);
      });
    },
    resize: async (columns, rows) => {
      await act(async () => {
        Object.defineProperty(r.stdout, 'columns', { configurable: true, get: () => columns });
        Object.defineProperty(r.stdout, 'rows', { configurable: true, get: () => rows });
        r.stdout.emit('resize');
      });
    },
    unmount: () => r.unmount(),
  };
}

export function widthOf(line: string): number {
  return stringWidth(stripAnsi(line));
}

/** The title line of a panel ("▶ Disks …" or "  Disks …"). */
export function titleOf(lines: string[], title: string): string | undefined {
  return lines.find((l) => l.startsWith(`▶ ${title} `) || l.startsWith(`  ${title} `));
}

export function focusedTitle(lines: string[]): string | undefined {
  return lines.find((l) => l.startsWith('▶ '));
}
