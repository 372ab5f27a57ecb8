// The drill's console: the psql command that connects to the drill is in the help overlay (the
// line `ops drill` prints is behind the console's screen until it quits). It reaches the screens
// as text through the console's options; the screens start no process to learn it. Every render
// and key press inside act(), no sleeps.
import cp from 'node:child_process';
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { healthyState } from '../support/fixtures';
import { fakeService } from '../support/fake-tasks';
import { KEY, renderApp, widthOf } from './render';

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

const PSQL = 'psql postgresql://postgres@127.0.0.1:54321/shop';
const ABOUT = ['Drill · connect from another terminal:', `  ${PSQL}`, '  kept when you quit; "ops drill clean" removes it then'];

describe('the drill console names its psql command', () => {
  test('? shows the psql command right under the help title; any key closes it', async () => {
    const spawn = vi.spyOn(cp.ChildProcess.prototype as unknown as { spawn: () => void }, 'spawn');
    const d = await renderApp({ ...healthyState(), badge: 'DRILL' }, { service: fakeService(), about: ABOUT });
    expect(d.lines()[0]).toMatch(/^\[DRILL\] ops /);
    await d.press('?');
    const lines = d.lines();
    const title = lines.findIndex((l) => l.startsWith('Help'));
    expect(title).toBeGreaterThanOrEqual(0);
    expect(lines.slice(title + 1, title + 4)).toEqual(ABOUT);
    // the keys are still all there below it
    expect(d.frame()).toMatch(/^ {2}t +tasks/m);
    await d.press(KEY.esc);
    expect(d.frame()).not.toContain(PSQL);
    expect(spawn).not.toHaveBeenCalled();
    spawn.mockRestore();
  });

  for (const [columns, rows] of [
    [80, 24],
    [60, 15],
    [40, 8],
  ] as const) {
    test(`${columns}x${rows}: the psql line is on the help screen, and no line is wider than the terminal`, async () => {
      const d = await renderApp({ ...healthyState(), badge: 'DRILL' }, { service: fakeService(), about: ABOUT, columns, rows });
      await d.press('?');
      const lines = d.raw().split('\n');
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const l of lines) expect(widthOf(l)).toBeLessThanOrEqual(columns);
      // the start of the command at least, with the port, however narrow
      const shown = d.lines().find((l) => l.startsWith('  psql '));
      expect(shown, d.frame()).toBeDefined();
      expect(PSQL.startsWith(shown!.trim().replace(/…$/, ''))).toBe(true);
      if (columns >= 60) expect(shown!.trim()).toBe(PSQL);
    });
  }

  test('a console that is not a drill has no such line', async () => {
    const d = await renderApp(healthyState(), { service: fakeService() });
    await d.press('?');
    expect(d.frame()).toContain('Help');
    expect(d.frame()).not.toMatch(/psql|Drill/);
  });
});
