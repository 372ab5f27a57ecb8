// NO_COLOR / --no-color: colour=false must emit no colour escapes, yet keep every textual marker.
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';

// Ink colours through chalk, which turns itself off when stdout is not a terminal (as under a test
// runner). Force it on before ink loads, so "no colour" is a property of the screen, not of the runner.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

import { cleanup } from 'ink-testing-library';
import { dbDownState, unhealthyState } from '../support/fixtures';
import { renderDashboard, titleOf } from './render';

// eslint-disable-next-line no-control-regex
const COLOUR = /\x1b\[(?:3[0-9]|9[0-7]|4[0-9]|10[0-7])(?:;[0-9]+)*m/;

afterEach(async () => {
  await act(async () => {
    cleanup();
  });
});

describe('colour', () => {
  test('with colour on, statuses are coloured (red for CRITICAL)', async () => {
    const d = await renderDashboard(unhealthyState());
    expect(d.raw()).toMatch(COLOUR);
    expect(d.raw()).toContain('\x1b[31m'); // red
  });

  test('color=false: no colour escapes at all, markers and words still there', async () => {
    const d = await renderDashboard(unhealthyState({ many: true }), { color: false });
    const raw = d.raw();
    expect(raw).not.toMatch(COLOUR);
    const lines = d.lines();
    expect(lines[0]).toContain('!! CRITICAL');
    expect(lines.find((l) => /^.. \/var +95%/.test(l))).toMatch(/^!! /);
    expect(titleOf(lines, 'Tables')).toContain('public.orders dead 80.0%!!');
    expect(titleOf(lines, 'Sessions')).toContain('10 blocked!');
    expect(lines.find((l) => l.startsWith('cpu '))).toContain('72.0%!');
  });

  test('color=false stays colourless after keys, with help and with the database down', async () => {
    const d = await renderDashboard(dbDownState({ badge: 'DRILL', paused: true }), { color: false, columns: 120, rows: 35 });
    expect(d.raw()).not.toMatch(COLOUR);
    expect(d.lines()[0]).toContain('[DRILL]');
    await d.press('\t');
    expect(d.raw()).not.toMatch(COLOUR);
    await d.press('?');
    expect(d.raw()).not.toMatch(COLOUR);
  });
});
