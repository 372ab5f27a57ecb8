// The sessions view's pure parts: the rows it shows (filtered and sorted, or the lock tree), the
// cursor found again by the session's identity, the columns fitted to the width, and the lines of
// the list, the tree and one session's detail. No React and no I/O: the key table's commands and
// the drawing call the same functions on the same data, so a key acts on what is on screen.
import {
  filterSessions,
  flattenTree,
  lockTree,
  rootBlockersOf,
  sessionKey,
  sortSessions,
  waitText,
  durationOf,
  type DurationKind,
  type LockNode,
  type SessionLock,
  type SessionRow,
} from '../../src/sessions/model';
import { clean, fit, formatDuration, wrapWords } from '../format';
import type { Line, Seg } from '../line';
import type { SessionColumn, SessionCursor, SessionsView } from './state';

/** A blank line: an empty one would take no row on screen (Ink gives an empty text no height). */
export const BLANK: Line = [{ text: ' ' }];

// ---------------------------------------------------------------- the rows shown

/** One row of the list or the tree. */
export interface Item {
  /** the session's identity (sessionKey); `pid:<n>` for a blocker that is not a client session */
  key: string;
  pid: number;
  /** null for a blocker that is not a client session (autovacuum, a prepared transaction) */
  row: SessionRow | null;
  /** the tree's depth (0 in the list) */
  depth: number;
  node?: LockNode;
}

/** The console's own session (its own connections, and the backend that read the list). */
export const isOwn = (r: SessionRow): boolean => r.own || r.self;
const own = isOwn;

/** The list as the view filters and sorts it. The filter's regex is always a valid one (checked when applied). */
export function listItems(all: readonly SessionRow[], view: Pick<SessionsView, 'regex' | 'quick' | 'sort' | 'dir' | 'duration'>): Item[] {
  let kept: SessionRow[];
  try {
    kept = filterSessions(all, { regex: view.regex || undefined, quick: view.quick ?? undefined });
  } catch {
    kept = [...all];
  }
  return sortSessions(kept, view.sort, view.dir, { duration: view.duration }).map((row) => ({ key: sessionKey(row), pid: row.pid, row, depth: 0 }));
}

/** The lock tree, depth first: root blockers first, the sessions they hold up beneath. */
export function treeItems(all: readonly SessionRow[]): Item[] {
  return flattenTree(lockTree(all)).map(({ node, depth }) => ({
    key: node.session ? sessionKey(node.session) : `pid:${node.pid}`,
    pid: node.pid,
    row: node.session,
    depth,
    node,
  }));
}

let memo: { all: readonly SessionRow[]; sig: string; items: Item[] } | null = null;

/** The rows of the view's mode (memoized on the last list and view: a key and its redraw share one sort). */
export function itemsOf(all: readonly SessionRow[], view: SessionsView): Item[] {
  const sig = view.mode === 'tree' ? 'tree' : `${view.regex}\u0000${view.quick}\u0000${view.sort}\u0000${view.dir}\u0000${view.duration}`;
  if (memo && memo.all === all && memo.sig === sig) return memo.items;
  const items = view.mode === 'tree' ? treeItems(all) : listItems(all, view);
  memo = { all, sig, items };
  return items;
}

/** Where the cursor is: its session's row, else (once) the pid asked for, else the row number it had, kept in range; -1 when empty. */
export function cursorAt(items: readonly Item[], cursor: SessionCursor): number {
  if (items.length === 0) return -1;
  if (cursor.key !== null) {
    const i = items.findIndex((x) => x.key === cursor.key);
    if (i >= 0) return i;
  }
  if (cursor.pid !== undefined) {
    const i = items.findIndex((x) => x.pid === cursor.pid);
    if (i >= 0) return i;
  }
  return Math.max(0, Math.min(cursor.index, items.length - 1));
}

/** The first row shown, so that the cursor's row is in a window of `height` rows. */
export function keepInView(top: number, index: number, count: number, height: number): number {
  const h = Math.max(1, height);
  let t = Math.max(0, Math.min(top, Math.max(0, count - h)));
  if (index >= 0 && index < t) t = index;
  if (index >= t + h) t = index - h + 1;
  return Math.max(0, t);
}

// ---------------------------------------------------------------- the frame's geometry

/** The footer's lines at this width: the sort keys and the other keys, packed (what does not fit is in the ? help). */
export function footerLineCount(columns: number): number {
  return columns >= 220 ? 1 : columns >= 110 ? 2 : 3;
}

/** Lines the choice box takes: its title and each option. */
export const choiceHeight = (view: Pick<SessionsView, 'choice'>): number => (view.choice ? view.choice.options.length + 1 : 0);

/** Lines of the filter and error lines. */
export function extraLines(view: SessionsView): number {
  const filterLine = view.input !== null || view.regex !== '' || view.quick !== null || view.tags.length > 0 ? 1 : 0;
  return filterLine + (view.error ? 1 : 0);
}

/** The rows of sessions the list shows (Ink's frame stays below rows - 1): the title, the column header and the footer around them. */
export function listHeight(view: SessionsView, rows: number, columns: number): number {
  return Math.max(1, Math.floor(rows) - 1 - 2 - footerLineCount(columns) - extraLines(view) - choiceHeight(view));
}

/** Footer items packed into at most `lines` lines of `width`, in order; what does not fit is left out. */
export function packHints(items: readonly string[], width: number, lines: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const it of items.filter(Boolean)) {
    if (cur === '') cur = it;
    else if (cur.length + 3 + it.length <= width) cur = `${cur} · ${it}`;
    else {
      out.push(cur);
      if (out.length === lines) return out;
      cur = it;
    }
  }
  if (cur) out.push(cur);
  return out.slice(0, lines);
}

// ---------------------------------------------------------------- cells and columns

const STATE_SHORT: Record<string, string> = {
  'idle in transaction': 'idle in tx',
  'idle in transaction (aborted)': 'aborted tx',
  'fastpath function call': 'fastpath',
};

export const stateText = (state: string | null): string => (state === null ? '?' : (STATE_SHORT[state] ?? state));

export const DURATION_HEAD: Record<DurationKind, string> = { query: 'Q-TIME', transaction: 'X-TIME', backend: 'B-TIME' };
export const DURATION_WORD: Record<DurationKind, string> = { query: "the query's", transaction: "the transaction's", backend: "the backend's" };

const oneLine = (s: string) => clean(s).replace(/\s+/g, ' ').trim();

export function cellOf(row: SessionRow, col: SessionColumn, duration: DurationKind): string {
  switch (col) {
    case 'pid':
      return String(row.pid);
    case 'database':
      return clean(row.database ?? '-');
    case 'user':
      return clean(row.user ?? '-');
    case 'application':
      return clean(row.application || '-');
    case 'client':
      return clean(row.client);
    case 'state':
      return stateText(row.state);
    case 'wait':
      return clean(waitText(row) ?? '-');
    case 'duration': {
      const d = durationOf(row, duration);
      return d === null ? '-' : formatDuration(d);
    }
    case 'query':
      return `${own(row) ? '[own] ' : ''}${oneLine(row.query)}`;
  }
}

interface ColSpec {
  id: SessionColumn;
  head: string;
  /** the widest it gets */
  cap: number;
  /** the widest it gets when the width is short */
  narrow: number;
  right?: boolean;
  /** left out when the width is short, lowest first */
  drop?: number;
}

const SPECS: readonly ColSpec[] = [
  { id: 'pid', head: 'PID', cap: 7, narrow: 7, right: true },
  { id: 'database', head: 'DB', cap: 16, narrow: 10, drop: 4 },
  { id: 'user', head: 'USER', cap: 16, narrow: 10, drop: 3 },
  { id: 'application', head: 'APP', cap: 20, narrow: 12, drop: 2 },
  { id: 'client', head: 'CLIENT', cap: 24, narrow: 15, drop: 1 },
  { id: 'state', head: 'STATE', cap: 10, narrow: 10 },
  { id: 'wait', head: 'WAIT', cap: 20, narrow: 14 },
  { id: 'duration', head: 'TIME', cap: 7, narrow: 7, right: true },
];

export interface Column {
  id: SessionColumn;
  head: string;
  width: number;
  right: boolean;
}

/** The prefix of a row: the cursor's ▸ and the tag's +. */
export const PREFIX = 2;

/** The columns at this width: each as wide as its widest cell (capped); the query takes the rest; the least needed left out when short. */
export function planColumns(items: readonly Item[], view: Pick<SessionsView, 'duration' | 'sort' | 'dir'>, columns: number): Column[] {
  const width = Math.max(20, Math.floor(columns));
  const queryMin = Math.max(20, Math.floor(width * 0.3));
  const headOf = (s: ColSpec) => (s.id === 'duration' ? DURATION_HEAD[view.duration] : s.head);
  const natural = (s: ColSpec, cap: number) => {
    let w = headOf(s).length + (view.sort === s.id ? 1 : 0);
    for (const it of items) if (it.row) w = Math.max(w, cellOf(it.row, s.id, view.duration).length);
    return Math.min(w, Math.max(cap, headOf(s).length + 1));
  };
  const sum = (cols: { width: number }[]) => cols.reduce((n, c) => n + c.width + 1, PREFIX);
  const build = (specs: readonly ColSpec[], narrow: boolean) =>
    specs.map((s) => ({ id: s.id, head: headOf(s), width: natural(s, narrow ? s.narrow : s.cap), right: !!s.right }));
  let specs = [...SPECS];
  let cols = build(specs, false);
  if (width - sum(cols) < queryMin) cols = build(specs, true);
  const drops = SPECS.filter((s) => s.drop !== undefined).sort((a, b) => a.drop! - b.drop!);
  for (const d of drops) {
    if (width - sum(cols) >= queryMin) break;
    specs = specs.filter((s) => s !== d);
    cols = build(specs, true);
  }
  return [...cols, { id: 'query', head: 'QUERY', width: Math.max(1, width - sum(cols)), right: false }];
}

const arrow = (view: Pick<SessionsView, 'sort' | 'dir'>, id: SessionColumn) => (view.sort === id ? (view.dir === 'asc' ? '▲' : '▼') : '');

function cell(text: string, c: Column): string {
  if (c.id === 'query') return fit(text, c.width).trimEnd();
  return c.right && text.length <= c.width ? text.padStart(c.width) : fit(text, c.width);
}

export function headerLine(cols: readonly Column[], view: Pick<SessionsView, 'sort' | 'dir'>): Line {
  const text = ' '.repeat(PREFIX) + cols.map((c) => cell(c.head + arrow(view, c.id), c)).join(' ');
  return [{ text: text.trimEnd(), bold: true }];
}

export function rowLine(row: SessionRow, cols: readonly Column[], view: Pick<SessionsView, 'duration'>, on: boolean, tagged: boolean): Line {
  return rowLines(row, cols, view, on, tagged, 1)[0];
}

/** Where the query column starts on a row: the prefix and the other columns, each with its space. */
export const queryOffset = (cols: readonly Column[]): number => cols.reduce((n, c) => (c.id === 'query' ? n : n + c.width + 1), PREFIX);

/** Word-wraps a text whose first line has `first` columns and the others `rest` (a word longer than `rest` is cut). */
function hang(text: string, first: number, rest: number): string[] {
  if (first >= rest) return wrapWords(text, rest);
  const words = text.split(/\s+/).filter(Boolean);
  let line = '';
  let i = 0;
  for (; i < words.length; i++) {
    const next = line ? `${line} ${words[i]}` : words[i];
    if (next.length > first) break;
    line = next;
  }
  return [line, ...wrapWords(words.slice(i).join(' '), rest)];
}

/**
 * A text in at most `height` lines, wrapped at word boundaries (a word longer than the width is
 * cut): the first line `width` columns wide, the others `rest`; the last line shown is cut with …
 * when the rest does not fit.
 */
export function wrapCell(text: string, width: number, height: number, rest = width): string[] {
  const w = Math.max(1, width);
  const r = Math.max(1, rest);
  const k = Math.max(1, Math.floor(height));
  if (k === 1) return [fit(text, w).trimEnd()];
  const lines = hang(text, w, r);
  if (lines.length === 0) return [''];
  if (lines.length <= k) return lines;
  return [...lines.slice(0, k - 1), fit(lines.slice(k - 1).join(' ').trim(), r).trimEnd()];
}

/** Lines a text needs to be whole (at least one), its first line `width` columns wide, the others `rest`. */
export const linesNeeded = (text: string, width: number, rest = width): number =>
  Math.max(1, text.trim() === '' ? 1 : hang(text, Math.max(1, width), Math.max(1, rest)).length);

/**
 * The lines each row gets in `room` lines: one each, and when every row fits (`needs.length <=
 * room`) the lines left over handed out fairly, a second line to each row that needs one, top to
 * bottom, then a third, …, never more than a row needs. More rows than fit: one line each.
 */
export function rowHeights(needs: readonly number[], room: number): number[] {
  const heights = needs.map(() => 1);
  let free = Math.floor(room) - needs.length;
  if (free <= 0) return heights;
  for (let pass = 2; free > 0; pass++) {
    let gave = false;
    for (let i = 0; i < needs.length && free > 0; i++) {
      if (needs[i] >= pass) {
        heights[i] = pass;
        free--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return heights;
}

/** Lines a row's query needs to be whole in the query column. */
export function rowNeed(row: SessionRow, cols: readonly Column[], view: Pick<SessionsView, 'duration'>): number {
  return linesNeeded(cellOf(row, 'query', view.duration), cols[cols.length - 1].width);
}

/**
 * A row in `height` lines: the first with the cursor's mark and every column, the query wrapped at
 * word boundaries onto the lines beneath, indented under the QUERY column (cut with … on its last
 * line when it needs more).
 */
export function rowLines(row: SessionRow, cols: readonly Column[], view: Pick<SessionsView, 'duration'>, on: boolean, tagged: boolean, height: number): Line[] {
  const mark = `${on ? '▸' : ' '}${tagged ? '+' : ' '}`;
  const q = cols[cols.length - 1];
  const parts = wrapCell(cellOf(row, 'query', view.duration), q.width, height);
  const text = mark + cols.map((c) => (c.id === 'query' ? parts[0] : cell(cellOf(row, c.id, view.duration), c))).join(' ');
  const indent = ' '.repeat(queryOffset(cols));
  return [[{ text: text.trimEnd(), inverse: on, bold: on }], ...parts.slice(1).map((t): Line => [{ text: indent }, { text: t, inverse: on, bold: on }])];
}

// ---------------------------------------------------------------- the lock tree

/** What a blocker that is not a client session is. */
function notASession(pid: number): string {
  return pid === 0 ? 'a prepared transaction (not a session: rollback-prepared ends it)' : 'not a client session (autovacuum or another server process)';
}

export function treeLine(it: Item, width: number, on: boolean, tagged: boolean, duration: DurationKind): Line {
  return treeLines(it, width, on, tagged, duration, 1)[0];
}

/** The tree's query column on a row: where its query starts and how wide it is (null: too narrow to wrap, or no query). */
function treeQuery(it: Item, width: number, duration: DurationKind): { segs: Seg[]; query: string | null; at: number } {
  const n = it.node!;
  const indent = it.depth === 0 ? '' : `${'  '.repeat(it.depth - 1)}└ `;
  const head = `  ${indent}pid ${n.pid}`;
  const segs: Seg[] = [{ text: head, bold: it.depth === 0 }];
  const bits: string[] = [];
  if (it.depth === 0) bits.push(`holds up ${n.heldUp}`);
  if (n.waitSec !== null) bits.push(`waits ${formatDuration(n.waitSec)}`);
  else if (it.depth > 0) bits.push('waits ?');
  if (it.depth > 0 && n.heldUp > 0) bits.push(`holds up ${n.heldUp}`);
  if (n.cycle) bits.push('in a cycle (a deadlock not yet broken)');
  if (n.repeated) bits.push('also above (its sessions there)');
  segs.push({ text: ` ${bits.filter(Boolean).join(', ')}`, bold: it.depth === 0 });
  const r = it.row;
  if (!r) {
    segs.push({ text: ` · ${notASession(n.pid)}` });
    return { segs, query: null, at: 0 };
  }
  const d = durationOf(r, duration);
  const who = `${clean(r.user ?? '?')}@${clean(r.database ?? '?')}`;
  segs.push({ text: ` · ${who} · ${stateText(r.state)}${d !== null ? ` ${formatDuration(d)}` : ''} · ` });
  const at = segs.reduce((k, s) => k + s.text.length, 0);
  return { segs, query: cellOf(r, 'query', duration), at };
}

/** The narrowest the tree's query gets beside its row's head: narrower, its lines beneath start under the pid. */
const TREE_QUERY_MIN = 20;

/** Where a tree row's query's lines go: the first beside the head, the others under `indent`. */
function treeGeometry(it: Item, t: { at: number }, width: number): { first: number; rest: number; indent: number } {
  const first = width - t.at;
  if (first >= TREE_QUERY_MIN) return { first, rest: first, indent: t.at };
  const indent = Math.min(t.at, 2 + (it.depth === 0 ? 0 : 2 * it.depth) + 4);
  return { first: Math.max(0, first), rest: width - indent, indent };
}

/** Lines a tree row's query needs to be whole. */
export function treeNeed(it: Item, width: number, duration: DurationKind): number {
  const t = treeQuery(it, width, duration);
  if (t.query === null) return 1;
  const g = treeGeometry(it, t, width);
  return linesNeeded(t.query, g.first, g.rest);
}

/** A tree row in `height` lines: its query wrapped beneath, under where it starts (or under the pid when that is too narrow). */
export function treeLines(it: Item, width: number, on: boolean, tagged: boolean, duration: DurationKind, height: number): Line[] {
  const t = treeQuery(it, width, duration);
  const segs = t.segs.map((s) => ({ ...s, inverse: on }));
  segs[0] = { ...segs[0], text: `${on ? '▸' : ' '}${tagged ? '+' : ' '}${segs[0].text.slice(2)}`, bold: segs[0].bold || on };
  if (t.query === null) return [clip(segs, width)];
  if (height <= 1) return [clip([...segs, { text: t.query, inverse: on }], width)];
  const g = treeGeometry(it, t, width);
  const parts = wrapCell(t.query, g.first, height, g.rest);
  const indent = ' '.repeat(g.indent);
  const head: Line = parts[0] ? [...segs, { text: parts[0], inverse: on }] : clip(segs, width);
  return [head, ...parts.slice(1).map((p): Line => [{ text: indent }, { text: p, inverse: on }])];
}

/** Cuts a line's segments to `width` characters (the last one with an ellipsis). */
function clip(segs: Seg[], width: number): Line {
  const out: Seg[] = [];
  let left = Math.max(1, width);
  for (const s of segs) {
    if (left <= 0) break;
    if (s.text.length <= left) {
      out.push(s);
      left -= s.text.length;
    } else {
      out.push({ ...s, text: fit(s.text, left) });
      left = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------- the detail

/** An ISO time as shown: the date and time in UTC, to the second (the backend start keeps its microseconds). */
export function timeText(iso: string | null, keepFraction = false): string {
  if (!iso) return '-';
  const t = iso.replace('T', ' ').replace(/Z$/, ' UTC');
  return keepFraction ? t : t.replace(/\.\d+/, '');
}

function lockText(l: SessionLock): string {
  const what = l.relation ? clean(l.relation) : `${clean(l.locktype)}${l.object ? ` ${clean(l.object)}` : ''}`;
  const db = l.relation && l.database ? ` (database ${clean(l.database)})` : '';
  return `${clean(l.mode)} on ${what}${db}`;
}

const field = (label: string, value: string): Line => [{ text: `  ${label.padEnd(14)}`, bold: true }, { text: value }];

function whoText(r: SessionRow | null | undefined, pid: number): string {
  if (!r) return `pid ${pid} (${notASession(pid)})`;
  return `pid ${pid} (${clean(r.user ?? '?')}@${clean(r.database ?? '?')}, ${stateText(r.state)}${r.lockWaitSec !== null ? `, waiting ${formatDuration(r.lockWaitSec)}` : ''})`;
}

/** Seconds since `iso` on the server's clock (its now, read back from the backend's age). */
function agoOnServer(row: SessionRow, iso: string | null): number | null {
  if (!iso) return null;
  const start = Date.parse(row.backendStart);
  const t = Date.parse(iso);
  if (!Number.isFinite(start) || !Number.isFinite(t)) return null;
  return Math.max(0, (start + row.backendSec * 1000 - t) / 1000);
}

const ago = (sec: number | null) => (sec === null ? '' : ` (${formatDuration(sec)} ago)`);

/** The wrapped query: its own line breaks kept, each line wrapped at word boundaries (a word longer than the width is cut). */
export function queryLines(query: string, width: number): string[] {
  const out: string[] = [];
  for (const raw of query.split(/\r?\n/)) {
    const l = clean(raw).trimEnd();
    if (l.trim() === '') continue;
    out.push(...wrapWords(l, Math.max(10, width)));
  }
  return out.length ? out : ['(no query yet)'];
}

/** One session's detail: every field, who it blocks and who blocks it, the full query wrapped, then its locks. */
export function detailLines(row: SessionRow, all: readonly SessionRow[], width: number, gone: boolean): Line[] {
  const out: Line[] = [];
  const w = Math.max(20, width);
  if (gone) out.push([{ text: '  this session has ended (or left the list): shown as last seen', bold: true, status: 'WARNING' }]);
  if (own(row)) out.push([{ text: "  the console's own session (left out of the counts)", bold: true }]);
  out.push(field('database', clean(row.database ?? '-')));
  out.push(field('user', clean(row.user ?? '-')));
  out.push(field('application', clean(row.application || '-')));
  const host = row.clientHostname && row.clientAddr ? `${clean(row.clientHostname)} (${clean(row.clientAddr)})` : clean(row.client);
  out.push(field('client', `${host}${row.clientPort !== null ? ` port ${row.clientPort}` : ' (Unix socket)'}`));
  out.push(field('backend start', `${timeText(row.backendStart, true)} (${formatDuration(row.backendSec)} ago)`));
  out.push(field('xact start', `${timeText(row.xactStart)}${row.xactStart ? ago(row.xactSec) : ' (no transaction open)'}`));
  out.push(field('query start', `${timeText(row.queryStart)}${ago(row.querySec)}`));
  out.push(field('state change', `${timeText(row.stateChange)}${ago(agoOnServer(row, row.stateChange))}`));
  out.push(field('state', clean(row.state ?? '?')));
  const wait = waitText(row);
  out.push(field('wait event', wait ? `${clean(wait)}${row.lockWaitSec !== null ? ` (waiting on the lock ${formatDuration(row.lockWaitSec)})` : ''}` : 'none'));
  out.push(field('backend_xmin', row.xminAge === null ? 'none (holds no snapshot)' : `age ${row.xminAge} transactions`));
  // who blocks it, and who it blocks
  const byPid = new Map(all.map((r) => [r.pid, r]));
  const blockers = row.blockedBy.filter((p) => p !== row.pid);
  out.push(field('blocked by', blockers.length ? blockers.map((p) => whoText(byPid.get(p), p)).join('; ') : 'no one'));
  if (blockers.length) {
    const roots = rootBlockersOf(all, row.pid).filter((n) => n.pid !== row.pid);
    if (roots.length && !(roots.length === 1 && blockers.length === 1 && roots[0].pid === blockers[0])) {
      out.push(field('root blocker', roots.map((n) => `${whoText(n.session, n.pid)}, holds up ${n.heldUp}`).join('; ')));
    }
  }
  const blocks = all.filter((r) => r.pid !== row.pid && r.blockedBy.includes(row.pid));
  const node = blocks.length ? flattenTree(lockTree(all)).find((x) => x.node.pid === row.pid && !x.node.repeated)?.node : undefined;
  const inAll = node ? `; holds up ${node.heldUp} in all` : '';
  out.push(field('blocks', blocks.length ? `${blocks.map((r) => whoText(r, r.pid)).join('; ')}${inAll}` : 'no one'));
  // the query, in full (before the locks, which can be many)
  out.push(BLANK);
  const q = row.query;
  out.push([{ text: `  query (${[...q].length} characters)`, bold: true }]);
  for (const l of queryLines(q, w - 4)) out.push([{ text: `    ${l}`, accent: true }]);
  out.push(BLANK);
  const held = row.locks.filter((l) => l.granted);
  const waited = row.locks.filter((l) => !l.granted);
  out.push(field('locks waited', waited.length ? lockText(waited[0]) : 'none'));
  for (const l of waited.slice(1)) out.push(field('', lockText(l)));
  out.push(field('locks held', held.length ? lockText(held[0]) : 'none'));
  for (const l of held.slice(1)) out.push(field('', lockText(l)));
  return out;
}

/** Lines the detail's body gets: the frame's header and footer, and the choice box when open. */
export function detailHeight(d: { choice: SessionsView['choice'] }, rows: number): number {
  return Math.max(1, Math.floor(rows) - 3 - choiceHeight(d));
}

export function detailLineCount(row: SessionRow, all: readonly SessionRow[], columns: number, gone: boolean): number {
  return detailLines(row, all, columns, gone).length;
}
