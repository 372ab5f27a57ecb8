// The PostgreSQL probe's errors: a lost connection told apart, and one line for each failure.

export class ConnectError extends Error {
  constructor(readonly inner: unknown) {
    super('connect failed');
  }
}

interface NodeishError {
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: unknown[];
  severity?: string;
}

const CONNECTION_LOSS = /Connection terminated|ECONNRESET|EPIPE|not queryable|Client was closed|terminating connection/i;

export function isConnectionLoss(err: unknown): boolean {
  const e = err as NodeishError | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '57P01' || e.code === '57P02' || e.code === '57P03' || e.code?.startsWith('08')) return true;
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return true;
  return CONNECTION_LOSS.test(String(e.message ?? ''));
}

export function describeError(err: unknown, timeoutMs: number, endpoint: string): string {
  let e = err as NodeishError | null;
  if (e instanceof ConnectError) e = e.inner as NodeishError;
  if (e == null || typeof e !== 'object') return String(err ?? 'unknown error');
  // Node's happy-eyeballs (localhost -> ::1 and 127.0.0.1) reports an AggregateError with no message.
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const parts = [...new Set(e.errors.map((x) => describeError(x, timeoutMs, endpoint)))];
    return parts.join('; ');
  }
  const at = e.address ? (e.port ? `${e.address}:${e.port}` : e.address) : endpoint;
  const msg = String(e.message ?? '');
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused at ${at}`;
    case 'ENOENT':
      return `no server socket at ${at}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found: ${e.hostname ?? endpoint}`;
    case 'ETIMEDOUT':
      return `timed out connecting to ${at}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: ${at}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${at}`;
    case '57014':
      return `timed out after ${timeoutMs} ms (${msg})`;
    default:
      break;
  }
  if (/timeout expired|connection timeout/i.test(msg)) return `timed out after ${timeoutMs} ms connecting to ${endpoint}`;
  if (/Connection terminated unexpectedly/i.test(msg)) return `connection to ${endpoint} closed unexpectedly`;
  if (/^Connection terminated$/i.test(msg)) return `connection to ${endpoint} closed`;
  return msg || e.code || 'unknown error';
}
