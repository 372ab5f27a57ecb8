// The rollback prompt after a failure or a cancel (or for a past run): the completed steps'
// rollbacks, newest first, each with what it will run; the operator picks all, some or none.
// The list is frozen when the prompt opens, and choices are step ids, never row numbers.
import { clean } from '../format';
import type { Line } from '../panels';
import { bodyHeight, fitFrame, footer, Frame } from './Frame';
import { hardWrap, ranText, riskSeg, windowAround } from './model';
import type { RunRoute } from './state';

export interface RollbackModalProps {
  /** the footer's key hints, generated from the screen's key table */
  hints: string;
  route: RunRoute;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

export function rollbackModalLines({ route, hints, notice, columns, rows }: Omit<RollbackModalProps, 'color'>): Line[] {
  const state = route.handle.runner.state;
  const m = route.modal!;
  const header: Line = [{ text: 'Rollback', bold: true }, { text: ` · ${clean(state.task)} ` }, riskSeg(state.risk), { text: ` · ${clean(state.runId)}` }];
  const failed = state.steps.find((s) => s.status === 'failed' || s.status === 'cancelled' || s.status === 'timeout');
  // a past run (the emergency rollback) says how it ended as journaled: a succeeded run did not stop
  const outcome = route.past ? route.past.outcome : state.outcome;
  const ok = outcome === 'succeeded';
  const body: Line[] = [
    [
      { text: ranText(outcome).replace(/^t/, 'T'), status: ok ? 'OK' : 'WARNING', bold: true },
      { text: failed && !ok ? ` at "${clean(failed.title)}". ` : '. ' },
      { text: 'Undo what it changed, newest step first:' },
    ],
  ];
  if (route.past?.changed) body.push([{ text: 'It changed: ' }, { text: clean(route.past.changed), accent: true }]);
  const w = Math.max(10, columns - 8);
  // less the intro line, what it changed, the count line and the typed word
  const h = Math.max(1, bodyHeight(rows) - 2 - (route.past?.changed ? 1 : 0) - (m.confirm?.kind === 'type-word' ? 1 : 0));
  const n = Math.max(1, m.items.length);
  // each item: its title line and up to 3 lines of what it runs, fewer when many must fit
  const detailMax = Math.max(1, Math.min(3, Math.floor(h / n) - 1));
  const top = windowAround(m.sel, m.items.length, Math.max(1, Math.floor(h / (1 + detailMax))));
  let used = 0;
  for (let i = top; i < m.items.length && used < h; i++) {
    const item = m.items[i];
    const on = i === m.sel;
    const chosen = m.chosen.includes(item.step);
    body.push([
      { text: on ? '▶ ' : '  ', bold: on },
      { text: chosen ? '[x] ' : '[ ] ', bold: chosen, status: chosen ? 'WARNING' : undefined },
      { text: `undo ${item.index + 1}. ${clean(item.title)}`, bold: on, inverse: on },
    ]);
    used++;
    for (const d of hardWrap(clean(item.detail), w).slice(0, detailMax)) {
      if (used >= h) break;
      body.push([{ text: '      ' }, { text: d, accent: true }]);
      used++;
    }
  }
  const go = m.confirm?.kind === 'yes-no' ? 'y runs them' : m.confirm?.kind === 'type-word' ? `type ${m.confirm.what} (${m.confirm.word}) and Enter to run them` : 'Enter runs them';
  body.push([
    { text: `${m.chosen.length} of ${m.items.length} chosen`, bold: true },
    { text: m.chosen.length ? ` · ${go}, newest first` : m.confirm ? ' · none chosen: Esc leaves them pending' : ' · Enter with none chosen leaves them pending (ops rollback, or u in history)' },
  ]);
  if (m.confirm?.kind === 'type-word') body.push([{ text: `> ${clean(m.typed ?? '')}`, bold: true }]);
  return fitFrame(header, body, footer(hints, notice), rows);
}

export function RollbackModal(props: RollbackModalProps) {
  return <Frame lines={rollbackModalLines(props)} columns={props.columns} color={props.color} />;
}
