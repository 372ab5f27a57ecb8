// The error for a file in the state directory that could not be written, and errno texts.
import { getSystemErrorMap } from 'node:util';
import { UserError } from '../errors';

/**
 * A file in the state directory (the journal, a run log) that could not be written: one line
 * naming the file and the error, e.g. `run log: cannot write /x/runs/ID.log: ENOSPC (no space
 * left on device)`.
 */
export class StateWriteError extends UserError {
  /** the file (or directory) that could not be written */
  readonly path: string;
  /** the errno code (ENOSPC, EACCES, EIO, ...), or null */
  readonly code: string | null;

  constructor(what: string, path: string, cause: unknown, verb = 'write') {
    super(`${what}: cannot ${verb} ${path}: ${errnoText(cause)}`);
    this.name = 'StateWriteError';
    this.path = path;
    this.code = errnoCode(cause);
  }
}

export function errnoCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** `ENOSPC (no space left on device)`; the first line of the message for other errors. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null;
  const code = errnoCode(err);
  const message = String(e?.message ?? err).split('\n')[0];
  if (!code) return message;
  const said = new RegExp(`^${code}: ([^,]+)`).exec(message)?.[1] ?? (typeof e?.errno === 'number' ? getSystemErrorMap().get(e.errno)?.[1] : undefined);
  return said ? `${code} (${said})` : code;
}
