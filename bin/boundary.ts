// The entry point's one error boundary: whatever a command throws becomes one line on stderr,
// `ops: …` (terminal-safe, secrets redacted; the stack only with --debug), and an exit code.
import { UserError } from '../src/errors';
import { redact } from '../src/util/redact';
import { sanitizeLine, sanitizeText } from '../src/util/sanitize';

/** How a command's errors exit. */
export interface Exits {
  /** the exit code of an error that is not a UserError (an internal error) */
  fallback: number;
  /** when set, every UserError exits with this code instead of its own (ops check: UNKNOWN, 3) */
  user?: number;
}

const debug = process.argv.includes('--debug');

/** Writes the error's line (and with --debug its stack) to stderr and exits. */
export function fail(err: unknown, exits: Exits): never {
  const secrets = [process.env.PGPASSWORD];
  if (err instanceof UserError) {
    const e = exits.user === undefined ? err : new UserError(err.message, exits.user);
    // one line, terminal-safe: a message may quote a database's error or a file's text
    process.stderr.write(`ops: ${sanitizeLine(redact(e.message, secrets))}\n`);
    if (debug && e.stack) process.stderr.write(`${sanitizeText(redact(e.stack, secrets))}\n`);
    process.exit(e.exitCode);
  }
  const e = err as Error;
  process.stderr.write(`ops: internal error: ${sanitizeLine(redact(e?.message ?? String(err), secrets))}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && e?.stack) process.stderr.write(`${sanitizeText(redact(e.stack, secrets))}\n`);
  process.exit(exits.fallback);
}

/** Runs `run` inside the boundary: its result, or what it throws goes to `fail` with `exits`. */
export async function guard<T>(run: () => T | Promise<T>, exits: Exits): Promise<T> {
  try {
    return await run();
  } catch (err) {
    fail(err, exits);
  }
}
