// Hostile text on the console's screens: a run's output lines and its step error, and the
// dashboard's sessions, holding a title-setting OSC, a clear-screen CSI, an 8-bit CSI, BEL and
// the bidi override U+202E. ink writes its own colour escapes; none of the planted ones may pass.
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';

vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

import { cleanup } from 'ink-testing-library';
import { healthyState, unhealthyState } from '../support/fixtures';
import { fakeService } from '../support/fake-tasks';
import { KEY, renderApp, renderDashboard, type Rendered } from './render';

const HOSTILE = 'evil\x1b]0;pwned\x07\x1b[2J\u009b2J\u202Etxt.exe\u2066x\u2069 \x7f\x00end';

/** The planted sequences and characters; ink's own SGR escapes (ESC [ ... m) are allowed. */
function planted(raw: string): string[] {
  const found: string[] = [];
  if (raw.includes(']0;pwned')) found.push('OSC title');
  if (raw.includes('\x1b[2J')) found.push('clear screen');
  for (const c of ['\x07', '\u009b', '\u202e', '\u2066', '\u2069', '\x7f', '\x00']) if (raw.includes(c)) found.push(`U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // any ESC that does not start an SGR sequence
  if (/\x1b(?!\[[0-9;]*m)/.test(raw)) found.push('ESC outside SGR');
  return found;
}

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

async function openTask(d: Rendered, service: ReturnType<typeof fakeService>, id: string) {
  await d.press('t');
  const i = service.tasks().tasks.findIndex((t) => t.id === id);
  for (let k = 0; k < i; k++) await d.press(KEY.down);
  await d.press(KEY.enter);
}

describe('hostile text on the screens', () => {
  test('the run screen: output lines and a step error holding escapes and U+202E', async () => {
    const service = fakeService();
    const d = await renderApp(healthyState(), { service });
    await openTask(d, service, 'analyze');
    await d.press(KEY.enter);
    await d.press(KEY.enter);
    const runner = service.last().runner;
    await act(async () => {
      runner.push([`INFO: analyzing "public.${HOSTILE}"`, `\x1b[31m${HOSTILE}\x1b[0m`]);
      runner.setStep(0, { status: 'failed', error: `relation "${HOSTILE}" does not exist` });
    });
    expect(d.frame()).toContain('INFO: analyzing "public.evil');
    expect(planted(d.raw())).toEqual([]);
  });

  test('the dashboard: a session whose application name and query text hold them', async () => {
    const state = unhealthyState();
    const pg = state.snapshot!.postgres!;
    if (!pg.ok) throw new Error('fixture');
    pg.data.blocked[0].query = `SELECT '${HOSTILE}'`;
    pg.data.blocked[0].application = HOSTILE;
    const d = await renderDashboard(state, { columns: 160, rows: 40 });
    expect(d.frame()).toContain('(evil');
    expect(planted(d.raw())).toEqual([]);
  });
});
