// The connections a task, its run lock and a rollback open: a connect timeout and a deadline on
// every statement, both kept on the client side. A server that is stopped (SIGSTOP), unreachable
// or too busy to answer never holds an await: past its deadline the socket is destroyed and the
// caller gets a one-line reason. An error on an idle connection (a restart, a terminated
// backend) never reaches the process as an unhandled 'error' event: it is recorded, and the
// owner is told through `onLost`.
import type pg from 'pg';
import { loadPg } from '../pg/load';

/** One line for a connection's failure, naming what did not answer. */
export class DbDeadlineError extends Error {
  constructor(
    message: string,
    /** the backend that may still be running the statement, when known */
    readonly backendPid: number | null,
  ) {
    super(message);
    this.name = 'DbDeadlineError';
  }
}

export interface DbLimits {
  /** connecting, including authentication */
  connectTimeoutMs: number;
  /** each statement, unless the client's deadline is changed with setDeadline */
  queryTimeoutMs: number;
}

export const DEFAULT_DB_LIMITS: DbLimits = { connectTimeoutMs: 10_000, queryTimeoutMs: 10_000 };

export interface GuardedClient extends pg.Client {
  /** the backend's pid (from the protocol's BackendKeyData), once connected */
  readonly backendPid: number | null;
  /** the error that broke the connection, once it broke */
  readonly lost: Error | null;
  /** the deadline for the statements sent from now on; null: none (the caller bounds them); undefined: back to the default */
  setDeadline(ms: number | null | undefined): void;
  /** closes the socket at once, without waiting for the server */
  destroy(): void;
}

export interface OpenOptions {
  applicationName?: string;
  /** called once, when the connection breaks (error or end) after it was open */
  onLost?: (err: Error) => void;
  /** what the messages call the server, e.g. postgres://user@host:5432/db */
  display?: string;
}

function destroySocket(client: pg.Client): void {
  try {
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  } catch {
    /* already gone */
  }
  client.end().catch(() => undefined);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Opens a connection bounded on the client side. Throws a one-line Error when the server does
 * not accept it within `connectTimeoutMs`.
 */
export async function openClient(config: pg.ClientConfig, limits: DbLimits, opts: OpenOptions = {}): Promise<GuardedClient> {
  const where = opts.display ? ` (${opts.display})` : '';
  const { Client } = await loadPg();
  const client = new Client({
    ...config,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    connectionTimeoutMillis: limits.connectTimeoutMs,
    // a peer that vanished (network cut, host gone) is noticed by TCP, not only by our deadlines
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  }) as GuardedClient;
  let deadline: number | null = limits.queryTimeoutMs;
  let lost: Error | null = null;
  let open = false;
  let closing = false;
  const loseWith = (err: Error) => {
    if (lost) return;
    lost = err;
    if (open && !closing) opts.onLost?.(err);
  };
  // Without a listener an error on an idle connection is an uncaught exception.
  client.on('error', (err: Error) => loseWith(err));
  client.on('end', () => loseWith(new Error('the server closed the connection')));

  Object.defineProperty(client, 'backendPid', {
    get: () => {
      const pid = (client as unknown as { processID?: number | null }).processID;
      return typeof pid === 'number' && pid > 0 ? pid : null;
    },
  });
  Object.defineProperty(client, 'lost', { get: () => lost });
  client.setDeadline = (ms) => {
    deadline = ms === undefined ? limits.queryTimeoutMs : ms;
  };
  client.destroy = () => {
    closing = true;
    loseWith(new Error('closed by ops'));
    destroySocket(client);
  };
  const originalEnd = client.end.bind(client) as () => Promise<void>;
  (client as unknown as { end: () => Promise<void> }).end = () => {
    closing = true;
    return originalEnd();
  };

  const originalQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (lost) return Promise.reject(new Error(`the database connection was lost: ${lost.message}`));
    const p = originalQuery(...args);
    const ms = deadline;
    if (!ms || !(p instanceof Promise)) return p;
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise((resolve, reject) => {
      timer = setTimeout(() => {
        const pid = client.backendPid;
        const err = new DbDeadlineError(
          `the server did not answer within ${seconds(ms)}${where}${pid ? `; the statement may still be running as pid ${pid}` : ''}`,
          pid,
        );
        loseWith(err);
        destroySocket(client);
        reject(err);
      }, ms);
      timer.unref?.();
      p.then(resolve, reject);
    });
    return bounded.finally(() => clearTimeout(timer));
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        // pg's own connect timeout covers the socket; this one also covers a server that
        // accepts the socket and then never answers the startup packet
        timer = setTimeout(() => reject(new Error(`no answer within ${seconds(limits.connectTimeoutMs)} while connecting${where}`)), limits.connectTimeoutMs + 250);
        timer.unref?.();
      }),
    ]);
  } catch (err) {
    destroySocket(client);
    const msg = (err as Error).message ?? String(err);
    throw new Error(/timeout expired|connection timeout/i.test(msg) ? `no answer within ${seconds(limits.connectTimeoutMs)} while connecting${where}` : msg);
  } finally {
    clearTimeout(timer);
  }
  open = true;
  if (lost) {
    destroySocket(client);
    throw new Error(`the connection broke while opening: ${(lost as Error).message}`);
  }
  return client;
}

/** Ends a connection politely, but never waits more than `graceMs` for the server. */
export async function closeClient(client: pg.Client | null | undefined, graceMs = 1000): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.end().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref?.();
      }),
    ]);
  } finally {
    clearTimeout(timer);
    destroySocket(client);
  }
}
