// The sessions view: every client session of the cluster as a list (its columns fitted to the
// width, the query taking the rest) or as the lock tree, with its title (the counts, the console's
// own left out), the filter line, the choice on a blocked row, and the footer generated from the
// key table. Render-only: the cursor, sort and filters are the route's (the store's), the rows the
// monitor's last published list.
import { sessionCounts, type SessionRow } from '../../src/sessions/model';
import type { MonitorLike, MonitorState } from '../../src/types';
import { useMonitor } from '../hooks/useMonitor';
import { clean, hhmmss } from '../format';
import type { Line } from '../line';
import { Frame } from '../tasks/Frame';
import {
  BLANK,
  cursorAt,
  footerLineCount,
  headerLine,
  itemsOf,
  keepInView,
  listHeight,
  packHints,
  planColumns,
  queryLines,
  rowHeights,
  rowLines,
  rowNeed,
  treeLines,
  treeNeed,
  type Item,
} from './model';
import type { ActionChoice, SessionsRoute } from './state';

export interface SessionsScreenProps {
  route: SessionsRoute;
  monitor: MonitorState;
  /** the sort keys' hints, and the other keys' hints, generated from the key tables */
  sortHints: string;
  hints: string;
  help: readonly string[];
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function titleLine(route: SessionsRoute, state: MonitorState, all: readonly SessionRow[] | null): Line {
  const out: Line = [{ text: route.mode === 'tree' ? 'Sessions · lock tree' : 'Sessions', bold: true }];
  if (state.paused) out.push({ text: ' · ' }, { text: 'PAUSED', bold: true, status: 'WARNING' });
  if (all) {
    const c = sessionCounts(all);
    // the console's own are counted apart, never in the figures
    out.push({
      text: ` · ${c.total}${c.own ? ` (+${c.own} own)` : ''} · ${c.active} active · ${c.idleInTransaction} idle in tx · ${c.waiting} waiting · ${plural(c.rootBlockers, 'root blocker')}`,
    });
  }
  const pg = state.snapshot?.postgres;
  if (pg) out.push({ text: ` · ${hhmmss(pg.at)}` });
  if (state.target) out.push({ text: ` · ${clean(state.target.name)}` });
  return out;
}

/** Why there is no list: no PostgreSQL target, its error, or the first list not read yet. */
function missing(state: MonitorState): string {
  const pg = state.snapshot?.postgres;
  if (state.snapshot && !pg) return 'no PostgreSQL target is configured: there are no sessions to show';
  if (pg && !pg.ok) return `PostgreSQL: ${clean(pg.error)}`;
  return 'reading every session…';
}

function filterLine(route: SessionsRoute, shown: number, total: number): Line | null {
  if (route.input !== null) {
    return [{ text: '/ ', bold: true }, { text: clean(route.input) }, { text: '█' }, ...(route.regex ? [{ text: `   (applied now: /${clean(route.regex)}/)` }] : [])];
  }
  const bits: string[] = [];
  if (route.regex) bits.push(`filter /${clean(route.regex)}/`);
  if (route.quick) bits.push(`only ${route.quick === 'idle-in-transaction' ? 'idle in transaction' : route.quick}`);
  if (route.regex || route.quick) bits.push(`${shown} of ${total} shown`);
  if (route.tags.length) bits.push(`${route.tags.length} tagged: c / x act on them (T untags)`);
  if (!bits.length) return null;
  return [{ text: bits.join(' · '), bold: true }];
}

export function choiceLines(choice: ActionChoice): Line[] {
  const verb = choice.verb === 'cancel' ? 'Cancel the query of' : 'Terminate';
  const out: Line[] = [[{ text: `pid ${choice.from.pid} waits on a lock. ${verb}:`, bold: true, status: 'WARNING' }]];
  choice.options.forEach((o, i) => {
    const on = i === choice.sel;
    out.push([{ text: `${on ? '▶' : ' '} ${i + 1}  `, bold: on }, { text: o.label, bold: on, inverse: on }]);
  });
  return out;
}

function treeHeader(items: readonly Item[]): Line {
  const roots = items.filter((i) => i.depth === 0).length;
  const waiting = new Set(items.filter((i) => i.depth > 0).map((i) => i.key)).size;
  if (!roots) return [{ text: '  no session waits on a lock', bold: true }];
  return [{ text: `  ${plural(roots, 'root blocker')} first, the ${plural(waiting, 'session')} they hold up beneath (each with its wait)`, bold: true }];
}

export function sessionsLines(p: Omit<SessionsScreenProps, 'color'>): Line[] {
  const { route, monitor, columns, rows } = p;
  const width = Math.max(20, Math.floor(columns));
  const all = monitor.snapshot?.sessions ?? null;
  const out: Line[] = [titleLine(route, monitor, all)];
  const footerN = footerLineCount(width);
  const footer: Line[] = packHints([p.sortHints, ...p.hints.split(' · ')], width, footerN).map((t) => [{ text: t }]);
  if (p.notice) footer.splice(0, 1, [{ text: `! ${clean(p.notice)}`, bold: true, status: 'WARNING' }]);
  if (route.help) {
    const room = Math.max(1, rows - 1 - out.length - footer.length);
    out.push(...p.help.slice(0, room).map((l, i): Line => [{ text: l, bold: i === 0 }]));
    return [...out, ...footer];
  }
  if (!all) {
    out.push(BLANK, [{ text: `  ${missing(monitor)}` }]);
    return [...out, ...footer];
  }
  const items = itemsOf(all, route);
  const h = listHeight(route, rows, width);
  const at = cursorAt(items, route.cursor);
  const top = keepInView(route.top, at, items.length, h);
  const tags = new Set(route.tags);
  const shown = items.slice(top, top + h);
  // the rows left over go to the rows' queries, wrapped, fairly (rowHeights); only when every row
  // fits, so the window is the rows' count and a row is one line whenever there are more than fit
  const cols = route.mode === 'tree' ? null : planColumns(items, route, width);
  const needs = shown.map((it) => (cols ? rowNeed(it.row!, cols, route) : treeNeed(it, width, route.duration)));
  const heights = items.length <= h ? rowHeights(needs, h) : shown.map(() => 1);
  if (!cols) {
    out.push(treeHeader(items));
    shown.forEach((it, i) => out.push(...treeLines(it, width, top + i === at, tags.has(it.key), route.duration, heights[i])));
  } else {
    out.push(headerLine(cols, route));
    if (!items.length) out.push([{ text: `  no session ${route.regex || route.quick ? 'matches the filter' : 'to show'}` }]);
    shown.forEach((it, i) => out.push(...rowLines(it.row!, cols, route, top + i === at, tags.has(it.key), heights[i])));
  }
  // rows still left over (every row's query is whole then) show the cursor's session's query in
  // full, wrapped (its own line breaks kept), unless its row shows it whole already; the rest stay empty, so the filter line,
  // the choice and the footer sit at the bottom
  const used = out.length - 2;
  const cur = items[at]?.row;
  const curWhole = at >= top && at < top + shown.length && heights[at - top] >= needs[at - top];
  if (cur && !curWhole && h - used >= 4) {
    const room = h - used - 2;
    const q = queryLines(cur.query, width - 4);
    out.push(BLANK, [{ text: `  query of pid ${cur.pid}${q.length > room ? ` (${room} of ${q.length} lines: Enter shows it all)` : ''}`, bold: true }]);
    for (const l of q.slice(0, room)) out.push([{ text: `    ${l}`, accent: true }]);
  }
  for (let i = out.length - 2; i < h; i++) out.push(BLANK);
  if (items.length > h) out[1] = [...out[1], { text: `  [${top + 1}-${Math.min(items.length, top + h)}/${items.length}]` }];
  const fl = filterLine(route, items.length, all.length);
  if (fl) out.push(fl);
  if (route.error) out.push([{ text: `! ${clean(route.error)}`, bold: true, status: 'CRITICAL' }]);
  if (route.choice) out.push(...choiceLines(route.choice));
  return [...out, ...footer].slice(0, Math.max(1, rows - 1));
}

/** The view subscribed to the monitor (each published list redraws it), its hints read from the key tables on each redraw. */
export function SessionsScreen({ monitor, keys, ...rest }: Omit<SessionsScreenProps, 'monitor' | 'sortHints' | 'hints' | 'help'> & {
  monitor: MonitorLike;
  keys: () => Pick<SessionsScreenProps, 'sortHints' | 'hints' | 'help'>;
}) {
  const state = useMonitor(monitor);
  return <Frame lines={sessionsLines({ ...rest, ...keys(), monitor: state })} columns={rest.columns} color={rest.color} />;
}
