// The overview of every configured target (issue 15 §1): one line each (name, role, verdict and
// score, connections, its worst problem, the time of its figures), the host's own checks on top.
// ↑↓ choose, Enter opens that target's dashboard (whose o comes back here), r refreshes, q quits.
// It draws OverviewState (src/overview.ts) and never judges: statuses are the rules'.
import { useInput, type Key } from 'ink';
import { useCallback, useReducer, useRef, useSyncExternalStore } from 'react';
import type { OverviewLike, OverviewLine, OverviewState } from '../../src/overview';
import type { Status } from '../../src/types';
import { clean, fit, hhmmss, shortenMiddle, suffix, worstOf } from '../format';
import { useTerminalSize } from '../hooks/useTerminalSize';
import { charOf, keysOf, type KeyName } from '../keys';
import type { Line } from '../panels';
import { fitFrame, footer, Frame } from '../tasks/Frame';
import { windowAround } from '../tasks/model';

export interface OverviewProps {
  overview: OverviewLike;
  onOpen: (name: string) => void;
  onQuit: () => void;
  color: boolean;
  columns?: number;
  rows?: number;
  /** the target the cursor starts on (the one whose dashboard was just left) */
  initial?: string | null;
}

type Act = 'up' | 'down' | 'open' | 'refresh' | 'quit';

/** The keys, the footer's hints and what each does: the one table both are made from. */
const KEYS: readonly { keys: readonly KeyName[]; act: Act; hint?: string }[] = [
  { keys: ['up'], act: 'up', hint: '↑↓ choose' },
  { keys: ['down'], act: 'down' },
  { keys: ['enter'], act: 'open', hint: 'Enter open its dashboard' },
  { keys: [{ ch: 'r' }], act: 'refresh', hint: 'r refresh' },
  { keys: [{ ch: 'q' }, 'ctrl-c'], act: 'quit', hint: 'q quit' },
];
const HINTS = KEYS.flatMap((k) => (k.hint ? [k.hint] : [])).join(' · ');

function actOf(k: KeyName): Act | null {
  const ch = charOf(k);
  for (const entry of KEYS) if (entry.keys.some((x) => (typeof x === 'object' ? x.ch === ch : x === k))) return entry.act;
  return null;
}

const STATUS_WORD: Record<Status, string> = { OK: 'OK', WARNING: 'WARNING', CRITICAL: 'CRITICAL', UNKNOWN: 'UNKNOWN' };

/** Below this width the time column gives its room to the problem (the header has the clock). */
const AT_COLUMNS = 100;

function lineOf(l: OverviewLine, selected: boolean, columns: number, widths: { name: number; role: number }): Line {
  const verdict = l.status ? `${suffix(l.status).padEnd(2)} ${STATUS_WORD[l.status]}`.padEnd(11) : '   waiting…'.padEnd(11);
  const score = l.score === null ? '    ' : `${String(l.score).padStart(3)}%`;
  const conns = (l.connections ?? '-').padStart(9);
  const at = l.at === null ? '        ' : hhmmss(l.at);
  const head = `${selected ? '▶' : ' '} ${fit(clean(l.name), widths.name)}  ${fit(clean(l.role ?? '-'), widths.role)}  `;
  const tail = `  ${score} ${conns}  ${columns >= AT_COLUMNS ? `${at}  ` : ''}${l.stale ? '(old) ' : ''}`;
  const room = Math.max(0, columns - head.length - verdict.length - tail.length);
  const problem = l.top ? fit(clean(l.top), room) : l.status === 'OK' ? fit('all checks OK', room) : fit('', room);
  return [
    { text: head, bold: selected },
    { text: verdict, status: l.status ?? undefined, bold: l.status !== null && l.status !== 'OK' },
    { text: tail },
    { text: problem, status: l.status && l.status !== 'OK' ? l.status : undefined },
  ];
}

export function overviewLines(state: OverviewState, selected: number, columns: number, rows: number, now = Date.now()): Line[] {
  const verdict = worstOf([...state.lines.map((l) => l.status).filter((s): s is Status => s !== null), ...(state.host ? [state.host.status] : [])]);
  const header: Line = [
    { text: `ops ${clean(state.hostname)} · overview · ${state.lines.length} targets · ` },
    verdict ? { text: `${suffix(verdict) ? `${suffix(verdict)} ` : ''}${verdict}`, status: verdict, bold: true } : { text: 'waiting…' },
    { text: ` · ${hhmmss(now)}` },
  ];
  const body: Line[] = [];
  const host = state.host;
  if (host) {
    const bad = host.checks.filter((c) => c.status !== 'OK');
    body.push([
      { text: 'host ' },
      { text: `${suffix(host.status) ? `${suffix(host.status)} ` : ''}${host.status}`, status: host.status, bold: host.status !== 'OK' },
      { text: ` · ${clean(bad.length ? bad.map((c) => c.summary).join(' · ') : host.checks.filter((c) => c.group === 'host').map((c) => c.summary).join(' · '))}` },
    ]);
  } else body.push([{ text: 'host · waiting for its first round…' }]);
  body.push([]);
  const widths = {
    name: Math.min(24, Math.max(6, ...state.lines.map((l) => clean(l.name).length))),
    role: Math.min(22, Math.max(4, ...state.lines.map((l) => clean(l.role ?? '-').length))),
  };
  body.push([{ text: `  ${fit('target', widths.name)}  ${fit('role', widths.role)}  ${fit('verdict', 11)}  score     conns  ${columns >= AT_COLUMNS ? 'at        ' : ''}problem`, bold: true }]);
  const room = Math.max(1, rows - 3 - body.length - 1);
  const top = windowAround(selected, state.lines.length, room);
  for (let i = top; i < Math.min(state.lines.length, top + room); i++) body.push(lineOf(state.lines[i], i === selected, columns, widths));
  // the selected target's URL, whole where it fits, else shortened in its middle
  const sel = state.lines[selected];
  if (sel) body.push([{ text: `  ${shortenMiddle(clean(sel.display), Math.max(10, columns - 2))}` }]);
  return fitFrame(header, body, footer(HINTS, null), rows);
}

export function Overview({ overview, onOpen, onQuit, color, columns: c, rows: r, initial }: OverviewProps) {
  const { columns, rows } = useTerminalSize(c, r);
  const state = useSyncExternalStore(overview.subscribe, overview.getState, overview.getState);
  // the cursor lives in a ref: keys that arrive together (↓ then Enter) each see the one before
  const cursor = useRef(Math.max(0, state.lines.findIndex((l) => l.name === initial)));
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const onInput = useCallback(
    (input: string, key: Key) => {
      const lines = overview.getState().lines;
      for (const k of keysOf(input, key)) {
        const act = actOf(k);
        if (act === 'up' || act === 'down') {
          cursor.current = Math.max(0, Math.min(lines.length - 1, cursor.current + (act === 'up' ? -1 : 1)));
          redraw();
        } else if (act === 'refresh') overview.refreshNow();
        else if (act === 'open') {
          const line = lines[cursor.current];
          if (line) return onOpen(line.name);
        } else if (act === 'quit') return onQuit();
      }
    },
    [overview, onOpen, onQuit],
  );
  useInput(onInput);
  const selected = Math.min(cursor.current, Math.max(0, state.lines.length - 1));
  return <Frame lines={overviewLines(state, selected, columns, rows)} columns={columns} color={color} />;
}
