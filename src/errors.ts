// The errors the operator sees, and their one-line form. A UserError is a problem the operator
// can fix: printed as one line, exit code 1 (or `exitCode`). The entry point's error boundary
// (bin/boundary.ts `fail`) prints it; the screens show errorLine(err).

/** A problem the operator can fix: printed as one line, exit code 1 (or `exitCode`). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A command line ops cannot use (an unknown option, a missing argument): exit 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A monitoring plugin's UNKNOWN (ops check): exit 3. */
export class UnknownError extends UserError {
  constructor(message: string) {
    super(message, 3);
  }
}

/** The one-line form of an error: the first line of its message. */
export function errorLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** A key path as the config and YAML errors name it: `targets[0].url`, or `(top level)`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}
