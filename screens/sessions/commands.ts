// The sessions part of the console's controller (screens/controller.ts): opening the view,
// moving its cursor (bound to the session's identity), sorting, the duration switch, the
// filters, the lock tree, tags, a session's detail and copying its query, and c / x: the plan of
// cancel-query or terminate-sessions bound to the sessions chosen (pid and backend start), with
// the choice between a blocked session and its root blocker(s). Each command computes the change
// from the list as the monitor last published it, so a key acts on what is on screen.
import { errorLine } from '../../src/errors';
import { cancelDoesNothing, DURATION_KINDS, filterRegex, rootBlockersOf, sessionKey, type SessionRow, type SortDir } from '../../src/sessions/model';
import type { CommandContext } from '../command-context';
import { moveSel, type ScrollDelta } from '../keymap';
import { paramFields, scrollTop } from '../tasks/model';
import type { PlanExtra } from '../tasks/plan-commands';
import { cursorAt, detailHeight, detailLineCount, isOwn, itemsOf, keepInView, listHeight, type Item } from './model';
import { actionNotes, choiceOf, type ChosenFrom } from './plan-notes';
import { newSessionsRoute, type ActionVerb, type SessionColumn, type SessionRoute, type SessionsRoute, type SessionsScreenRoute, type SessionsView } from './state';

export type SessionsCommands = ReturnType<typeof sessionsCommands>;

export const TASK_OF: Record<ActionVerb, string> = { cancel: 'cancel-query', terminate: 'terminate-sessions' };

/** Numbers and times sort largest first on the first press; names A to Z. */
const FIRST_DIR: Record<SessionColumn, SortDir> = {
  pid: 'asc',
  database: 'asc',
  user: 'asc',
  application: 'asc',
  client: 'asc',
  state: 'asc',
  wait: 'asc',
  duration: 'desc',
  query: 'asc',
};

export function sessionsCommands(
  c: CommandContext,
  size: { columns: number; rows: number },
  planOf: (taskId: string, params: Record<string, unknown>, back: undefined, extra: PlanExtra) => void,
) {
  const { deps, apply, go } = c;
  const notice = (text: string) => apply({ type: 'notice', text });
  const view = (patch: Partial<SessionsView>) => apply({ type: 'sessions-view', patch });
  /** every client session as the monitor last published it; null before the first list */
  const rowsNow = (): SessionRow[] | null => deps.monitor.getState().snapshot?.sessions ?? null;
  const itemsNow = (v: SessionsView): Item[] => {
    const all = rowsNow();
    return all ? itemsOf(all, v) : [];
  };
  const liveRow = (key: string): SessionRow | undefined => rowsNow()?.find((r) => sessionKey(r) === key);

  /** Applies a change of the view with the cursor kept on its session (or moved to row `index`), in view. */
  function settle(r: SessionsRoute, next: Partial<SessionsView>, index?: number): void {
    const v = { ...r, ...next };
    const items = itemsNow(v);
    const i = index ?? cursorAt(items, v.cursor);
    const cursor = i >= 0 ? { key: items[i].key, index: i } : v.cursor;
    view({ ...next, cursor, top: keepInView(v.top, i, items.length, listHeight(v, size.rows, size.columns)) });
  }

  /**
   * Pins the cursor to the session it is drawn on when it has none yet (the view just opened, or
   * the first list arrived) or its session has left the list: from then on it follows that
   * session. Called on each published list and change of the view (screens/controller.ts).
   */
  function pin(): void {
    const r = c.route();
    if (r.screen !== 'sessions') return;
    const items = itemsNow(r);
    if (!items.length) return;
    if (r.cursor.key !== null && r.cursor.pid === undefined && items.some((x) => x.key === r.cursor.key)) return;
    settle(r, {});
  }

  /** Opens the view; on the session of this pid when one is given (the dashboard's marked row). */
  function open(pid?: number, back?: SessionsRoute['back']): void {
    const r = newSessionsRoute(pid !== undefined ? { cursor: { key: null, index: 0, pid } } : {});
    go(back ? { ...r, back } : r);
  }

  function move(r: SessionsRoute, delta: ScrollDelta): void {
    const items = itemsNow(r);
    if (!items.length) return;
    const h = listHeight(r, size.rows, size.columns);
    const step = delta === 'page-up' ? -h : delta === 'page-down' ? h : delta;
    settle(r, {}, moveSel(cursorAt(items, r.cursor), step, items.length));
  }

  function sortBy(r: SessionsRoute, sort: SessionColumn): void {
    const dir: SortDir = r.sort === sort ? (r.dir === 'asc' ? 'desc' : 'asc') : FIRST_DIR[sort];
    settle(r, { sort, dir, mode: 'list' });
  }

  function switchDuration(r: SessionsRoute): void {
    const duration = DURATION_KINDS[(DURATION_KINDS.indexOf(r.duration) + 1) % DURATION_KINDS.length];
    settle(r, { duration });
  }

  function quick(r: SessionsRoute, q: NonNullable<SessionsView['quick']>): void {
    settle(r, { quick: r.quick === q ? null : q, mode: 'list' });
  }

  const openFilter = (r: SessionsRoute) => view({ input: r.regex, error: null });
  const typeFilter = (r: SessionsRoute, ch: string) => view({ input: (r.input ?? '') + ch });
  const eraseFilter = (r: SessionsRoute) => view({ input: [...(r.input ?? '')].slice(0, -1).join('') });
  const clearFilter = (r: SessionsRoute) => settle(r, { regex: '', input: null, error: null });

  /** Enter at the / prompt: the regex applied; a bad one keeps the old filter and says why. */
  function applyFilter(r: SessionsRoute): void {
    const text = r.input ?? '';
    if (text === '') return clearFilter(r);
    try {
      filterRegex(text);
    } catch (err) {
      view({ error: errorLine(err) });
      return;
    }
    settle(r, { regex: text, input: null, error: null, mode: 'list' });
  }

  const toggleMode = (r: SessionsRoute) => settle(r, { mode: r.mode === 'list' ? 'tree' : 'list' });

  /** t: tags the cursor's session (or untags it), and moves down a row. */
  function tag(r: SessionsRoute): void {
    const items = itemsNow(r);
    const i = cursorAt(items, r.cursor);
    const it = items[i];
    if (!it) return;
    if (!it.row) return notice(`pid ${it.pid} is not a client session: it cannot be tagged`);
    if (isOwn(it.row)) return notice(`pid ${it.pid} is the console's own session: the tasks never signal it`);
    const tags = r.tags.includes(it.key) ? r.tags.filter((k) => k !== it.key) : [...r.tags, it.key];
    settle(r, { tags }, Math.min(i + 1, items.length - 1));
  }

  const clearTags = (r: SessionsRoute) => settle(r, { tags: [] });

  function openDetail(r: SessionsRoute): void {
    const items = itemsNow(r);
    const i = cursorAt(items, r.cursor);
    const it = items[i];
    if (!it) return;
    if (!it.row) return notice(`pid ${it.pid} is not a client session: there is no detail to show`);
    go({ screen: 'session', from: { ...r, cursor: { key: it.key, index: i } }, key: it.key, last: it.row, top: 0, choice: null });
  }

  const leaveDetail = (d: SessionRoute) => go({ ...d.from, choice: null });

  function detailScroll(d: SessionRoute, delta: ScrollDelta): void {
    const row = liveRow(d.key) ?? d.last;
    const top = scrollTop(d.top, delta, detailLineCount(row, rowsNow() ?? [], size.columns, !liveRow(d.key)), detailHeight(d, size.rows));
    apply({ type: 'session-detail', patch: { top } });
  }

  /** y: the query copied to the operator's clipboard (OSC 52 through the terminal). */
  function copyQuery(d: SessionRoute): void {
    const row = liveRow(d.key) ?? d.last;
    const clip = deps.clipboard;
    if (!clip || !clip.copy(row.query)) return notice('no terminal to copy to');
    notice(`copied the query of pid ${row.pid} (${[...row.query].length} characters) with OSC 52: the terminal, or tmux, must allow it`);
  }

  // ---------------------------------------------------------------- c / x

  const withoutChoice = <R extends SessionsScreenRoute>(r: R): R => ({ ...r, choice: null });

  /** c / x: the tagged sessions, or the cursor's; on a blocked one, first the choice of it or its root blocker(s). */
  function act(r: SessionsScreenRoute, verb: ActionVerb): void {
    if (!deps.service) return;
    const all = rowsNow() ?? [];
    if (r.screen === 'sessions' && r.tags.length) {
      const live = r.tags.map((k) => all.find((x) => sessionKey(x) === k)).filter((x): x is SessionRow => !!x);
      if (!live.length) return notice('the sessions tagged have all ended: nothing to act on (T clears the tags)');
      return plan(r, verb, live, null, r.tags.length - live.length);
    }
    let row: SessionRow | undefined;
    if (r.screen === 'session') row = liveRow(r.key) ?? r.last;
    else {
      const items = itemsNow(r);
      const it = items[cursorAt(items, r.cursor)];
      if (!it) return;
      if (!it.row) return notice(`pid ${it.pid} is not a client session: cancel-query and terminate-sessions act on client sessions only`);
      row = it.row;
    }
    if (isOwn(row)) return notice(`pid ${row.pid} is the console's own session: the tasks never signal it`);
    const roots = rootBlockersOf(all, row.pid).filter((n) => n.pid !== row.pid && n.session && !isOwn(n.session));
    if (roots.length) {
      const choice = choiceOf(verb, row, roots);
      if (r.screen === 'sessions') view({ choice });
      else apply({ type: 'session-detail', patch: { choice } });
      return;
    }
    plan(r, verb, [row], null, 0);
  }

  function choiceMove(r: SessionsScreenRoute, delta: number | 'home' | 'end'): void {
    if (!r.choice) return;
    const choice = { ...r.choice, sel: moveSel(r.choice.sel, delta, r.choice.options.length) };
    if (r.screen === 'sessions') view({ choice });
    else apply({ type: 'session-detail', patch: { choice } });
  }

  const closeChoice = (r: SessionsScreenRoute) => (r.screen === 'sessions' ? view({ choice: null }) : apply({ type: 'session-detail', patch: { choice: null } }));

  /** Enter (or an option's number) in the choice: the plan over that option's sessions, naming both. */
  function choose(r: SessionsScreenRoute, index = r.choice?.sel ?? 0): void {
    const choice = r.choice;
    const option = choice?.options[index];
    if (!choice || !option) return;
    plan(r, choice.verb, option.targets, { from: choice.from, option, options: choice.options }, 0);
  }

  /** The plan of the task, bound to each session's pid and backend start, with what it is about above its steps. */
  function plan(r: SessionsScreenRoute, verb: ActionVerb, targets: SessionRow[], chosen: ChosenFrom | null, gone: number): void {
    const svc = deps.service;
    if (!svc) return;
    const paramsOf = (taskId: string, rows: SessionRow[]) => {
      let bySessions = true;
      try {
        const task = svc.tasks().tasks.find((t) => t.id === taskId);
        if (task) bySessions = paramFields(task).some((f) => f.name === 'sessions');
      } catch {
        // planOf reports the service's error
      }
      return bySessions ? { sessions: rows.map(sessionKey) } : { pids: rows.map((x) => x.pid) };
    };
    const idle = verb === 'cancel' ? targets.filter((t) => cancelDoesNothing(t.state) !== null) : [];
    const alternative = idle.length
      ? {
          hint: `x terminate ${idle.map((t) => t.pid).join(', ')} instead`,
          taskId: TASK_OF.terminate,
          params: paramsOf(TASK_OF.terminate, idle),
          preface: actionNotes('terminate', idle, null, 0, false),
        }
      : undefined;
    const extra: PlanExtra = {
      fromSessions: withoutChoice(r),
      preface: actionNotes(verb, targets, chosen, gone, !!alternative),
      ...(alternative ? { alternative } : {}),
    };
    planOf(TASK_OF[verb], paramsOf(TASK_OF[verb], targets), undefined, extra);
  }

  return {
    open,
    pin,
    move,
    sortBy,
    switchDuration,
    quick,
    openFilter,
    typeFilter,
    eraseFilter,
    applyFilter,
    clearFilter,
    toggleMode,
    tag,
    clearTags,
    openDetail,
    leaveDetail,
    detailScroll,
    copyQuery,
    act,
    choiceMove,
    closeChoice,
    choose,
    help: (open: boolean) => view({ help: open }),
    back: () => {
      const r = c.route();
      // back is always a route the controller handed to open() (see SessionsRoute.back)
      go(r.screen === 'sessions' && r.back ? (r.back as Parameters<typeof go>[0]) : { screen: 'dashboard' });
    },
    /** the monitor's row for this key, when the session is still there */
    liveRow,
    rowsNow,
  };
}
