// The shared journal: every event of the task journal also written to a table in PostgreSQL,
// ops.journal_events, where any host can read who ran what, from which host, on which target,
// and roll back a run whose host is gone (off unless `journal.mirror` is set).
//
// The local journal stays the record. An event is sent only after its local fsync, from the
// file, never from memory: a cursor per mirror (`<state>/mirror/<key>.json`, the byte offset
// sent so far) says where to go on. Sending runs in the background and never delays or fails a
// run: while the database is down the events wait in the journal, and the next send (the next
// event, the next ops command, a retry every 30 s in the console) takes them in file order.
// Rows are keyed by (source, run, seq), inserted with ON CONFLICT DO NOTHING, so an event sent
// twice (a crash between the commit and the cursor's write, two ops processes sending at once)
// is there once. A source is one state directory: `<host>/<8 hex>`, kept in
// `<state>/journal.source`. Events a rollback copied in from the mirror (`mirroredFrom`) are
// not sent back.
//
// ops creates the schema and its migrations (ops.mirror_schema records the version), under an
// advisory lock so that two hosts starting at once do not race. A trigger refuses UPDATE,
// DELETE and TRUNCATE on the events, whoever asks; the role ops uses needs only USAGE on the
// schema and INSERT, SELECT on the table (docs/fleet.md has the grants).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { MirrorPlace, Settings } from '../config/load';
import { UserError } from '../errors';
import { clientConfig } from '../pg/env';
import { closeClient, openClient, type DbLimits, type GuardedClient } from '../util/db';
import { redact } from '../util/redact';
import { sanitizeLine } from '../util/sanitize';
import { isObj, type JournalEvent } from './events';
import { errnoCode } from './errors';
import { Journal, setJournalAppendListener } from './journal';
import { ensurePrivateDir } from './state-dir';
import { summarize, type RunSummary } from './summary';
import { checkEvent } from './validate';

export const MIRROR_APP = 'ops-console: journal mirror';
export const MIRROR_TABLE = 'ops.journal_events';

/** The schema's migrations, in order; ops.mirror_schema keeps the highest applied. */
const MIGRATIONS: { version: number; sql: string[] }[] = [
  {
    version: 1,
    sql: [
      `CREATE TABLE ops.journal_events (
         id bigint GENERATED ALWAYS AS IDENTITY,
         source text NOT NULL,
         host text NOT NULL,
         pos bigint NOT NULL,
         run text NOT NULL,
         seq integer NOT NULL,
         ts timestamptz NOT NULL,
         type text NOT NULL,
         target text,
         event jsonb NOT NULL,
         received_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (source, run, seq)
       )`,
      `CREATE INDEX journal_events_run ON ops.journal_events (run)`,
      `CREATE INDEX journal_events_starts ON ops.journal_events (ts) WHERE type = 'run.start'`,
      `CREATE FUNCTION ops.journal_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $f$
       BEGIN
         RAISE EXCEPTION 'ops.journal_events is insert-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
       END $f$`,
      `CREATE TRIGGER insert_only BEFORE UPDATE OR DELETE ON ops.journal_events FOR EACH ROW EXECUTE FUNCTION ops.journal_events_insert_only()`,
      `CREATE TRIGGER insert_only_truncate BEFORE TRUNCATE ON ops.journal_events FOR EACH STATEMENT EXECUTE FUNCTION ops.journal_events_insert_only()`,
    ],
  },
];
export const MIRROR_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Read at most this much of the journal per batch. */
const BATCH_BYTES = 512 * 1024;
const BATCH_ROWS = 500;
const RETRY_MS = 30_000;

function pgCode(err: unknown): string {
  return isObj(err) && typeof err.code === 'string' ? err.code : '';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line about a mirror: its display, then what went wrong, redacted and sanitized. */
function mirrorText(place: MirrorPlace, text: string): string {
  return sanitizeLine(redact(`journal mirror ${place.db.display}: ${text}`, place.db.secrets));
}

function connect(place: MirrorPlace, limits: DbLimits): Promise<GuardedClient> {
  return openClient(clientConfig(place.db), limits, { applicationName: MIRROR_APP, display: place.db.display });
}

// ---------------------------------------------------------------- the schema

async function schemaVersion(client: pg.Client): Promise<number | null> {
  try {
    const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM ops.mirror_schema');
    return r.rows[0]?.v ?? 0;
  } catch (err) {
    // no schema, or no table yet
    if (pgCode(err) === '3F000' || pgCode(err) === '42P01') return null;
    throw err;
  }
}

/** Brings the mirror's schema to this ops' version (once per process and place). */
export async function ensureMirrorSchema(client: pg.Client, place: MirrorPlace): Promise<void> {
  const have = await schemaVersion(client);
  if (have !== null && have >= MIRROR_SCHEMA_VERSION) return;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('ops-console journal mirror schema'))`);
    await client.query('CREATE SCHEMA IF NOT EXISTS ops');
    await client.query('CREATE TABLE IF NOT EXISTS ops.mirror_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const now = (await schemaVersion(client)) ?? 0;
    for (const m of MIGRATIONS) {
      if (m.version <= now) continue;
      for (const sql of m.sql) await client.query(sql);
      await client.query('INSERT INTO ops.mirror_schema (version) VALUES ($1)', [m.version]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (pgCode(err) === '42501') {
      throw new UserError(mirrorText(place, `the ops schema is not there (or older than version ${MIRROR_SCHEMA_VERSION}) and this role may not create it: run ops once as its owner, or see docs/fleet.md "The shared journal" (${message(err)})`));
    }
    throw err;
  }
}

// ---------------------------------------------------------------- the source and the cursors

/** This state directory's name in the mirror: `<host>/<8 hex>`, made once and kept. */
export function mirrorSource(dir: string): string {
  const file = join(dir, 'journal.source');
  const read = (): string | null => {
    try {
      const s = readFileSync(file, 'utf8').trim();
      return s.length > 0 && s.length <= 300 ? s : null;
    } catch {
      return null;
    }
  };
  const have = read();
  if (have) return have;
  ensurePrivateDir(dir, 'journal');
  const made = `${hostname()}/${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(file, `${made}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    // another process made it first: theirs is the name
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  return read() ?? made;
}

interface Cursor {
  v: 1;
  /** bytes of the journal sent so far (always the end of a line) */
  sent: number;
  /** a hash of the journal's first bytes: another file (replaced) starts again from 0 */
  head: string;
}

function placeKey(place: MirrorPlace): string {
  return createHash('sha256').update(`${place.db.display}\n${place.runsOn ?? '*'}`).digest('hex').slice(0, 16);
}

function cursorFile(dir: string, place: MirrorPlace): string {
  return join(dir, 'mirror', `${placeKey(place)}.json`);
}

function readCursor(file: string): Cursor | null {
  try {
    const c: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (isObj(c) && c.v === 1 && typeof c.sent === 'number' && Number.isSafeInteger(c.sent) && c.sent >= 0 && typeof c.head === 'string') return c as unknown as Cursor;
  } catch {
    // none yet, or damaged: start again from 0 (the table drops what it has)
  }
  return null;
}

/** Written whole (a temporary file renamed over it); a failure only means sending again. */
function writeCursor(dir: string, file: string, c: Cursor): void {
  try {
    ensurePrivateDir(join(dir, 'mirror'), 'journal mirror');
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(c));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch {
    // a full disk: the events are sent again next time, and the table keeps them once
  }
}

/** Where sending goes on: the cursor's offset, or 0 when there is none or the file is another. */
function startOf(c: Cursor | null, head: string, size: number): number {
  return c && c.head === head && c.sent <= size ? c.sent : 0;
}

function headOf(fd: number, size: number): string {
  const buf = Buffer.alloc(Math.min(size, 256));
  if (buf.length) readSync(fd, buf, 0, buf.length, 0);
  return createHash('sha256').update(buf).digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------- sending

interface Row {
  source: string;
  host: string;
  pos: number;
  run: string;
  seq: number;
  ts: string;
  type: string;
  target: string | null;
  event: unknown;
}

const INSERT = `INSERT INTO ops.journal_events (source, host, pos, run, seq, ts, type, target, event)
  SELECT x.source, x.host, x.pos, x.run, x.seq, x.ts, x.type, x.target, x.event
  FROM jsonb_to_recordset($1::jsonb) AS x(source text, host text, pos bigint, run text, seq integer, ts timestamptz, type text, target text, event jsonb)
  ON CONFLICT DO NOTHING`;

/** A line worth sending: an event with the fields the table keys on. */
function sendable(x: unknown): x is { run: string; seq: number; ts: string; type: string; [k: string]: unknown } {
  return (
    isObj(x) &&
    x.v === 1 &&
    typeof x.run === 'string' &&
    x.run !== '' &&
    x.run.length <= 200 &&
    typeof x.seq === 'number' &&
    Number.isInteger(x.seq) &&
    x.seq > 0 &&
    x.seq < 2 ** 31 &&
    typeof x.ts === 'string' &&
    Number.isFinite(Date.parse(x.ts)) &&
    typeof x.type === 'string' &&
    x.mirroredFrom === undefined
  );
}

export interface MirrorOptions {
  places: readonly MirrorPlace[];
  /** the state directory: its journal.jsonl is what is sent */
  dir: string;
  /** the connect timeout and each statement's deadline */
  limits: DbLimits;
  /** wait this long after an event before sending, to send a burst at once (default 200 ms) */
  debounceMs?: number;
}

interface MirrorPlaceStatus {
  place: MirrorPlace;
  /** the last send's failure, one line; null after a send that worked */
  error: string | null;
}

/**
 * Sends the task journal to its mirrors in the background. `kick` after an event; `flush` at the
 * end of a command (bounded); nothing here throws into the caller.
 */
export class JournalMirror {
  readonly file: string;
  private readonly runTargets = new Map<string, string | null>();
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly clients = new Set<GuardedClient>();
  private readonly schemaDone = new Set<string>();
  private readonly states = new Map<string, MirrorPlaceStatus>();
  /** what each place has not got yet, counted from the files */
  private readonly lag: MirrorLagProbe;
  private sourceId: string | null = null;
  private stopped = false;

  constructor(private readonly opts: MirrorOptions) {
    this.file = join(opts.dir, 'journal.jsonl');
    for (const p of opts.places) this.states.set(placeKey(p), { place: p, error: null });
    this.lag = new MirrorLagProbe(opts.places, opts.dir);
  }

  get limits(): DbLimits {
    return this.opts.limits;
  }

  /** This state directory's source name (made on first use). */
  get source(): string {
    this.sourceId ??= mirrorSource(this.opts.dir);
    return this.sourceId;
  }

  /** The journal has new events: send them soon. */
  kick(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, this.opts.debounceMs ?? 200);
    this.timer.unref?.();
  }

  /** Sends what is pending now; resolves when done (never rejects). */
  send(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.running = (async () => {
      do {
        this.again = false;
        for (const st of this.states.values()) {
          try {
            await this.sendPlace(st);
            st.error = null;
          } catch (err) {
            st.error = err instanceof UserError ? message(err) : mirrorText(st.place, message(err));
          }
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
      if (!this.stopped && [...this.states.values()].some((s) => s.error)) {
        this.retry = setTimeout(() => void this.send(), RETRY_MS);
        this.retry.unref?.();
      }
    });
    return this.running;
  }

  /**
   * Sends what is pending, for at most `timeoutMs`; then stops sending (what is left waits in
   * the journal). Returns a line for each mirror that is behind: why, and how much waits.
   */
  async flush(timeoutMs: number): Promise<string[]> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    await Promise.race([
      this.send(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          late = true;
          resolve();
        }, timeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (late) this.stop();
    const lines: string[] = [];
    for (const { place, pending: behind } of this.lag.behind()) {
      if (behind === 0) continue;
      const why = this.states.get(placeKey(place))?.error ?? mirrorText(place, late ? `no answer within ${timeoutMs} ms` : 'not sent yet');
      lines.push(`${why}; ${behind === 1 ? '1 journal event waits' : `${behind} journal events wait`} locally, sent by the next ops command`);
    }
    return lines;
  }

  /** Stops sending: timers cleared, open connections closed at once. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = this.retry = null;
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }

  /** The target of a run that started before the cursor: from the journal's index. */
  private targetOf(run: string): string | null {
    if (!this.runTargets.has(run)) {
      let t: string | null = null;
      try {
        t = new Journal(this.opts.dir, { onWarning: () => undefined }).summary(run)?.target ?? null;
      } catch {
        // unreadable: the row goes without a target
      }
      this.runTargets.set(run, t);
    }
    return this.runTargets.get(run) ?? null;
  }

  private async sendPlace(st: MirrorPlaceStatus): Promise<void> {
    const place = st.place;
    const cfile = cursorFile(this.opts.dir, place);
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    let client: GuardedClient | null = null;
    try {
      const size = fstatSync(fd).size;
      const head = headOf(fd, size);
      let pos = startOf(readCursor(cfile), head, size);
      if (pos >= size) return;
      const source = this.source;
      const host = hostname();
      client = await connect(place, this.opts.limits);
      this.clients.add(client);
      const key = placeKey(place);
      if (!this.schemaDone.has(key)) {
        await ensureMirrorSchema(client, place);
        this.schemaDone.add(key);
      }
      const buf = Buffer.alloc(BATCH_BYTES);
      while (pos < size && !this.stopped) {
        const n = readSync(fd, buf, 0, Math.min(BATCH_BYTES, size - pos), pos);
        if (n <= 0) break;
        let end = buf.lastIndexOf(0x0a, n - 1);
        // a line longer than a batch is not an event ops wrote: passed over
        if (end === -1) end = n === BATCH_BYTES ? n - 1 : -1;
        if (end === -1) break; // the last line is still being written
        const rows: Row[] = [];
        let at = 0;
        let consumed = 0;
        while (at <= end && rows.length < BATCH_ROWS) {
          let nl = buf.indexOf(0x0a, at);
          if (nl === -1 || nl > end) nl = end;
          const text = buf.toString('utf8', at, nl);
          const linePos = pos + at;
          at = nl + 1;
          consumed = at;
          let x: unknown;
          try {
            // PostgreSQL's jsonb holds no NUL character
            x = JSON.parse(text.replace(/\\u0000/g, '\\ufffd'));
          } catch {
            continue;
          }
          if (!sendable(x)) continue;
          let target: string | null;
          if (x.type === 'run.start' && typeof x.target === 'string') {
            target = x.target;
            this.runTargets.set(x.run, target);
          } else target = this.targetOf(x.run);
          if (place.runsOn !== null && target !== place.runsOn) continue;
          rows.push({ source, host, pos: linePos, run: x.run, seq: x.seq, ts: x.ts, type: x.type, target, event: x });
        }
        if (rows.length) await this.insert(client, source, rows);
        pos += consumed;
        writeCursor(this.opts.dir, cfile, { v: 1, sent: pos, head });
      }
    } finally {
      closeSync(fd);
      if (client) {
        this.clients.delete(client);
        await closeClient(client, 500);
      }
    }
  }

  /** One batch in one transaction, in journal order; a row PostgreSQL refuses as data is left out. */
  private async insert(client: GuardedClient, source: string, rows: Row[]): Promise<void> {
    const batch = async (list: Row[]) => {
      await client.query('BEGIN');
      try {
        // the cursor moves past these events only once they are safe there: a server running
        // with synchronous_commit off would otherwise lose a commit ops has counted as sent
        await client.query('SET LOCAL synchronous_commit TO on');
        // one sender per source at a time, so that its rows arrive in its order
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ops-console journal mirror ${source}`]);
        await client.query(INSERT, [JSON.stringify(list)]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    };
    try {
      await batch(rows);
    } catch (err) {
      // a data error (class 22) in one row must not hold back the rest forever
      if (!pgCode(err).startsWith('22') || rows.length === 1) {
        if (rows.length === 1 && pgCode(err).startsWith('22')) return;
        throw err;
      }
      for (const r of rows) {
        try {
          await batch([r]);
        } catch (e) {
          if (!pgCode(e).startsWith('22')) throw e;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- reading

/** A run as the mirror has it: its events from every host, in order. */
export interface MirroredRun {
  run: string;
  /** the host (and source) that started it */
  host: string;
  source: string;
  /** every host that journaled an event of it (a rollback from another host adds one) */
  hosts: string[];
  summary: RunSummary;
  events: { source: string; host: string; event: JournalEvent }[];
  /** rows of it that are not events this ops reads (skipped) */
  skipped: number;
}

interface EventRow {
  source: string;
  host: string;
  run: string;
  event: unknown;
}

function foldRuns(rows: EventRow[]): MirroredRun[] {
  const byRun = new Map<string, EventRow[]>();
  for (const r of rows) {
    let l = byRun.get(r.run);
    if (!l) byRun.set(r.run, (l = []));
    l.push(r);
  }
  const out: MirroredRun[] = [];
  for (const [run, list] of byRun) {
    const events: MirroredRun['events'] = [];
    let skipped = 0;
    for (const r of list) {
      const e = checkEvent(r.event);
      // the row's run must be the event's: a row that says otherwise is not trusted
      if (e && typeof e === 'object' && e.run === run) events.push({ source: String(r.source), host: String(r.host), event: e });
      else skipped++;
    }
    const start = events.find((e) => e.event.type === 'run.start');
    if (!start) continue;
    out.push({
      run,
      host: start.host,
      source: start.source,
      hosts: [...new Set(events.map((e) => e.host))],
      summary: summarize(
        run,
        events.map((e) => e.event),
      ),
      events,
      skipped,
    });
  }
  return out;
}

/** Runs `read` on a connection to the place; a mirror without the schema has no runs. */
async function withMirror<T>(place: MirrorPlace, limits: DbLimits, empty: T, read: (c: pg.Client) => Promise<T>): Promise<T> {
  let client: GuardedClient;
  try {
    client = await connect(place, limits);
  } catch (err) {
    throw new UserError(mirrorText(place, `cannot read it: ${message(err)}`));
  }
  try {
    if ((await schemaVersion(client)) === null) return empty;
    return await read(client);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(mirrorText(place, `cannot read it: ${message(err)}`));
  } finally {
    await closeClient(client, 500);
  }
}

/** The newest runs the mirrors have (every host's), newest first. */
export async function mirroredRuns(places: readonly MirrorPlace[], limits: DbLimits, limit = 50): Promise<MirroredRun[]> {
  const all = new Map<string, MirroredRun>();
  for (const place of places) {
    const runs = await withMirror(place, limits, [] as MirroredRun[], async (c) => {
      const r = await c.query<EventRow>(
        `WITH r AS (SELECT run, min(ts) AS started FROM ops.journal_events WHERE type = 'run.start' GROUP BY run ORDER BY started DESC LIMIT $1)
         SELECT e.source, e.host, e.run, e.event FROM ops.journal_events e JOIN r USING (run) ORDER BY e.run, e.ts, e.seq, e.id`,
        [limit],
      );
      return foldRuns(r.rows);
    });
    for (const run of runs) if (!all.has(run.run)) all.set(run.run, run);
  }
  return [...all.values()].sort((a, b) => Date.parse(b.summary.startedAt) - Date.parse(a.summary.startedAt)).slice(0, limit);
}

/** The ids in the mirrors that start with `prefix`. */
export async function mirroredRunIds(places: readonly MirrorPlace[], limits: DbLimits, prefix: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const place of places) {
    const found = await withMirror(place, limits, [] as string[], async (c) => {
      const r = await c.query<{ run: string }>(`SELECT DISTINCT run FROM ops.journal_events WHERE type = 'run.start' AND left(run, length($1)) = $1 LIMIT 20`, [prefix]);
      return r.rows.map((x) => x.run);
    });
    for (const id of found) ids.add(id);
  }
  return [...ids];
}

/** One run from the mirrors, or null when none has it. */
export async function mirroredRun(places: readonly MirrorPlace[], limits: DbLimits, run: string): Promise<MirroredRun | null> {
  const rows: EventRow[] = [];
  for (const place of places) {
    const got = await withMirror(place, limits, [] as EventRow[], async (c) => {
      const r = await c.query<EventRow>(`SELECT source, host, run, event FROM ops.journal_events WHERE run = $1 ORDER BY ts, seq, id`, [run]);
      return r.rows;
    });
    rows.push(...got);
  }
  return foldRuns(rows)[0] ?? null;
}

/**
 * Copies into the local journal the events of a mirrored run it does not have (by seq), marked
 * `mirroredFrom` (so they are not sent back): then the run reads, resumes its seq and rolls
 * back here as if it had run here. Returns how many were copied.
 */
export function importMirroredRun(journal: Journal, run: MirroredRun): number {
  const have = new Set(journal.events(run.run).map((e) => e.seq));
  let n = 0;
  for (const { source, event } of run.events) {
    if (have.has(event.seq)) continue;
    have.add(event.seq);
    journal.append({ ...(event as unknown as Record<string, unknown>), run: event.run, type: event.type, mirroredFrom: source });
    n++;
  }
  return n;
}

/** The configured mirror places; a one-line error naming `what` and the key when there are none. */
export function requireMirror(settings: Pick<Settings, 'mirror' | 'configFile'>, what: string): MirrorPlace[] {
  const places = settings.mirror ?? [];
  if (places.length === 0) throw new UserError(`${what}: no journal mirror is configured (set journal.mirror in ${settings.configFile}; docs/fleet.md)`);
  return places;
}

/** A mirrored run's host fields, beside its summary in --json output. */
export function mirroredFields(r: MirroredRun): { host: string; hosts: string[]; source: string } {
  return { host: r.host, hosts: r.hosts, source: r.source };
}

/** A mirror's connect timeout and statement deadline: the probes' (probeTimeoutMs). */
export function mirrorLimits(probeTimeoutMs: number): DbLimits {
  return { connectTimeoutMs: probeTimeoutMs, queryTimeoutMs: probeTimeoutMs };
}

let processMirror: JournalMirror | null = null;

/**
 * The process's mirror of the task journal in `dir` (one per process): made on the first call
 * with places, hooked to every append, and kicked once for what an earlier command left.
 */
export function startJournalMirror(places: readonly MirrorPlace[] | undefined, dir: string, probeTimeoutMs: number): JournalMirror | null {
  if (processMirror || !places?.length) return processMirror;
  const mirror = new JournalMirror({ places, dir, limits: mirrorLimits(probeTimeoutMs) });
  processMirror = mirror;
  setJournalAppendListener((file) => {
    if (file === mirror.file) mirror.kick();
  });
  mirror.kick();
  return mirror;
}

/** The process's mirror, if one was started. */
export function journalMirror(): JournalMirror | null {
  return processMirror;
}

// ---------------------------------------------------------------- how far behind (a probe)

/**
 * What the mirrors have not got yet, from the local files only (no connection): the journal
 * events past each mirror's cursor, and the time of the oldest. The dashboard and ops check
 * judge it (journal.mirror, thresholds.journalMirrorLagMin). A rescan reads only what the journal
 * gained since the last one while the cursor stays put.
 */
export class MirrorLagProbe {
  private readonly file: string;
  private readonly seen = new Map<string, { from: number; head: string; scanned: number; lines: number; oldest: string | null }>();

  constructor(
    private readonly places: readonly MirrorPlace[],
    private readonly dir: string,
  ) {
    this.file = join(dir, 'journal.jsonl');
  }

  /** Each place's events not yet sent: how many, and the time of the oldest. */
  behind(): { place: MirrorPlace; pending: number; oldestAt: string | null }[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return this.places.map((place) => ({ place, pending: 0, oldestAt: null }));
      throw err;
    }
    try {
      const size = fstatSync(fd).size;
      const head = headOf(fd, size);
      return this.places.map((place) => {
        const key = placeKey(place);
        const from = startOf(readCursor(cursorFile(this.dir, place)), head, size);
        let s = this.seen.get(key);
        if (!s || s.from !== from || s.head !== head || s.scanned > size) s = { from, head, scanned: from, lines: 0, oldest: null };
        this.scan(fd, s, size);
        this.seen.set(key, s);
        return { place, pending: s.lines, oldestAt: s.oldest };
      });
    } finally {
      closeSync(fd);
    }
  }

  /** The place furthest behind: the oldest event waiting, else the most events. */
  probe(): { pending: number; oldestAt: string | null; where: string } {
    let worst = { pending: 0, oldestAt: null as string | null, where: this.places[0]?.db.display ?? '' };
    for (const b of this.behind()) {
      const older = b.oldestAt !== null && (worst.oldestAt === null || Date.parse(b.oldestAt) < Date.parse(worst.oldestAt));
      if (older || (worst.oldestAt === null && b.pending > worst.pending)) worst = { pending: b.pending, oldestAt: b.oldestAt, where: b.place.db.display };
    }
    return worst;
  }

  /** Counts the whole lines from s.scanned to `size`, noting the first event's time. */
  private scan(fd: number, s: { scanned: number; lines: number; oldest: string | null }, size: number): void {
    const buf = Buffer.alloc(BATCH_BYTES);
    while (s.scanned < size) {
      const n = readSync(fd, buf, 0, Math.min(BATCH_BYTES, size - s.scanned), s.scanned);
      if (n <= 0) return;
      const end = buf.lastIndexOf(0x0a, n - 1);
      if (end === -1) return; // a line still being written
      let at = 0;
      while (at <= end) {
        const nl = buf.indexOf(0x0a, at);
        if (s.oldest === null) {
          try {
            const x: unknown = JSON.parse(buf.toString('utf8', at, nl));
            if (sendable(x)) s.oldest = x.ts;
          } catch {
            // not an event: not one the mirror waits for
          }
        }
        s.lines++;
        at = nl + 1;
      }
      s.scanned += end + 1;
    }
  }
}
