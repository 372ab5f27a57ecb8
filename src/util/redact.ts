// Secrets never reach the screen, logs, journals or reports. Every message that may carry a
// connection string or a password passes through here.

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]*)@/gi;
const KEYWORD_PASSWORD = /\b(password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'&]+)/gi;

/** Replaces URL passwords, `password=...` pairs and every listed secret with "***". */
export function redact(text: string, secrets: readonly (string | undefined | null)[] = []): string {
  let out = text.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
  out = out.replace(KEYWORD_PASSWORD, (_m, key: string) => `${key}=***`);
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

/** A postgres URL with its password (if any) redacted; for display. */
export function redactUrl(url: string): string {
  return redact(url);
}
