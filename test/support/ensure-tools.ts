// Installs what the tests need that a fresh machine may lack. Called from the global set-up.
import { execFileSync } from 'node:child_process';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let aptUpdated = false;

/** apt-get install, as root, once per run; returns false when it cannot. */
export function aptInstall(pkgs: string[]): boolean {
  if (process.getuid?.() !== 0 || !have('apt-get')) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    if (!aptUpdated) {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
      aptUpdated = true;
    }
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env, timeout: 600_000 });
    return true;
  } catch {
    return false;
  }
}

export function ensureTmux(): void {
  if (have('tmux')) return;
  process.stderr.write('[test set-up] tmux is missing: installing it for the end-to-end tests\n');
  aptInstall(['tmux']);
}

/**
 * promtool (Debian's prometheus package), for the OpenMetrics tests. Installed as root when
 * missing; the package's server is not left running (the tests need only its promtool).
 * Returns the path, or null when it cannot be had here.
 */
export function ensurePromtool(): string | null {
  if (!have('promtool')) {
    process.stderr.write('[test set-up] promtool is missing: installing Debian\'s prometheus package for the OpenMetrics tests\n');
    aptInstall(['prometheus']);
    try {
      execFileSync('sh', ['-c', 'pkill -x prometheus || true'], { stdio: 'ignore' });
    } catch {
      // nothing to stop
    }
  }
  return have('promtool') ? 'promtool' : null;
}

/** ansible-playbook (Debian's ansible-core), for docs/fleet.md's test; null when it cannot be had. */
export function ensureAnsible(): string | null {
  if (!have('ansible-playbook')) {
    process.stderr.write("[test set-up] ansible-playbook is missing: installing Debian's ansible-core for docs/fleet.md's test\n");
    aptInstall(['ansible-core']);
  }
  return have('ansible-playbook') ? 'ansible-playbook' : null;
}
