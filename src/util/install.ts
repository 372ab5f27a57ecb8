// Files that ship with ops-console (config/checklists, config/drill): the one place that finds
// them. From source or the npm package they are on disk, found from this module's place (src/util
// from source, dist/ when bundled). In the single executable (scripts/package.mjs) they are its
// assets: written once into a private per-user directory, keyed by their digest, so every reader
// still reads plain files.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The asset listing the single executable's other assets (written by scripts/package.mjs). */
export const SEA_MANIFEST = 'ops-assets.json';

/** scripts/package.mjs's manifest: each asset's key is its path under the installation. */
export interface SeaManifest {
  /** a digest of the files' names and contents */
  digest: string;
  files: string[];
}

interface SeaApi {
  isSea(): boolean;
  getAsset(key: string, encoding?: string): string | ArrayBuffer;
}

/** node:sea when this runs as a single executable, else null (node:sea is Node 20.12 or later). */
function seaApi(): SeaApi | null {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as SeaApi;
    return sea.isSea() ? sea : null;
  } catch {
    return null;
  }
}

let seaRoot: string | null | undefined;

/** `<installation>/<parts>`: the single executable's assets, else the nearest ancestor of this module holding it (null when none does). */
export function installedPath(...parts: string[]): string | null {
  const sea = seaApi();
  if (sea) {
    seaRoot ??= unpackAssets(sea);
    const candidate = seaRoot === null ? null : join(seaRoot, ...parts);
    return candidate && existsSync(candidate) ? candidate : null;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, ...parts);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/**
 * The directory holding the executable's assets as files: `$XDG_CACHE_HOME/ops-console/assets-DIGEST`
 * (~/.cache by default), written once (complete, then renamed into place) and reused by every
 * later start. Where that cannot be written, a private temporary directory for this process.
 */
function unpackAssets(sea: SeaApi, env: NodeJS.ProcessEnv = process.env): string | null {
  let manifest: SeaManifest;
  try {
    manifest = JSON.parse(String(sea.getAsset(SEA_MANIFEST, 'utf8'))) as SeaManifest;
  } catch {
    return null;
  }
  const write = (dir: string) => {
    for (const file of manifest.files) {
      const to = join(dir, ...file.split('/'));
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      writeFileSync(to, Buffer.from(sea.getAsset(file) as ArrayBuffer), { mode: 0o600 });
    }
  };
  try {
    const base = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ops-console');
    const root = join(base, `assets-${manifest.digest}`);
    if (existsSync(join(root, SEA_MANIFEST))) return root;
    mkdirSync(base, { recursive: true, mode: 0o700 });
    const tmp = mkdtempSync(`${root}.tmp-`);
    try {
      write(tmp);
      writeFileSync(join(tmp, SEA_MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
      renameSync(tmp, root);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      // another `ops` put the same files in place first
      if (existsSync(join(root, SEA_MANIFEST))) return root;
      throw err;
    }
    return root;
  } catch {
    try {
      const tmp = mkdtempSync(join(tmpdir(), 'ops-assets-'));
      write(tmp);
      process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
      return tmp;
    } catch {
      return null;
    }
  }
}
