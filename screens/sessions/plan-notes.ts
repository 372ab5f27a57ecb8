// What a plan opened from the sessions view says above its steps: each session it acts on (user,
// database, state, duration, the head of its query), how it was chosen (a blocked row: that
// session, or its root blocker(s), naming both and the one chosen), and, for a cancel of a session
// that runs no query, that the cancel does nothing there (the core's cancelDoesNothing), with
// terminate offered. Pure: the sessions commands build these, the plan screen wraps them.
import { cancelDoesNothing, type LockNode, type SessionRow } from '../../src/sessions/model';
import { clean, formatDuration } from '../format';
import type { PlanNote } from '../tasks/state';
import { cellOf, stateText } from './model';
import type { ActionChoice, ActionVerb, ChoiceOption } from './state';

/** How a plan's sessions were chosen on a blocked row. */
export interface ChosenFrom {
  from: SessionRow;
  option: ChoiceOption;
  options: ChoiceOption[];
}

export const whoShort = (r: SessionRow): string => `${clean(r.user ?? '?')}@${clean(r.database ?? '?')}`;

/** How long: the query's while one runs, the transaction's when one is open, else the connection's. */
export function durationWords(r: SessionRow): string {
  const out: string[] = [];
  if (r.state === 'active' && r.querySec !== null) out.push(`query ${formatDuration(r.querySec)}`);
  if (r.xactSec !== null) out.push(`transaction ${formatDuration(r.xactSec)}`);
  if (!out.length) out.push(`connected ${formatDuration(r.backendSec)}`);
  if (r.lockWaitSec !== null) out.push(`waiting on a lock ${formatDuration(r.lockWaitSec)}`);
  return out.join(', ');
}

const QUERY_HEAD = 80;

export function queryHead(r: SessionRow): string {
  const q = cellOf(r, 'query', 'query');
  if (!q) return '(no query)';
  return q.length > QUERY_HEAD ? `${q.slice(0, QUERY_HEAD - 1)}…` : q;
}

/** One session as a plan lists it. */
export function sessionNote(r: SessionRow): string {
  return `pid ${r.pid} · ${whoShort(r)} · ${clean(r.state ?? '?')} · ${durationWords(r)} · ${queryHead(r)}`;
}

const sessionsWord = (n: number) => `${n} session${n === 1 ? '' : 's'}`;

/** c / x on a blocked row: this session, each of its root blockers, and all of them when there are several. */
export function choiceOf(verb: ActionVerb, row: SessionRow, roots: readonly LockNode[]): ActionChoice {
  const waits = row.lockWaitSec !== null ? ` for ${formatDuration(row.lockWaitSec)}` : '';
  const options: ChoiceOption[] = [
    { kind: 'self', label: `this session: pid ${row.pid} (${whoShort(row)}, ${stateText(row.state)}, waiting on a lock${waits})`, targets: [row] },
  ];
  for (const n of roots) {
    const s = n.session!;
    options.push({ kind: 'root', label: `its root blocker: pid ${n.pid} (${whoShort(s)}, ${stateText(s.state)}, holds up ${sessionsWord(n.heldUp)})`, targets: [s] });
  }
  if (roots.length > 1) {
    options.push({ kind: 'roots', label: `all ${roots.length} root blockers: pid ${roots.map((n) => n.pid).join(', ')}`, targets: roots.map((n) => n.session!) });
  }
  // the root blocker first under the cursor: ending the head, not the victim, frees the queue
  return { verb, from: row, options, sel: 1 };
}

const VERBING: Record<ActionVerb, string> = { cancel: 'Cancels the query of', terminate: 'Terminates' };

/** The notes above a plan's steps. */
export function actionNotes(verb: ActionVerb, targets: readonly SessionRow[], chosen: ChosenFrom | null, gone: number, alternative: boolean): PlanNote[] {
  const out: PlanNote[] = [];
  if (chosen) {
    const { from, option, options } = chosen;
    out.push({ text: `Chosen on the row of pid ${from.pid}, which waits on a lock: ${option.kind === 'self' ? 'that session itself' : option.kind === 'root' ? 'its root blocker' : 'all its root blockers'}.`, bold: true });
    const picked = (o: ChoiceOption) => o === option || (option.kind === 'roots' && o.kind === 'root');
    for (const o of options) {
      if (o.kind === 'roots') continue; // the roots are listed one by one
      out.push(picked(o) ? { text: `→ chosen: ${verb} ${o.label}`, bold: true, indent: 2 } : { text: `  not chosen: ${o.label}, left as it is`, indent: 2 });
    }
  }
  out.push({ text: `${VERBING[verb]} ${sessionsWord(targets.length)}, each bound to its pid and backend start:`, bold: true });
  for (const t of targets) out.push({ text: sessionNote(t), indent: 2 });
  if (gone > 0) out.push({ text: `${sessionsWord(gone)} tagged ended since: left out`, status: 'WARNING', indent: 2 });
  if (verb === 'cancel') {
    const idle = targets.filter((t) => cancelDoesNothing(t.state) !== null);
    for (const t of idle) out.push({ text: `! pid ${t.pid}: ${cancelDoesNothing(t.state)}`, status: 'WARNING', bold: true });
    if (idle.length && alternative) out.push({ text: `x plans terminate-sessions for pid ${idle.map((t) => t.pid).join(', ')} instead.`, status: 'WARNING', bold: true });
  }
  return out;
}
