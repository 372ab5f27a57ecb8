// node-postgres, loaded on first connect, not at start-up: loading it touches a global that
// makes Node load its fetch implementation (about 35 ms here, 55 ms with pg's own modules),
// which `ops --version`, `ops check --only host`, the console's first frame and every command
// that never connects should not wait for. Every connection of ops is opened through this.
import type pg from 'pg';

let pgModule: Promise<typeof pg> | null = null;

export function loadPg(): Promise<typeof pg> {
  return (pgModule ??= import('pg').then((m) => (m.default ?? m) as typeof pg));
}
