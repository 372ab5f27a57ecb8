// The checklist screens' keys, one table per screen, with the footer's hints in their order.
// The walkthrough's replies go to the controller (screens/checklists/controller.ts), which hands
// them to the core's WalkHandle.answer.
import { ANY, selectOf, TYPED, type Binding } from '../keymap';
import type { KeyName } from '../keys';
import type { KeyCtx } from '../screen';
import type { ChecklistsRoute, WalkRoute } from './state';

const ch = (c: string): KeyName => ({ ch: c });
const ignore = () => undefined;
const REVIEW_KEYS: readonly KeyName[] = ['up', 'down', 'page-up', 'page-down', 'home', 'end', ch('j'), ch('k')];

export const CHECKLISTS_KEYS: readonly Binding<KeyCtx<ChecklistsRoute>>[] = [
  { keys: REVIEW_KEYS, run: ({ ctl }, k) => ctl.apply({ type: 'select', delta: selectOf(k)! }), hint: '↑↓ choose' },
  { keys: ['enter'], run: ({ ctl, route }) => ctl.walk.openChosen(route), hint: 'Enter begin / resume' },
  { keys: ['esc'], run: ({ ctl }) => ctl.go({ screen: 'dashboard' }), hint: 'Esc back' },
  { keys: ['ctrl-c', ch('q')], run: ({ ctl }) => ctl.quit(), hint: 'q quit' },
];

type Ctx = KeyCtx<WalkRoute>;
const finished = ({ route }: Ctx) => route.finished !== null;
const waiting = ({ route }: Ctx) => !route.finished && !route.walk;
const typing = ({ route }: Ctx) => !route.finished && !!route.walk && route.mode !== null;
const walking = ({ route }: Ctx) => !route.finished && !!route.walk && route.mode === null;
const home = ({ ctl }: Ctx) => ctl.go({ screen: 'dashboard' });

export const WALK_KEYS: readonly Binding<Ctx>[] = [
  { keys: ['ctrl-c'], run: ({ ctl }) => ctl.quit() },
  // ended: back to the dashboard
  { keys: ['enter', 'esc', ch('q')], when: finished, run: home, hint: 'Enter/Esc back' },
  // not begun yet (waiting for the first health round)
  { keys: ['esc', ch('q')], when: waiting, run: home, hint: 'q leave' },
  { keys: ANY, when: (c) => finished(c) || waiting(c), run: ignore },
  // typing a skip reason, a note, an input value, "yes" at a gate
  { keys: ['enter'], when: typing, run: ({ ctl, route }) => ctl.walk.submitText(route), hint: 'Enter save' },
  { keys: ['esc'], when: typing, run: ({ ctl }) => ctl.apply({ type: 'walk-mode', mode: null }), hint: 'Esc cancel' },
  { keys: ['backspace'], when: typing, run: ({ ctl }) => ctl.apply({ type: 'erase' }) },
  { keys: TYPED, when: typing, run: ({ ctl }, k) => ctl.apply({ type: 'type', ch: (k as { ch: string }).ch }) },
  { keys: ANY, when: typing, run: ignore },
  // the walkthrough
  { keys: ['enter'], when: walking, run: ({ ctl, route }) => ctl.walk.enter(route), hint: 'Enter act' },
  { keys: [ch('s')], when: walking, run: ({ ctl, route }) => ctl.walk.skip(route), hint: 's skip' },
  { keys: [ch('n')], when: walking, run: ({ ctl, route }) => ctl.walk.openNote(route), hint: 'n note' },
  { keys: REVIEW_KEYS, when: walking, run: ({ ctl }, k) => ctl.apply({ type: 'walk-review', delta: selectOf(k)! }), hint: '↑↓ review' },
  { keys: ['esc'], when: walking, run: ({ ctl, route }) => (route.review !== null ? ctl.apply({ type: 'walk-review', delta: null }) : undefined) },
  { keys: [ch('u')], when: walking, run: ({ ctl, route }) => ctl.openHistory('attention', route), hint: 'u rollback' },
  { keys: [ch('x')], when: walking, run: ({ ctl, route }) => ctl.walk.endBlocked(route) },
  { keys: [ch('q')], when: walking, run: ({ ctl, route }) => ctl.walk.leave(route), hint: 'q leave' },
];

