// The sessions view's keys and a session's detail's keys: one table each, giving what each key
// does, the footer's hints (in table order) and the help overlay's lines. The sort keys are a
// table of their own (generated from the columns), drawn as the footer's first line.
import { ANY, MOVE_KEYS, scrollOf, selectOf, TYPED, type Binding } from '../keymap';
import type { KeyName } from '../keys';
import type { KeyCtx } from '../screen';
import { DURATION_HEAD } from './model';
import { SESSION_COLUMNS, type SessionColumn, type SessionRoute, type SessionsRoute, type SessionsScreenRoute } from './state';

type Ctx = KeyCtx<SessionsRoute>;
type DetailCtx = KeyCtx<SessionRoute>;

const ch = (c: string): KeyName => ({ ch: c });
const ignore = () => undefined;
const quit = ({ ctl }: KeyCtx) => (ctl.quit(), 'stop' as const);

/** The columns as the footer and the help name them. */
export const COLUMN_WORD: Record<SessionColumn, string> = {
  pid: 'pid',
  database: 'db',
  user: 'user',
  application: 'app',
  client: 'client',
  state: 'state',
  wait: 'wait',
  duration: 'time',
  query: 'query',
};

const helpOpen = ({ route }: Ctx) => route.help;
const choosing = ({ route }: KeyCtx<SessionsScreenRoute>) => !!route.choice;
const typing = ({ route }: Ctx) => route.input !== null;
const normal = (c: Ctx) => !helpOpen(c) && !choosing(c) && !typing(c);
const acting = (c: Ctx) => normal(c) && !!c.ctl.deps.service;
const tagged = (c: Ctx) => acting(c) && c.route.tags.length > 0;

/** 1 … 9: sort by that column; again: the other way. */
export const SORT_BINDINGS: readonly Binding<Ctx>[] = SESSION_COLUMNS.map((col, i) => ({
  keys: [ch(String(i + 1))],
  when: normal,
  run: ({ ctl, route }: Ctx) => ctl.sessions.sortBy(route, col),
  hint: ({ route }: Ctx) => `${i + 1} ${COLUMN_WORD[col]}${route.mode === 'list' && route.sort === col ? (route.dir === 'asc' ? '▲' : '▼') : ''}`,
  ...(i === 0 ? { help: { keys: '1 … 9', text: `sort: ${SESSION_COLUMNS.map((c, k) => `${k + 1} ${COLUMN_WORD[c]}`).join(' ')} (again: reverse)` } } : {}),
}));

/** The choice on a blocked row (c / x): this session, or its root blocker(s). */
function choiceBindings<R extends SessionsScreenRoute>(): Binding<KeyCtx<R>>[] {
  return [
    { keys: ['ctrl-c'], when: choosing, run: quit },
    { keys: ['up', 'down', ch('j'), ch('k'), 'home', 'end'], when: choosing, run: ({ ctl, route }, k) => ctl.sessions.choiceMove(route, selectOf(k) as number | 'home' | 'end'), hint: '↑↓ choose' },
    { keys: ['enter'], when: choosing, run: ({ ctl, route }) => ctl.sessions.choose(route), hint: 'Enter its plan' },
    {
      keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(ch),
      when: choosing,
      run: ({ ctl, route }, k) => ctl.sessions.choose(route, Number((k as { ch: string }).ch) - 1),
      hint: ({ route }) => `1-${route.choice!.options.length} pick`,
    },
    { keys: ['esc', ch('q')], when: choosing, run: ({ ctl, route }) => ctl.sessions.closeChoice(route), hint: 'Esc back' },
    { keys: ANY, when: choosing, run: ignore },
  ];
}

export const SESSIONS_KEYS: readonly Binding<Ctx>[] = [
  { keys: ['ctrl-c'], when: (c) => !choosing(c), run: quit },
  // the help overlay: any key closes it
  { keys: ANY, when: helpOpen, run: ({ ctl }) => ctl.sessions.help(false), hint: 'any key closes the help' },
  ...choiceBindings<SessionsRoute>(),
  // the / prompt
  { keys: ['enter'], when: typing, run: ({ ctl, route }) => ctl.sessions.applyFilter(route), hint: 'Enter apply' },
  { keys: ['esc'], when: typing, run: ({ ctl, route }) => ctl.sessions.clearFilter(route), hint: 'Esc clear the filter' },
  { keys: ['backspace'], when: typing, run: ({ ctl, route }) => ctl.sessions.eraseFilter(route), hint: 'Backspace erase' },
  { keys: [], when: typing, hint: 'a regex over database, user, application and query' },
  { keys: TYPED, when: typing, run: ({ ctl, route }, k) => ctl.sessions.typeFilter(route, (k as { ch: string }).ch) },
  { keys: ANY, when: typing, run: ignore },
  // the list
  ...SORT_BINDINGS.map((b) => ({ ...b, hint: undefined })),
  { keys: MOVE_KEYS, when: normal, run: ({ ctl, route }, k) => ctl.sessions.move(route, scrollOf(k)!), help: { keys: '↑ ↓ / j k', text: 'move (PgUp PgDn: a page, g G Home End: first, last); the cursor stays on its session' } },
  { keys: ['enter'], when: normal, run: ({ ctl, route }) => ctl.sessions.openDetail(route), hint: 'Enter detail', help: { keys: 'Enter', text: "the session's detail: its full query, times, locks, who it blocks and who blocks it" } },
  { keys: [ch('c')], when: acting, run: ({ ctl, route }) => ctl.sessions.act(route, 'cancel'), hint: 'c cancel', help: { keys: 'c', text: 'cancel the query (of the tagged sessions, else of this one; on a blocked one: it, or its root blocker)' } },
  { keys: [ch('x')], when: acting, run: ({ ctl, route }) => ctl.sessions.act(route, 'terminate'), hint: 'x terminate', help: { keys: 'x', text: 'terminate the session (the same choice as c)' } },
  { keys: [ch('t')], when: acting, run: ({ ctl, route }) => ctl.sessions.tag(route), hint: ({ route }) => (route.tags.length ? `t tag (${route.tags.length})` : 't tag'), help: { keys: 't', text: 'tag / untag the session, for one plan over several (c or x then acts on the tagged)' } },
  { keys: [ch('T')], when: tagged, run: ({ ctl, route }) => ctl.sessions.clearTags(route), hint: 'T untag all' },
  { keys: [], when: acting, help: { keys: 'T', text: 'untag every session' } },
  { keys: [ch('/')], when: normal, run: ({ ctl, route }) => ctl.sessions.openFilter(route), hint: '/ filter', help: { keys: '/', text: 'filter: a regex over database, user, application and query (Esc clears)' } },
  { keys: [ch('a')], when: normal, run: ({ ctl, route }) => ctl.sessions.quick(route, 'active'), hint: 'a i w quick filters', help: { keys: 'a', text: 'only the active sessions (again: all)' } },
  { keys: [ch('i')], when: normal, run: ({ ctl, route }) => ctl.sessions.quick(route, 'idle-in-transaction'), help: { keys: 'i', text: 'only the sessions idle in a transaction (again: all)' } },
  { keys: [ch('w')], when: normal, run: ({ ctl, route }) => ctl.sessions.quick(route, 'waiting'), help: { keys: 'w', text: 'only the sessions waiting on a lock (again: all)' } },
  {
    keys: [ch('d')],
    when: normal,
    run: ({ ctl, route }) => ctl.sessions.switchDuration(route),
    hint: ({ route }) => `d ${DURATION_HEAD[route.duration].toLowerCase()}`,
    help: { keys: 'd', text: "the time shown: the query's (Q-TIME), the transaction's (X-TIME), the backend's (B-TIME)" },
  },
  { keys: [ch('L'), ch('l')], when: normal, run: ({ ctl, route }) => ctl.sessions.toggleMode(route), hint: ({ route }) => (route.mode === 'list' ? 'L lock tree' : 'L list'), help: { keys: 'L', text: 'the lock tree: root blockers first, the sessions they hold up beneath / the list' } },
  {
    keys: [ch(' ')],
    when: normal,
    run: ({ ctl }) => ctl.deps.monitor.togglePause(),
    hint: ({ ctl }) => `space ${ctl.deps.monitor.getState().paused ? 'resume' : 'pause'}`,
    help: { keys: 'space', text: 'pause / resume refreshing (a confirmation pauses too)' },
  },
  { keys: [ch('r')], when: normal, run: ({ ctl }) => ctl.deps.monitor.refreshNow(), help: { keys: 'r', text: 'refresh now' } },
  { keys: [ch('?')], when: normal, run: ({ ctl }) => ctl.sessions.help(true), hint: '? help', help: { keys: '?', text: 'this help' } },
  { keys: ['esc'], when: normal, run: ({ ctl }) => ctl.sessions.back(), hint: 'Esc back', help: { keys: 'Esc', text: 'back to the dashboard' } },
  { keys: [ch('q')], when: normal, run: quit, hint: 'q quit', help: { keys: 'q, Ctrl-C', text: 'quit' } },
];

const detailNormal = (c: DetailCtx) => !choosing(c);

export const SESSION_KEYS: readonly Binding<DetailCtx>[] = [
  ...choiceBindings<SessionRoute>(),
  { keys: ['ctrl-c', ch('q')], run: quit },
  { keys: MOVE_KEYS, when: detailNormal, run: ({ ctl, route }, k) => ctl.sessions.detailScroll(route, scrollOf(k)!), hint: '↑↓ scroll' },
  { keys: [ch('y')], when: detailNormal, run: ({ ctl, route }) => ctl.sessions.copyQuery(route), hint: 'y copy the query' },
  { keys: [ch('c')], when: (c) => detailNormal(c) && !!c.ctl.deps.service, run: ({ ctl, route }) => ctl.sessions.act(route, 'cancel'), hint: 'c cancel' },
  { keys: [ch('x')], when: (c) => detailNormal(c) && !!c.ctl.deps.service, run: ({ ctl, route }) => ctl.sessions.act(route, 'terminate'), hint: 'x terminate' },
  { keys: ['esc', 'enter'], when: detailNormal, run: ({ ctl, route }) => ctl.sessions.leaveDetail(route), hint: 'Esc back' },
  { keys: [], hint: 'q quit', when: detailNormal },
];
