// The checklist screens' state: the list of checklists (with unfinished walkthroughs), and the
// walkthrough itself, held through its handle (the core's WalkHandle) with the last state it
// published. The console's store (screens/state.ts) routes these actions here.
import type { Checklist } from '../../src/checklists/model';
import type { Need, WalkHandle, WalkSummary } from '../../src/checklists/walkthrough';
import { moveSel } from '../keymap';

export interface ChecklistsRoute {
  screen: 'checklists';
  checklists: Checklist[];
  /** walkthroughs left unfinished, listed below the checklists (Enter resumes one) */
  unfinished: WalkSummary[];
  errors: string[];
  sel: number;
}

/** Text being typed: a skip reason, a note, an input step's value, or "yes" at a warn gate. */
export interface TextMode {
  kind: 'skip' | 'note' | 'input' | 'gate';
  /** the step it is for (bound when the prompt opened) */
  index: number;
  text: string;
}

export interface WalkRoute {
  screen: 'checklist';
  /** null until it has begun: a new walkthrough waits for the first health round (its baseline) */
  walk: WalkHandle | null;
  /** the checklist to begin once health data exists */
  beginning: string | null;
  /** what the current step needs, as of the last evaluation */
  need: Need | null;
  /** a step under review (↑↓), or null to follow the current step */
  review: number | null;
  mode: TextMode | null;
  error: string | null;
  /** once ended: how, and where the report went */
  finished: { outcome: string; report: string | null } | null;
  /** the walkthrough's state as it last published it (a new object after each record): the screen redraws on it */
  seen: WalkSummary | null;
}

export const newWalkRoute = (walk: WalkHandle | null, beginning: string | null): WalkRoute => ({
  screen: 'checklist',
  walk,
  beginning,
  need: null,
  review: null,
  mode: null,
  error: null,
  finished: null,
  seen: walk?.state ?? null,
});

export type WalkAction =
  | { type: 'walk-begun'; walk: WalkHandle }
  | { type: 'walk-need'; need: Need }
  | { type: 'walk-review'; delta: number | 'home' | 'end' | null }
  | { type: 'walk-mode'; mode: TextMode | null }
  /** the walkthrough published a new state (a record, a note, its end) */
  | { type: 'walk-changed'; state: WalkSummary }
  /** a reply was recorded: the prompt closes */
  | { type: 'walk-recorded' }
  | { type: 'walk-finished'; outcome: string; report: string | null };

export function walkReducer(r: WalkRoute, a: WalkAction | { type: 'type'; ch: string } | { type: 'erase' } | { type: 'error'; error: string | null }): WalkRoute {
  switch (a.type) {
    case 'walk-begun':
      return { ...r, walk: a.walk, beginning: null, seen: a.walk.state };
    case 'walk-need':
      return sameNeed(r.need, a.need) ? r : { ...r, need: a.need };
    case 'walk-review': {
      if (!r.walk) return r;
      const n = r.walk.state.steps.length;
      if (a.delta === null) return { ...r, review: null };
      const from = r.review ?? r.walk.current ?? n - 1;
      const to = a.delta === 'home' ? 0 : a.delta === 'end' ? n - 1 : Math.max(0, Math.min(n - 1, from + a.delta));
      return { ...r, review: to };
    }
    case 'walk-mode':
      return { ...r, mode: a.mode, error: null };
    case 'walk-changed':
      return a.state === r.seen ? r : { ...r, seen: a.state };
    case 'walk-recorded':
      return r.mode === null && r.error === null ? r : { ...r, mode: null, error: null };
    case 'walk-finished':
      return { ...r, finished: { outcome: a.outcome, report: a.report }, mode: null };
    case 'type':
      return r.mode ? { ...r, mode: { ...r.mode, text: r.mode.text + a.ch }, error: null } : r;
    case 'erase':
      return r.mode ? { ...r, mode: { ...r.mode, text: [...r.mode.text].slice(0, -1).join('') } } : r;
    case 'error':
      return { ...r, error: a.error };
  }
}

function sameNeed(a: Need | null, b: Need): boolean {
  if (!a || a.kind !== b.kind) return false;
  if (a.kind === 'done' || b.kind === 'done') return a.kind === b.kind;
  if (a.index !== b.index) return false;
  const va = 'verdict' in a ? a.verdict : null;
  const vb = 'verdict' in b ? b.verdict : null;
  if (va?.value !== vb?.value || va?.pass !== vb?.pass) return false;
  return ('why' in a ? a.why : '') === ('why' in b ? b.why : '');
}

/** The list of checklists: ↑↓ over the checklists, then the unfinished walkthroughs. */
export function checklistsReducer(r: ChecklistsRoute, a: { type: 'select'; delta: number | 'home' | 'end' }): ChecklistsRoute {
  const sel = moveSel(r.sel, a.delta, r.checklists.length + r.unfinished.length);
  return sel === r.sel ? r : { ...r, sel };
}
