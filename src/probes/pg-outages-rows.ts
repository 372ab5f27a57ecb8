// The outage checks' row mapping: sequences' use from their last values, the table scan's
// findings, and the WAL arithmetic (segment numbers, files waiting, where pg_wal is).
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type {
  PgFrozenTable,
  PgOutages,
  PgSequences,
  PgSequenceUse,
} from '../types-outages';
import { byCode, num, str, strOrNull } from './rows';
import type { Row, SlowRead } from './pg-outages-sql';

interface SeqMeta {
  oid: number;
  schema: string;
  name: string;
  type: string;
  min: bigint;
  max: bigint;
  up: boolean;
  cycles: boolean;
  readable: boolean;
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

function big(v: unknown, fallback: bigint): bigint {
  try {
    return v == null ? fallback : BigInt(String(v));
  } catch {
    return fallback;
  }
}

export function toSeqMeta(r: Row): SeqMeta & { column: PgSequenceUse['column']; base: string | null } {
  return {
    oid: num(r.oid),
    schema: str(r.schema),
    name: str(r.name),
    type: str(r.seq_type),
    min: big(r.min, 1n),
    max: big(r.max, 9223372036854775807n),
    up: r.up !== false,
    cycles: r.cycles === true,
    readable: r.readable === true,
    column:
      r.col_name == null
        ? null
        : {
            schema: str(r.col_schema),
            table: str(r.col_table),
            column: str(r.col_name),
            type: str(r.col_type),
            how: r.col_how === 'identity' ? 'identity' : r.col_how === 'default' ? 'default' : 'serial',
          },
    base: strOrNull(r.base),
  };
}

/**
 * Each sequence's share of its usable range used, from its minimum (maximum counting down) to the
 * first limit it meets: its own, or its column's type's. Exact on bigint values; a serial's
 * column listed once (its OWNED BY and its DEFAULT name the same column).
 */
export function sequenceUse(at: number, rows: ReturnType<typeof toSeqMeta>[], values: Map<number, string | null>, unread: number): PgSequences {
  const byOid = new Map<number, ReturnType<typeof toSeqMeta>[]>();
  for (const r of rows) byOid.set(r.oid, [...(byOid.get(r.oid) ?? []), r]);
  const uses: PgSequenceUse[] = [];
  let unreadable = 0;
  for (const group of byOid.values()) {
    const q = group[0];
    if (!q.readable) {
      unreadable += 1;
      continue;
    }
    const last = values.has(q.oid) ? values.get(q.oid) ?? null : undefined;
    if (last === undefined) continue; // not read this time
    let best: PgSequenceUse | null = null;
    const cols = group.filter((g) => g.column).sort((a, b) => (a.column!.how === 'default' ? 1 : 0) - (b.column!.how === 'default' ? 1 : 0));
    for (const g of cols.length ? cols : [q]) {
      const range = g.base ? INT_RANGE[g.base] : undefined;
      let limit = q.up ? q.max : q.min;
      let limitedBy: PgSequenceUse['limitedBy'] = 'sequence';
      if (range && q.up && range[1] < limit) [limit, limitedBy] = [range[1], 'column'];
      if (range && !q.up && range[0] > limit) [limit, limitedBy] = [range[0], 'column'];
      let usedPct = 0;
      if (last !== null) {
        const v = big(last, 0n);
        const used = q.up ? v - q.min + 1n : q.max - v + 1n;
        const span = q.up ? limit - q.min + 1n : q.max - limit + 1n;
        usedPct = span > 0n ? Math.max(0, Number((used * 1_000_000n) / span) / 10_000) : 100;
      }
      if (best && usedPct <= best.usedPct) continue;
      best = { schema: q.schema, name: q.name, type: q.type, usedPct, lastValue: last, limit: String(limit), limitedBy, cycles: q.cycles, column: g.column };
    }
    // a cycling sequence feeding no column never runs out
    if (best && !(best.cycles && !best.column)) uses.push(best);
  }
  uses.sort((a, b) => b.usedPct - a.usedPct || byCode(a.schema, b.schema) || byCode(a.name, b.name));
  return { at, total: byOid.size, unreadable, unread, top: uses.slice(0, 20) };
}

export function assembleTables(at: number, tableRows: Row[]): SlowRead {
  const oids = (kind: string) => tableRows.filter((r) => r.kind === kind).map((r) => num(r.oid));
  const frozen = (kind: string): PgFrozenTable | null => {
    const r = tableRows.find((x) => x.kind === kind);
    return r ? { schema: str(r.schema), name: str(r.name), age: num(r.n), toastOf: strOrNull(r.toast_of) } : null;
  };
  const never = tableRows.filter((r) => r.kind === 'never');
  return {
    data: { at, oldestXidTable: frozen('xid'), oldestMxidTable: frozen('mxid') },
    neverAnalyzed: { total: num(never[0]?.total), top: never.map((r) => ({ oid: num(r.oid) })) },
    neverOids: oids('never'),
    avoffOids: oids('avoff'),
    invalidOids: oids('invalid'),
  };
}

// ---------------------------------------------------------------- helpers

/** The segment number of a WAL file name (timeline, then the 64-bit position in two halves). */
export function walSegNo(name: string, segBytes: number): number | null {
  if (!/^[0-9A-F]{24}$/i.test(name)) return null;
  const hi = parseInt(name.slice(8, 16), 16);
  const lo = parseInt(name.slice(16, 24), 16);
  return hi * Math.floor(0x100000000 / segBytes) + lo;
}

/**
 * WAL files waiting when archive_status cannot be listed: the segments from the oldest not archived
 * (the one failing, or the one after the last archived) up to the one being written, excluded.
 */
export function estimateWaiting(lsnBytes: number | null, segBytes: number, failing: boolean, lastFailed: string | null, lastArchived: string | null): number | null {
  if (lsnBytes === null || segBytes <= 0) return null;
  const current = Math.floor(lsnBytes / segBytes);
  const failedNo = lastFailed ? walSegNo(lastFailed, segBytes) : null;
  const archivedNo = lastArchived ? walSegNo(lastArchived, segBytes) : null;
  if (failing && failedNo !== null) return Math.max(0, current - failedNo);
  if (archivedNo !== null) return Math.max(0, current - archivedNo - 1);
  return null;
}

/**
 * pg_wal on this host, when the server runs here: connected over a Unix socket or a loopback
 * address, and its data directory exists here. Symlinks are followed when the data directory can
 * be read (as root, or as the server's user).
 */
export async function resolveWalDir(dataDir: string | null, serverAddr: string | null): Promise<PgOutages['walDir']> {
  if (!dataDir) return { path: null, reason: 'data_directory is not visible to this role (needs pg_read_all_settings, part of pg_monitor)' };
  const local = serverAddr === null || serverAddr === '::1' || /^127\./.test(serverAddr);
  if (!local) return { path: null, reason: `the server (${serverAddr}) is not reached over this host's loopback or socket` };
  if (!existsSync(dataDir)) return { path: null, reason: `its data directory ${dataDir} is not on this host` };
  const wal = path.join(dataDir, 'pg_wal');
  try {
    return { path: await realpath(wal) };
  } catch {
    return { path: wal };
  }
}
