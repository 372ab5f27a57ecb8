// Health rules: turn a probe snapshot into judged checks and one overall verdict.
// Pure functions; every threshold comes from the configuration.
import type { Thresholds } from '../config/schema';
import type { Check, CheckGroup, CheckRow, HealthReport, PgSession, Snapshot, Status } from '../types';
import { formatBytes, formatCount, formatDuration, truncate } from '../util/format';
import { attachFixes } from './fixes';
import { addOutageChecks } from './outages';
import { worst } from './status';

export { perfdata, pluginLine } from './plugin';

// the one status order (src/health/status.ts): CRITICAL > WARNING > UNKNOWN > OK
export { worst } from './status';

export const EXIT_CODE: Record<Status, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

type Pair = { warning: number; critical: number };

/** Judges a value where higher is worse (or lower, with direction 'below'). */
export function judge(value: number, t: Pair, direction: 'above' | 'below' = 'above'): Status {
  if (direction === 'above') return value >= t.critical ? 'CRITICAL' : value >= t.warning ? 'WARNING' : 'OK';
  return value < t.critical ? 'CRITICAL' : value < t.warning ? 'WARNING' : 'OK';
}

interface CheckInit {
  id: string;
  group: CheckGroup;
  label: string;
  unit: string;
}

function measured(
  init: CheckInit,
  value: number,
  t: Pair,
  summary: string,
  subject: string | null,
  direction: 'above' | 'below' = 'above',
): Check {
  return {
    ...init,
    status: judge(value, t, direction),
    summary,
    value,
    thresholds: { warning: t.warning, critical: t.critical, direction },
    subject,
  };
}

function unknown(init: CheckInit, reason: string, subject: string | null = null): Check {
  return { ...init, status: 'UNKNOWN', summary: reason, value: null, thresholds: null, subject };
}

function fixed(init: CheckInit, status: Status, summary: string, value: number | null, subject: string | null): Check {
  return { ...init, status, summary, value, thresholds: null, subject };
}

const pct = (n: number) => `${n.toFixed(1)}%`;

export interface RuleOptions {
  /** the groups to evaluate; all when absent */
  only?: ReadonlySet<CheckGroup>;
  /** expected HTTP status per endpoint name (any 2xx when absent) */
  expectStatus?: Record<string, number | undefined>;
}

export function evaluate(snap: Snapshot, th: Thresholds, opts: RuleOptions = {}): HealthReport {
  const checks: Check[] = [];
  const want = (g: CheckGroup) => !opts.only || opts.only.has(g);

  // ---------------------------------------------------------------- host and disks
  const cpuInit: CheckInit = { id: 'host.cpu', group: 'host', label: 'CPU', unit: '%' };
  const memInit: CheckInit = { id: 'host.memory', group: 'host', label: 'memory', unit: '%' };
  if (!snap.host.ok) {
    if (want('host')) checks.push(unknown(cpuInit, `host probe failed: ${snap.host.error}`), unknown(memInit, `host probe failed: ${snap.host.error}`));
    if (want('disk')) checks.push(unknown({ id: 'disk', group: 'disk', label: 'disks', unit: '%' }, `host probe failed: ${snap.host.error}`));
  } else {
    const h = snap.host.data;
    if (want('host')) {
      checks.push(
        h.cpuPct === null
          ? unknown(cpuInit, 'CPU use needs two samples; not measured yet')
          : measured(cpuInit, h.cpuPct, th.cpuPct, `CPU ${pct(h.cpuPct)} of ${h.cores} cores, load ${h.load[0].toFixed(2)}`, h.hostname),
        measured(
          memInit,
          h.memUsedPct,
          th.memPct,
          `memory ${pct(h.memUsedPct)} used (${formatBytes(h.memTotalBytes - h.memAvailableBytes)} of ${formatBytes(h.memTotalBytes)})`,
          h.hostname,
        ),
      );
    }
    if (want('disk')) {
      if (h.filesystems.length === 0) {
        checks.push(unknown({ id: 'disk', group: 'disk', label: 'disks', unit: '%' }, 'no real filesystem found in /proc/mounts'));
      }
      for (const fs of h.filesystems) {
        checks.push(
          measured(
            { id: `disk:${fs.mount}`, group: 'disk', label: fs.mount, unit: '%' },
            fs.usedPct,
            th.diskPct,
            `${fs.mount} ${pct(fs.usedPct)} used, ${formatBytes(fs.availBytes)} free of ${formatBytes(fs.sizeBytes)}`,
            fs.mount,
          ),
        );
      }
    }
  }

  // ---------------------------------------------------------------- PostgreSQL
  const pgWanted = want('postgres') || want('sessions') || want('tables');
  if (snap.postgres && pgWanted) {
    const upInit: CheckInit = { id: 'pg.up', group: 'postgres', label: 'PostgreSQL', unit: '' };
    const deps: CheckInit[] = [];
    if (want('postgres')) deps.push(
      { id: 'pg.connections', group: 'postgres', label: 'connections', unit: '%' },
      { id: 'pg.cache.buffer', group: 'postgres', label: 'buffer cache hit', unit: '%' },
      { id: 'pg.cache.index', group: 'postgres', label: 'index cache hit', unit: '%' },
      { id: 'pg.xid_age', group: 'postgres', label: 'xid age', unit: '' },
    );
    if (want('sessions')) deps.push(
      { id: 'sessions.long_query', group: 'sessions', label: 'longest query', unit: 's' },
      { id: 'sessions.idle_in_transaction', group: 'sessions', label: 'idle in transaction', unit: 's' },
      { id: 'sessions.blocked', group: 'sessions', label: 'blocked sessions', unit: 's' },
      { id: 'sessions.long_transaction', group: 'sessions', label: 'oldest transaction', unit: 's' },
    );
    if (want('tables')) deps.push(
      { id: 'tables.dead_tuples', group: 'tables', label: 'dead tuples', unit: '%' },
      { id: 'tables.unused_indexes', group: 'tables', label: 'unused indexes', unit: '' },
    );

    if (!snap.postgres.ok) {
      const reason = snap.postgres.error;
      // Unreachable is CRITICAL (the service is down for its clients); the rest cannot be judged.
      checks.push(fixed(upInit, 'CRITICAL', `PostgreSQL unavailable: ${reason}`, 0, null));
      for (const d of deps) checks.push(unknown(d, 'database unavailable'));
    } else {
      const pg = snap.postgres.data;
      if (want('postgres')) {
        checks.push(fixed(upInit, 'OK', `PostgreSQL ${pg.version.split(' ')[0]} up ${formatDuration(pg.uptimeSec)}${pg.inRecovery ? ' (standby)' : ''}`, 1, pg.database));
        const c = pg.connections;
        const connPct = c.max > 0 ? (100 * c.total) / c.max : 0;
        checks.push(measured(deps[0], connPct, th.connectionsPct, `${c.total} of ${c.max} connections (${pct(connPct)})`, pg.database));
        for (const [init, v, what] of [
          [deps[1], pg.cache.bufferHitPct, 'buffer'],
          [deps[2], pg.cache.indexHitPct, 'index'],
        ] as const) {
          checks.push(
            v === null
              ? fixed(init, 'OK', `${what} cache: no ${what === 'index' ? 'index ' : ''}blocks read yet, nothing to judge`, null, pg.database)
              : measured(init, v, th.cacheHitPct, `${what} cache hit ${pct(v)}`, pg.database, 'below'),
          );
        }
        const oldest = pg.xidAge[0];
        checks.push(
          oldest
            ? measured(deps[3], oldest.age, th.xidAge, `transaction ID age ${formatCount(oldest.age)} in ${oldest.database}`, oldest.database)
            : unknown(deps[3], 'no database reported a transaction ID age'),
        );
        const r = pg.replication;
        if (r.role === 'standby' || r.replicas.length > 0) {
          const lagInit: CheckInit = { id: 'pg.replication', group: 'postgres', label: 'replication lag', unit: 's' };
          if (r.role === 'standby') {
            checks.push(
              r.standbyLagSec === null
                ? unknown(lagInit, 'standby has not replayed a transaction yet')
                : measured(lagInit, r.standbyLagSec, th.replicationLagSec, `standby ${formatDuration(r.standbyLagSec)} behind the primary`, pg.database),
            );
          } else {
            const lagged = [...r.replicas].sort((a, b) => (b.lagSec ?? 0) - (a.lagSec ?? 0))[0];
            const lag = lagged.lagSec ?? 0;
            checks.push(measured(lagInit, lag, th.replicationLagSec, `${r.replicas.length} replica(s), most behind: ${lagged.name || lagged.client} ${formatDuration(lag)}`, lagged.name || lagged.client));
          }
        }
      }
      if (want('sessions')) {
        // cluster-wide: every session is named with its database; the console's own are not here
        const init = (id: string) => deps.find((d) => d.id === id)!;
        checks.push(
          sessionsCheck(init('sessions.long_query'), pg.longQueries, pg.sessionAges.longQueries, th.longQuerySec, {
            one: (x) => `${sessionName(x)} running ${formatDuration(x.durationSec)}: ${queryText(x.query, 60)}`,
            many: (n, t) => `${n} queries running ${t} or more`,
            item: (x) => `${sessionName(x)} ${formatDuration(x.durationSec)}`,
            none: 'no active queries',
          }),
          sessionsCheck(init('sessions.idle_in_transaction'), pg.idleInTransaction, pg.sessionAges.idleInTransaction, th.idleInTransactionSec, {
            one: (x) => `${sessionName(x)} idle in transaction ${formatDuration(x.durationSec)}${xactOpen(x)}: ${queryText(x.query, 50)}`,
            many: (n, t) => `${n} sessions idle in transaction ${t} or more`,
            item: (x) => `${sessionName(x)} ${formatDuration(x.durationSec)}`,
            none: 'no session idle in transaction',
          }),
        );
        const blocked = pg.blocked.map((b) => ({ ...b, durationSec: b.waitSec }));
        const by = (b: (typeof blocked)[number]) => b.blockedBy.map((p) => `pid ${p}`).join(' and ') || '?';
        checks.push(
          sessionsCheck(init('sessions.blocked'), blocked, blocked.map((b) => b.durationSec).sort((a, b) => b - a), th.blockedSec, {
            one: (b) => `${sessionName(b)} blocked by ${by(b)} for ${formatDuration(b.waitSec)}`,
            many: (n) => `${n} sessions blocked`,
            item: (b) => `${sessionName(b)} by ${by(b)} for ${formatDuration(b.waitSec)}`,
            none: 'no session waiting on a lock',
            // every session waiting on a lock is counted, the ones not yet over the threshold too
            count: 'all',
          }),
          sessionsCheck(init('sessions.long_transaction'), pg.longTransactions, pg.sessionAges.longTransactions, th.longTransactionSec, {
            one: (x) => `${sessionName(x)} transaction open ${formatDuration(x.durationSec)} (${x.state ?? '?'}): ${queryText(x.query, 50)}`,
            many: (n, t) => `${n} transactions open ${t} or more`,
            item: (x) => `${sessionName(x)} ${formatDuration(x.durationSec)} (${x.state ?? '?'})`,
            none: 'no open transaction',
          }),
        );
      }
      if (want('tables')) {
        const deadInit = deps.find((d) => d.id === 'tables.dead_tuples')!;
        // every listed table gets its verdict: below deadTuplesMin dead rows it is not judged on its share (OK)
        const deadRows: CheckRow[] = pg.tables.map((t) => ({
          subject: `${t.schema}.${t.name}`,
          status: t.deadTuples >= th.deadTuplesMin ? judge(t.deadPct, th.deadTuplesPct) : 'OK',
          value: t.deadPct,
          object: { kind: 'table', schema: t.schema, table: t.name },
        }));
        const candidates = pg.tables.filter((t) => t.deadTuples >= th.deadTuplesMin);
        const worstTable = [...candidates].sort((a, b) => b.deadPct - a.deadPct)[0];
        checks.push({
          ...(worstTable
            ? measured(deadInit, worstTable.deadPct, th.deadTuplesPct,
                `${worstTable.schema}.${worstTable.name} ${pct(worstTable.deadPct)} dead (${formatCount(worstTable.deadTuples)} rows), last vacuum ${lastVacuum(worstTable.lastVacuum, worstTable.lastAutovacuum)}`,
                `${worstTable.schema}.${worstTable.name}`)
            : fixed(deadInit, 'OK', `no table with ${formatCount(th.deadTuplesMin)}+ dead tuples`, 0, null)),
          rows: deadRows,
        });
        const idxInit = deps.find((d) => d.id === 'tables.unused_indexes')!;
        const unused = pg.unusedIndexes.filter((i) => i.sizeBytes >= th.unusedIndexMinBytes);
        // under unusedIndexMinBytes a never-used index is not worth a finding (OK)
        const idxRows: CheckRow[] = pg.unusedIndexes.map((i) => ({
          subject: `${i.schema}.${i.name}`,
          status: i.sizeBytes >= th.unusedIndexMinBytes ? 'WARNING' : 'OK',
          value: i.sizeBytes,
          object: { kind: 'index', schema: i.schema, table: i.table, index: i.name },
        }));
        checks.push({
          ...(unused.length
            ? fixed(idxInit, 'WARNING',
                `${unused.length} never-used index(es), largest ${unused[0].schema}.${unused[0].name} on ${unused[0].table} (${formatBytes(unused[0].sizeBytes)})`,
                unused.length, `${unused[0].schema}.${unused[0].name}`)
            : fixed(idxInit, 'OK', 'no never-used index worth reviewing', 0, null)),
          rows: idxRows,
        });
      }
    }
  }

  // the checks behind real outages (slots, archiver, xmin horizon, ...): src/health/outages.ts
  if (pgWanted) addOutageChecks(checks, snap, th, want);

  // ---------------------------------------------------------------- HTTP, TLS, backups, Redis
  if (want('http')) {
    for (const e of snap.http) {
      const init: CheckInit = { id: `http:${e.name}`, group: 'http', label: e.name, unit: 'ms' };
      if (!e.result.ok) {
        checks.push(fixed(init, 'CRITICAL', `${e.name}: ${e.result.error}`, null, e.url));
        continue;
      }
      const { status, latencyMs } = e.result.data;
      const expected = opts.expectStatus?.[e.name];
      const statusOk = expected ? status === expected : status >= 200 && status < 300;
      const c = measured(init, latencyMs, th.httpLatencyMs, `${e.name}: HTTP ${status} in ${Math.round(latencyMs)} ms`, e.url);
      if (!statusOk) {
        c.status = 'CRITICAL';
        c.summary = `${e.name}: HTTP ${status}, expected ${expected ?? '2xx'} (${Math.round(latencyMs)} ms)`;
      }
      checks.push(c);
    }
  }
  if (want('tls')) {
    for (const t of snap.tls) {
      const init: CheckInit = { id: `tls:${t.name}`, group: 'tls', label: t.name, unit: 'd' };
      const subject = `${t.host}:${t.port}`;
      checks.push(
        t.result.ok
          ? measured(init, t.result.data.daysLeft, th.tlsDays,
              t.result.data.daysLeft < 0
                ? `${subject} certificate expired ${Math.ceil(-t.result.data.daysLeft)} days ago`
                : `${subject} certificate expires in ${Math.floor(t.result.data.daysLeft)} days (${t.result.data.validTo.slice(0, 10)})`,
              subject, 'below')
          : unknown(init, `${subject}: ${t.result.error}`, subject),
      );
    }
  }
  if (want('backup') && snap.backup) {
    const init: CheckInit = { id: 'backup.age', group: 'backup', label: 'newest backup', unit: 'h' };
    const b = snap.backup;
    // files that do not count (empty, no or a wrong .sha256: a failed or unfinished dump) are named
    const skipped = b.ok ? (b.data.skipped ?? []) : [];
    const more = b.ok ? (b.data.skippedCount ?? skipped.length) - 1 : 0;
    const notCounted = skipped.length ? `${skipped[0].file}: ${skipped[0].reason}${more > 0 ? ` (and ${more} more not counted)` : ''}` : '';
    if (!b.ok) checks.push(unknown(init, b.error));
    else if (!b.data.newest && skipped.length) {
      const text = `no verified backup matching ${b.data.glob} in ${b.data.dir}: ${notCounted}`;
      // a sha256 still being read is not known yet, not missing
      checks.push(skipped.some((x) => x.pending) ? unknown(init, text, b.data.dir) : fixed(init, 'CRITICAL', text, null, b.data.dir));
    } else if (!b.data.newest) checks.push(fixed(init, 'CRITICAL', `no backup matching ${b.data.glob} in ${b.data.dir}`, null, b.data.dir));
    else {
      const hours = b.data.newest.ageSec / 3600;
      checks.push(
        measured(init, hours, th.backupAgeHours,
          `newest backup ${b.data.newest.file} is ${formatDuration(b.data.newest.ageSec)} old (${formatBytes(b.data.newest.sizeBytes)})${notCounted ? `; newer, not counted: ${notCounted}` : ''}`,
          `${b.data.dir}/${b.data.newest.file}`),
      );
    }
  }
  if (want('backup') && snap.mirror) {
    const init: CheckInit = { id: 'journal.mirror', group: 'backup', label: 'journal mirror', unit: 'min' };
    const m = snap.mirror;
    if (!m.ok) checks.push(unknown(init, `journal mirror: ${m.error}`));
    else if (m.data.pending === 0 || m.data.oldestAt === null) checks.push(measured(init, 0, th.journalMirrorLagMin, `journal mirror ${m.data.where} has every event of this host's journal`, m.data.where));
    else {
      const waitedSec = Math.max(0, (snap.at - Date.parse(m.data.oldestAt)) / 1000);
      checks.push(
        measured(init, waitedSec / 60, th.journalMirrorLagMin,
          `journal mirror ${m.data.where}: ${m.data.pending} event${m.data.pending === 1 ? '' : 's'} of this host's journal not sent, the oldest waiting ${formatDuration(waitedSec)}`,
          m.data.where),
      );
    }
  }
  if (want('redis') && snap.redis) {
    const memInitR: CheckInit = { id: 'redis.memory', group: 'redis', label: 'Redis memory', unit: '%' };
    const latInit: CheckInit = { id: 'redis.latency', group: 'redis', label: 'Redis ping', unit: 'ms' };
    const r = snap.redis;
    if (!r.ok) {
      checks.push(fixed(latInit, 'CRITICAL', `Redis unavailable: ${r.error}`, null, null), unknown(memInitR, 'Redis unavailable'));
    } else {
      const d = r.data;
      checks.push(measured(latInit, d.latencyMs, th.redisLatencyMs, `Redis ${d.version} ping ${d.latencyMs.toFixed(1)} ms, ${d.connectedClients} clients, ${d.evictedKeys} evicted`, null));
      checks.push(
        d.maxMemoryBytes > 0
          ? measured(memInitR, (100 * d.usedMemoryBytes) / d.maxMemoryBytes, th.redisMemoryPct,
              `Redis memory ${formatBytes(d.usedMemoryBytes)} of ${formatBytes(d.maxMemoryBytes)}`, null)
          : fixed(memInitR, 'OK', `Redis memory ${formatBytes(d.usedMemoryBytes)}, no maxmemory limit`, null, null),
      );
    }
  }

  // each finding a built-in task fixes names it, bound to its object
  attachFixes(checks);
  const ok = checks.filter((c) => c.status === 'OK').length;
  return {
    at: snap.at,
    status: checks.length ? worst(checks.map((c) => c.status)) : 'UNKNOWN',
    score: checks.length ? Math.round((100 * ok) / checks.length) : 0,
    checks,
  };
}

/** `pid 6246 (postgres@127.0.0.1 in app)`: the session checks look at the whole cluster, so the database is named */
function sessionName(x: PgSession): string {
  return `pid ${x.pid} (${x.user ?? '?'}@${x.client} in ${x.database ?? '?'})`;
}

/** A query text for a summary, its trailing semicolons dropped (the plugin line joins summaries with "; ") */
function queryText(q: string, max: number): string {
  return truncate(q.replace(/[\s;]+$/, ''), max);
}

/** ", transaction open 1m12s" when the transaction is older than the idle time */
function xactOpen(x: PgSession): string {
  return x.xactSec !== null && Math.round(x.xactSec) > Math.round(x.durationSec) ? `, transaction open ${formatDuration(x.xactSec)}` : '';
}

interface SessionWords<T extends PgSession> {
  /** one session: the longest, or the only one over the threshold */
  one: (x: T) => string;
  /** the lead of a summary over several: "3 queries running 1m00s or more" */
  many: (n: number, threshold: string) => string;
  /** each further session in that summary */
  item: (x: T) => string;
  none: string;
  /** 'over' (default): count the sessions over the warning threshold; 'all': count every one listed */
  count?: 'over' | 'all';
}

/**
 * A check over a list of sessions (longest first): each listed session judged on its own (the
 * check's rows), the longest as the value, and a summary that names every listed session over
 * the warning threshold, with their count (ages: every session's duration, so the count holds
 * beyond the rows listed).
 */
function sessionsCheck<T extends PgSession>(init: CheckInit, list: T[], ages: number[], t: Pair, w: SessionWords<T>): Check {
  const rows: CheckRow[] = list.map((x) => ({
    subject: `pid ${x.pid}`,
    status: judge(x.durationSec, t),
    value: x.durationSec,
    object: { kind: 'session', pid: x.pid, backendStart: null, database: x.database, user: x.user },
  }));
  const longest = list.reduce<T | null>((a, x) => (a === null || x.durationSec > a.durationSec ? x : a), null);
  if (!longest) return { ...fixed(init, 'OK', w.none, 0, null), rows };
  const named = w.count === 'all' ? list : list.filter((x) => x.durationSec >= t.warning);
  const n = Math.max(named.length, w.count === 'all' ? ages.length : ages.filter((a) => a >= t.warning).length);
  let summary: string;
  if (n <= 1) summary = w.one(longest);
  else {
    const [first, ...rest] = [longest, ...named.filter((x) => x !== longest)];
    const more = n - 1 - rest.length;
    summary = `${w.many(n, formatDuration(w.count === 'all' ? 0 : t.warning))}: ${w.one(first)}${rest.map((x) => `, ${w.item(x)}`).join('')}${more > 0 ? `, +${more} more` : ''}`;
  }
  return { ...measured(init, longest.durationSec, t, summary, `pid ${longest.pid}`), rows };
}

function lastVacuum(manual: string | null, auto: string | null): string {
  const t = [manual, auto].filter((x): x is string => !!x).sort().pop();
  if (!t) return 'never';
  return `${formatDuration((Date.now() - Date.parse(t)) / 1000)} ago`;
}
