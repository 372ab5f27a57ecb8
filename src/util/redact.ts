// Secrets never reach the screen, logs, journals or reports. Every message that may carry a
// connection string or a password passes through here.
//
// Nothing here parses a URL: a password may hold any character, and a URL that does not parse
// (postgres://user:ab/cd@host/db) is exactly the one an error message quotes. Three rules:
//   1. scheme://USERINFO@host: everything from after "://" to the last "@" before the next
//      whitespace is the user information. With a ":" in it, all after the first ":" is a
//      password and is hidden (postgres://user:***@host/db); when what is before the ":" does
//      not look like a user name, all of it is (postgres://***@host/db). Without a ":" there is
//      no password, and the text is left as it is (postgres://app@db/prod).
//   2. KEY=VALUE where KEY is password, passwd, or ends in PASSWORD, PASSWD, SECRET or TOKEN, in
//      any case: libpq's `password=...` (quoted 'like this' or up to a space), a URL's
//      `?password=...` (up to the next & or #), a shell's `PGPASSWORD=...` or `export X_TOKEN="..."`.
//   3. SQL's PASSWORD 'literal' (CREATE/ALTER ROLE ... PASSWORD '...'), as a server may echo it.
//   4. Every listed secret (the target's password, PGPASSWORD), wherever it appears.

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)(\S*)@/gi;
const USER_NAME = /^[^\s/?#@:]*$/;
const SQL_PASSWORD = /\b(password\s+)'(?:[^']|'')*'?/gi;
const KEY_VALUE = /\b([a-z0-9_]*(?:password|passwd|secret|token))(\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\S+)/gi;

function hideUserinfo(scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  if (colon === -1) return `${scheme}${userinfo}@`; // a user name only: nothing secret
  const user = userinfo.slice(0, colon);
  return USER_NAME.test(user) ? `${scheme}${user}:***@` : `${scheme}***@`;
}

function hideValue(match: string, key: string, eq: string, value: string, offset: number, whole: string): string {
  // in a URL's query the value ends at the next parameter; what follows is kept
  const before = offset > 0 ? whole[offset - 1] : '';
  if ((before === '?' || before === '&') && !/^['"]/.test(value)) {
    const end = value.search(/[&#]/);
    if (end !== -1) return `${key}${eq}***${value.slice(end)}`;
  }
  return `${key}${eq}***`;
}

/** Replaces URL passwords, `password=...`-style pairs and every listed secret with "***". */
export function redact(text: string, secrets: readonly (string | undefined | null)[] = []): string {
  let out = text.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => hideUserinfo(scheme, userinfo));
  out = out.replace(KEY_VALUE, hideValue);
  out = out.replace(SQL_PASSWORD, (_m, kw: string) => `${kw}'***'`);
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

/** A connection string with its password (if any) redacted; for display. */
export function redactUrl(url: string): string {
  return redact(url);
}

/** A copy of a JSON-like value with every string in it redacted (keys are kept). */
export function redactDeep<T>(value: T, secrets: readonly (string | undefined | null)[] = []): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, secrets);
    return out as T;
  }
  return value;
}
