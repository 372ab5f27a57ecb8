// Where the state directory is, and creating its private directories.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StateWriteError } from './errors';

/** `$OPS_STATE_DIR`, else `$XDG_STATE_HOME/ops-console`, else `~/.local/state/ops-console`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPS_STATE_DIR) return env.OPS_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'ops-console');
  return join(env.HOME || homedir(), '.local', 'state', 'ops-console');
}

function ownedByMe(path: string): boolean {
  try {
    return statSync(path).uid === process.getuid?.();
  } catch {
    return false;
  }
}

/** Creates the directory 0700 (a StateWriteError when it cannot be). */
export function ensurePrivateDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateWriteError(what, dir, err, 'create');
  }
  try {
    if ((statSync(dir).mode & 0o777) !== 0o700 && ownedByMe(dir)) chmodSync(dir, 0o700);
  } catch {
    // best effort: a directory we do not own keeps its mode
  }
}
