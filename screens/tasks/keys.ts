// The task screens' keys, one table per screen: what each key does and the footer's hints, in
// the order the footer shows them. The controller does the work; these only pick the command.
import { ANY, MOVE_KEYS, scrollOf, selectOf, TYPED, type Binding } from '../keymap';
import type { KeyName } from '../keys';
import type { KeyCtx } from '../screen';
import { bodyHeight } from './Frame';
import { planGeometry } from './PlanScreen';
import { outputEnvOf } from './RunScreen';
import { pickOf, planBlocked, type HistoryRoute, type ParamsRoute, type PlanRoute, type RunRoute, type TasksRoute } from './state';

const ARROWS: readonly KeyName[] = ['up', 'down', 'page-up', 'page-down', 'home', 'end'];
const ch = (c: string): KeyName => ({ ch: c });
const quit = ({ ctl }: KeyCtx) => ctl.quit();

export const TASKS_KEYS: readonly Binding<KeyCtx<TasksRoute>>[] = [
  { keys: ['ctrl-c', ch('q')], run: quit },
  { keys: MOVE_KEYS, run: ({ ctl }, k) => ctl.apply({ type: 'select', delta: selectOf(k)! }), hint: '↑↓ choose' },
  {
    keys: ['enter'],
    run: ({ ctl, route }) => {
      const task = route.tasks[route.sel];
      if (task) ctl.openTask(route, task);
    },
    hint: 'Enter open',
  },
  { keys: ['esc'], run: ({ ctl }) => ctl.go({ screen: 'dashboard' }), hint: 'Esc back' },
  { keys: [], hint: 'q quit' },
];

const picking = ({ route }: KeyCtx<ParamsRoute>) => !!pickOf(route);

export const PARAMS_KEYS: readonly Binding<KeyCtx<ParamsRoute>>[] = [
  { keys: ['ctrl-c'], run: quit },
  { keys: [], hint: 'type to edit' },
  // a field with a pick list: ↑↓ move through it, Tab to the next field
  { keys: ['down'], when: picking, run: ({ ctl }) => ctl.apply({ type: 'pick', delta: 1 }), hint: '↑↓ pick' },
  { keys: ['up'], when: picking, run: ({ ctl }) => ctl.apply({ type: 'pick', delta: -1 }) },
  { keys: ['tab', 'down'], run: ({ ctl, route }) => ctl.moveField(route, 1), hint: ({ route }) => (pickOf(route) ? 'Tab field' : 'Tab ↑↓ field') },
  { keys: ['backtab', 'up'], run: ({ ctl, route }) => ctl.moveField(route, -1) },
  { keys: ['backspace'], run: ({ ctl }) => ctl.apply({ type: 'erase' }), hint: 'Backspace erase' },
  { keys: ['enter'], run: ({ ctl, route }) => ctl.submitForm(route), hint: 'Enter plan' },
  { keys: ['esc'], run: ({ ctl, route }) => ctl.go(route.from), hint: 'Esc back' },
  { keys: TYPED, run: ({ ctl }, k) => ctl.apply({ type: 'type', ch: (k as { ch: string }).ch }) },
];

const starting = ({ route }: KeyCtx<PlanRoute>) => route.starting;
const asks = (kind: PlanRoute['confirm']['kind']) => ({ route }: KeyCtx<PlanRoute>) => !route.starting && !planBlocked(route) && route.confirm.kind === kind;
const scrollPlan = ({ ctl, route }: KeyCtx<PlanRoute>, k: KeyName) => {
  const g = planGeometry(route, ctl.deps.service?.targetDisplay ?? '', ctl.size.columns, ctl.size.rows);
  ctl.apply({ type: 'plan-scroll', delta: scrollOf(k, true)!, ...g });
};

export const PLAN_KEYS: readonly Binding<KeyCtx<PlanRoute>>[] = [
  // while starting: only giving up (a server that does not answer) does anything
  { keys: [], when: starting, hint: 'starting…' },
  { keys: ['esc', 'ctrl-c', ch('c')], when: starting, run: ({ ctl }) => ctl.giveUpStart(), hint: 'Esc or c gives up' },
  { keys: ANY, when: starting, run: ({ ctl }) => ctl.apply({ type: 'notice', text: 'starting the run… (Esc or c gives up)' }) },
  { keys: ['ctrl-c'], run: quit },
  { keys: ARROWS, run: scrollPlan },
  { keys: ['esc'], run: ({ ctl, route }) => ctl.leavePlan(route) },
  // another plan offered instead (a cancel that would do nothing: terminate)
  {
    keys: [ch('x')],
    when: ({ route }) => !route.starting && !!route.alternative && route.confirm.kind !== 'type-word',
    run: ({ ctl, route }) => ctl.takeAlternative(route),
    hint: ({ route }) => route.alternative?.hint ?? '',
  },
  // its reading refused it, failed or is still out: only scrolling and going back; any other key says why
  { keys: [], when: ({ route }) => !!planBlocked(route), hint: 'Esc back' },
  { keys: [], when: ({ route }) => !!planBlocked(route), hint: '↑↓ PgUp PgDn scroll' },
  { keys: ANY, when: ({ route }) => !route.starting && !!planBlocked(route), run: ({ ctl, route }) => ctl.apply({ type: 'notice', text: planBlocked(route) }) },
  // low risk: Enter runs it
  { keys: ['enter'], when: asks('none'), run: ({ ctl, route }) => ctl.start(route), hint: 'Enter run' },
  { keys: [], when: asks('none'), hint: '↑↓ PgUp PgDn scroll' },
  { keys: [], when: asks('none'), hint: 'Esc back' },
  // y/N: y runs it, n or Enter goes back
  { keys: [ch('y'), ch('Y')], when: asks('yes-no'), run: ({ ctl, route }) => ctl.start(route), hint: 'y run' },
  { keys: ['enter', ch('n'), ch('N')], when: asks('yes-no'), run: ({ ctl, route }) => ctl.leavePlan(route, true), hint: 'n Enter Esc back' },
  { keys: [], when: asks('yes-no'), hint: '↑↓ PgUp PgDn scroll' },
  // critical: the word typed exactly
  { keys: [], when: asks('type-word'), hint: 'type the name' },
  { keys: ['enter'], when: asks('type-word'), run: ({ ctl, route }) => ctl.confirmWord(route), hint: 'Enter confirm' },
  { keys: ['backspace'], when: asks('type-word'), run: ({ ctl }) => ctl.apply({ type: 'erase' }), hint: 'Backspace erase' },
  { keys: [], when: asks('type-word'), hint: 'Esc back' },
  { keys: [], when: asks('type-word'), hint: '↑↓ scroll' },
  { keys: TYPED, when: asks('type-word'), run: ({ ctl }, k) => ctl.apply({ type: 'type', ch: (k as { ch: string }).ch }) },
];

const phaseOf = (r: RunRoute) => r.handle.runner.state.phase;
/** The pid holding the lock the running step waits for, else null. */
const lockHolderOf = (r: RunRoute): number | null => {
  const st = r.handle.runner.state;
  return st.phase === 'running' && st.current !== null ? (st.steps[st.current]?.progress?.waitingFor?.pid ?? null) : null;
};
const live = (r: RunRoute) => phaseOf(r) === 'running' || phaseOf(r) === 'rolling back';
const choosing = ({ route }: KeyCtx<RunRoute>) => route.stage === 'choosing' && !!route.modal;

const stage = (...st: RunRoute['stage'][]) => ({ route }: KeyCtx<RunRoute>) => st.includes(route.stage);
const running = (cancelSent: boolean) => ({ route }: KeyCtx<RunRoute>) => route.stage !== 'closed' && route.stage !== 'closing' && live(route) && route.cancelRequested === cancelSent;
const ignore = () => undefined;
const scrollOutput = ({ ctl, route }: KeyCtx<RunRoute>, k: KeyName) => ctl.apply({ type: 'output-scroll', delta: scrollOf(k)!, env: outputEnvOf(route, ctl.size.rows) });

const confirms = (kind: 'yes-no' | 'type-word') => ({ route }: KeyCtx<RunRoute>) => route.modal?.confirm?.kind === kind;

/** The rollback prompt's keys, while it is open. */
export const ROLLBACK_KEYS: readonly Binding<KeyCtx<RunRoute>>[] = [
  // a past run's rollbacks (the emergency rollback): the core's confirmation, y or the word typed
  { keys: ['enter'], when: confirms('type-word'), run: ({ ctl, route }) => ctl.rollback(route), hint: ({ route }) => `type ${route.modal?.confirm?.kind === 'type-word' ? route.modal.confirm.word : ''} · Enter roll back` },
  { keys: ['backspace'], when: confirms('type-word'), run: ({ ctl }) => ctl.apply({ type: 'erase' }) },
  { keys: ['esc'], when: confirms('type-word'), run: ({ ctl, route }) => ctl.closeRun(route), hint: 'Esc leave pending' },
  { keys: ['ctrl-c'], when: confirms('type-word'), run: (c) => void quit(c) },
  { keys: TYPED, when: confirms('type-word'), run: ({ ctl }, k) => ctl.apply({ type: 'type', ch: (k as { ch: string }).ch }) },
  { keys: ANY, when: confirms('type-word'), run: ignore },
  { keys: [ch('y')], when: confirms('yes-no'), run: ({ ctl, route }) => ctl.rollback(route), hint: 'y roll back chosen' },
  { keys: ['enter'], when: confirms('yes-no'), run: ({ ctl }) => ctl.apply({ type: 'notice', text: 'y runs the chosen undos; Esc leaves them pending' }) },
  { keys: [ch(' ')], run: ({ ctl }) => ctl.apply({ type: 'toggle' }), hint: 'space toggle' },
  { keys: [ch('a')], run: ({ ctl }) => ctl.apply({ type: 'choose', all: true }), hint: 'a all' },
  { keys: [ch('n')], run: ({ ctl }) => ctl.apply({ type: 'choose', all: false }), hint: 'n none' },
  { keys: [...ARROWS, ch('j'), ch('k')], run: ({ ctl }, k) => ctl.apply({ type: 'select', delta: selectOf(k)! }), hint: '↑↓ move' },
  { keys: ['enter'], when: ({ route }) => !route.modal?.confirm, run: ({ ctl, route }) => ctl.rollback(route), hint: 'Enter run chosen' },
  { keys: ['esc'], run: ({ ctl, route }) => ctl.closeRun(route), hint: 'Esc leave pending' },
  { keys: ['ctrl-c', ch('q')], run: (c) => void quit(c) },
  { keys: ANY, run: ignore },
];

export const RUN_KEYS: readonly Binding<KeyCtx<RunRoute>>[] = [
  ...ROLLBACK_KEYS.map((b) => ({ ...b, hint: undefined, when: (c: KeyCtx<RunRoute>) => choosing(c) && (!b.when || b.when(c)) })),
  // the footer, in this order
  { keys: [], when: stage('closed'), hint: 'Esc back' },
  { keys: [], when: stage('closing'), hint: 'closing the run…' },
  { keys: [], when: running(false), hint: 'c cancel' },
  { keys: [], when: running(true), hint: 'cancel sent: SIGINT, then SIGTERM, then SIGKILL' },
  { keys: [], when: (c) => !stage('closing')(c) && !running(true)(c), hint: '↑↓ PgUp PgDn scroll' },
  { keys: [], when: running(true), hint: '↑↓ scroll' },
  { keys: [], when: stage('closed'), hint: 'q quit' },
  { keys: [], when: (c) => !stage('closed', 'closing')(c), hint: 'End follow' },
  // o: the session the running step waits for (src/tasks/progress.ts reads it), in the sessions view
  { keys: [ch('o')], when: ({ route }) => lockHolderOf(route) !== null, run: ({ ctl, route }) => ctl.sessions.open(lockHolderOf(route)!, route), hint: 'o open the blocking session' },
  // the keys
  { keys: MOVE_KEYS, run: scrollOutput },
  // c cancels a live run; Ctrl-C too, and asks to quit once nothing runs
  { keys: ['ctrl-c', ch('c')], run: ({ ctl, route }, k) => (ctl.cancelRun(route) || k !== 'ctrl-c' ? undefined : ctl.quit()) },
  { keys: [ch('q')], run: quit },
  {
    keys: ['esc', 'enter'],
    run: ({ ctl, route }, k) => {
      if (route.stage === 'closed') return ctl.leaveRun(route);
      if (k === 'esc') ctl.apply({ type: 'notice', text: live(route) ? 'a run is in progress: Esc goes back once it has ended; c cancels it' : 'closing the run…' });
    },
  },
];

const logOpen = ({ route }: KeyCtx<HistoryRoute>) => route.log !== null;
const list = ({ route }: KeyCtx<HistoryRoute>) => route.log === null;
const opening = ({ route }: KeyCtx<HistoryRoute>) => route.opening;

export const HISTORY_KEYS: readonly Binding<KeyCtx<HistoryRoute>>[] = [
  { keys: ANY, when: opening, run: ({ ctl }) => ctl.apply({ type: 'notice', text: 'opening the run…' }) },
  { keys: ['ctrl-c', ch('q')], run: quit },
  // a run's log, opened
  { keys: MOVE_KEYS, when: logOpen, run: ({ ctl }, k) => ctl.apply({ type: 'log-scroll', delta: scrollOf(k)!, height: bodyHeight(ctl.size.rows) }) },
  { keys: ['esc'], when: logOpen, run: ({ ctl }) => ctl.apply({ type: 'log', log: null }) },
  { keys: ANY, when: logOpen, run: ignore },
  // the list of runs
  { keys: [], when: logOpen, hint: '↑↓ PgUp PgDn Home End scroll' },
  { keys: [], when: logOpen, hint: 'Esc back' },
  { keys: MOVE_KEYS, when: list, run: ({ ctl }, k) => ctl.apply({ type: 'select', delta: selectOf(k)! }), hint: '↑↓ choose' },
  // the emergency list: Enter shows the selected run's undo, to confirm; l its log
  { keys: ['enter'], when: (c) => list(c) && c.route.mode === 'attention', run: ({ ctl, route }) => ctl.openForRollback(route), hint: 'Enter undo (rollback)' },
  { keys: [ch('l')], when: (c) => list(c) && c.route.mode === 'attention', run: ({ ctl, route }) => ctl.openLog(route), hint: 'l log' },
  { keys: ['enter'], when: (c) => list(c) && c.route.mode !== 'attention', run: ({ ctl, route }) => ctl.openLog(route), hint: 'Enter log' },
  { keys: [ch('u')], when: (c) => list(c) && c.route.mode !== 'attention', run: ({ ctl, route }) => ctl.openForRollback(route), hint: 'u undo (rollback)' },
  { keys: [ch('u')], when: list, run: ({ ctl, route }) => ctl.openForRollback(route) },
  { keys: ['esc'], when: list, run: ({ ctl, route }) => ctl.go(route.back ? { ...route.back, need: null } : { screen: 'dashboard' }), hint: 'Esc back' },
  { keys: [], when: list, hint: 'q quit' },
];
