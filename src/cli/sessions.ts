// `ops sessions [--json] [--filter REGEX] [--state STATE] [--db NAME]` and `ops locks [--json]`:
// the headless twins of the console's sessions view. One read of every client session of the
// cluster (src/sessions/read.ts, one statement on a bounded connection of its own), then the
// model's filter and lock tree (src/sessions/model.ts), the same the console uses.
//
// Printing: the rows hold outside text (database, user and application names, query texts).
// JSON goes through terminalJson; the text forms pass every field through the sanitizer, and
// the whole output is redacted of the target's secrets (a query can quote a password).
import type { Settings } from '../config/load';
import { UsageError, UserError } from '../errors';
import {
  filterRegex,
  filterSessions,
  flattenTree,
  lockTree,
  sessionCounts,
  sortSessions,
  waitText,
  type LockNode,
  type SessionFilter,
  type SessionRow,
} from '../sessions/model';
import { readTargetSessions } from '../sessions/read';
import { formatDuration, textTable as columns, truncate } from '../util/format';
import { redact } from '../util/redact';
import { sanitizeLine, terminalJson } from '../util/sanitize';

/** What `ops sessions` is given (ParsedArgs: json, filter, state, db). */
export interface SessionsFlags {
  json?: boolean;
  /** a regex over database, user, application and query (case-insensitive) */
  filter?: string;
  /** a pg_stat_activity state; '-' for spaces is fine (idle-in-transaction) */
  state?: string;
  /** the database's name */
  database?: string;
}

/** Where the commands print: process.stdout, or a test's collector. */
export interface Out {
  write(s: string): unknown;
}

/** The states pg_stat_activity gives a client backend (PostgreSQL 12 to 17). */
export const SESSION_STATES = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled'] as const;

const QUERY_HEAD = 100;

/** The reader: readTargetSessions, or a test's. */
export type ReadSessions = (settings: Pick<Settings, 'config' | 'target'>) => Promise<SessionRow[]>;

/** The flags as a filter; a UsageError (exit 2) for a bad regex or an unknown state, before anything connects. */
export function sessionsFilter(flags: SessionsFlags): SessionFilter {
  if (flags.filter) {
    try {
      filterRegex(flags.filter);
    } catch (err) {
      throw new UsageError(`--filter: ${(err as UserError).message.replace(/^filter: /, '')}`);
    }
  }
  if (flags.state !== undefined) {
    const norm = (s: string) => s.trim().toLowerCase().replace(/[-_]+/g, ' ').replace(/\s+/g, ' ');
    if (!SESSION_STATES.some((s) => norm(s) === norm(flags.state!))) {
      throw new UsageError(`--state: unknown state "${sanitizeLine(flags.state)}" (states: ${SESSION_STATES.join(', ')})`);
    }
  }
  return { regex: flags.filter, state: flags.state, database: flags.database };
}

/**
 * `ops sessions`: every client session of the cluster, by pid, the console's own marked; with
 * `--json` the list of SessionRow. Filtered by --filter, --state and --db. Exit 0.
 */
export async function sessionsCommand(settings: Pick<Settings, 'config' | 'target'>, flags: SessionsFlags, out: Out, read: ReadSessions = readTargetSessions): Promise<number> {
  const filter = sessionsFilter(flags);
  const all = await read(settings);
  const rows = sortSessions(filterSessions(all, filter), 'pid');
  const secrets = settings.target.secrets;
  if (flags.json) {
    out.write(redact(`${terminalJson(rows, 2)}\n`, secrets));
    return 0;
  }
  out.write(redact(`${sessionsText(rows, all, filter)}\n`, secrets));
  return 0;
}

/** The text table of `ops sessions`. */
export function sessionsText(rows: readonly SessionRow[], all: readonly SessionRow[], filter: SessionFilter = {}): string {
  const c = sessionCounts(all);
  const shown = sessionCounts(rows);
  const filtered = filter.regex || filter.state || filter.database || filter.quick;
  const head =
    `${c.total} client session${c.total === 1 ? '' : 's'}: ${c.active} active, ${c.idleInTransaction} idle in transaction, ${c.waiting} waiting on a lock` +
    ` (and ${c.own} of the console's own, marked *, not counted)` +
    (filtered ? `; ${shown.total + shown.own} shown (filter)` : '');
  if (!rows.length) return `${head}\nNo session matches.`;
  const table = rows.map((r) => [
    `${r.pid}${r.own || r.self ? '*' : ''}`,
    cell(r.database ?? '-', 24),
    cell(r.user ?? '-', 16),
    cell(r.application || '-', 24),
    cell(r.clientPort === null ? r.client : `${r.client}:${r.clientPort}`, 30),
    cell(r.state ?? '-', 30),
    cell(waitText(r) ?? '-', 28),
    r.querySec === null ? '-' : formatDuration(r.querySec),
    r.xactSec === null ? '-' : formatDuration(r.xactSec),
    queryHead(r.query),
  ]);
  return `${head}\n${columns(['PID', 'DATABASE', 'USER', 'APPLICATION', 'CLIENT', 'STATE', 'WAIT', 'QUERY AGE', 'XACT AGE', 'QUERY'], table)}`;
}

/** `ops locks`: the lock tree, root blockers at the top; `--json` gives the nested LockNode[]. Exit 0. */
export async function locksCommand(settings: Pick<Settings, 'config' | 'target'>, flags: { json?: boolean }, out: Out, read: ReadSessions = readTargetSessions): Promise<number> {
  const tree = lockTree(await read(settings));
  const secrets = settings.target.secrets;
  out.write(redact(`${flags.json ? terminalJson(tree, 2) : locksText(tree)}\n`, secrets));
  return 0;
}

/** The lock tree as indented text: one line a session, each under the one it waits on. */
export function locksText(tree: readonly LockNode[]): string {
  if (!tree.length) return 'No session waits on a lock.';
  const lines: string[] = [];
  const roots = tree.length;
  const held = new Set(flattenTree(tree).filter((e) => e.depth > 0).map((e) => e.node.pid)).size;
  lines.push(`${roots} root blocker${roots === 1 ? '' : 's'} holding up ${held} session${held === 1 ? '' : 's'}`);
  for (const { node, depth } of flattenTree(tree)) {
    const indent = depth === 0 ? '' : `${'   '.repeat(depth - 1)}└─ `;
    lines.push(`${indent}${nodeLine(node, depth)}`);
  }
  return lines.join('\n');
}

function nodeLine(n: LockNode, depth: number): string {
  const s = n.session;
  const who = s
    ? `pid ${n.pid}${s.own || s.self ? ' (ops-console)' : ''} ${cell(s.user ?? '?', 32)}@${cell(s.database ?? '-', 32)}${s.application ? ` [${cell(s.application, 32)}]` : ''} ${cell(s.state ?? '?', 32)}`
    : n.pid === 0
      ? 'a prepared transaction (pid 0)'
      : `pid ${n.pid} (not a client session)`;
  const parts = [who];
  if (depth > 0 || n.waitSec !== null) parts.push(n.waitSec === null ? 'waiting' : `waiting ${formatDuration(n.waitSec)}`);
  if (n.heldUp > 0) parts.push(`holds up ${n.heldUp}`);
  if (n.cycle) parts.push('in a lock cycle');
  if (n.repeated) parts.push('(shown above)');
  const q = s && !n.repeated ? queryHead(s.query) : '';
  return `${parts.join(', ')}${q ? `: ${q}` : ''}`;
}

function cell(s: string, max: number): string {
  return truncate(sanitizeLine(s), max);
}

function queryHead(q: string): string {
  return truncate(sanitizeLine(q).replace(/\s+/g, ' ').trim(), QUERY_HEAD);
}
