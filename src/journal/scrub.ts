// Sanitising what is written: redacted, JSON-safe and size-limited copies of events.
import { redact } from '../util/redact';

/** Longest string kept in an event (error texts, SQL, command lines). */
export const MAX_STRING = 2000;
/** Events longer than this are shrunk further, so concurrent appends stay single small writes. */
export const MAX_LINE = 16 * 1024;
const MAX_ARRAY = 200;
const MAX_DEPTH = 8;
const SECRET_KEY = /pass(word|wd)?$|^pwd$|secret|token|api[-_]?key|credential/i;
// `PGPASSWORD=...` and the like in command lines (redact() only knows `password=`).
export const ENV_ASSIGN_SECRET = /\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN))=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)/gi;

export function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

interface Scrubber {
  secrets: readonly string[];
  maxString: number;
}

function scrubString(s: string, sc: Scrubber): string {
  const out = redact(s, sc.secrets).replace(ENV_ASSIGN_SECRET, (_m, k: string) => `${k}=***`);
  return cut(out, sc.maxString);
}

/** A JSON-safe, redacted, size-limited copy of `v`. */
export function scrub(v: unknown, sc: Scrubber, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof v === 'string') return scrubString(v, sc);
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Error) return scrubString(v.message, sc);
  if (typeof v !== 'object') return undefined;
  if (seen.has(v)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(v);
  try {
    if (Array.isArray(v)) {
      const out = v.slice(0, MAX_ARRAY).map((x) => scrub(x, sc, depth + 1, seen) ?? null);
      if (v.length > MAX_ARRAY) out.push(`[${v.length - MAX_ARRAY} more]`);
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const y = typeof x === 'string' && SECRET_KEY.test(k) && x !== '' ? '***' : scrub(x, sc, depth + 1, seen);
      if (y !== undefined) out[k] = y;
    }
    return out;
  } finally {
    seen.delete(v);
  }
}


/** The passwords in the environment (PGPASSWORD, DATABASE_URL's), never to be written. */
export function envSecrets(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (env.PGPASSWORD) out.push(env.PGPASSWORD);
  if (env.DATABASE_URL) {
    try {
      const pw = new URL(env.DATABASE_URL).password;
      if (pw) out.push(pw, decodeURIComponent(pw));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  return out;
}
