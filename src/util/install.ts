// Files that ship with ops-console (config/checklists, config/drill): found from this module's
// place, which is src/util when run from source and dist/ when bundled.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<installation>/<parts>`: the nearest ancestor of this module holding it (null when none does). */
export function installedPath(...parts: string[]): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, ...parts);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}
