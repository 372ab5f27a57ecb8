// Throwaway clusters for the tests: src/drill/cluster.ts, plus installing Debian's server
// binaries when a fresh (root) machine has none.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { findPgBin, startCluster as startDrillCluster, type Cluster, type ClusterOptions } from '../../src/drill/cluster';

export { findPgBin, freePort, type Cluster, type ClusterOptions } from '../../src/drill/cluster';

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Finds the PostgreSQL binaries, installing the distro package as root if there are none. */
export function ensurePgBin(): { bin: string; version: number } {
  let found = findPgBin();
  if (!found && isRoot() && existsSync('/usr/bin/apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // policy-rc.d exit 101 keeps the package's post-install from starting the distro cluster.
    const policy = '/usr/sbin/policy-rc.d';
    const hadPolicy = existsSync(policy);
    if (!hadPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env, stdio: 'ignore' });
    } finally {
      if (!hadPolicy) rmSync(policy, { force: true });
    }
    found = findPgBin();
  }
  if (!found) {
    throw new Error(
      'No PostgreSQL server for the tests: set OPS_TEST_DATABASE_URL, run one on 127.0.0.1:5432, ' +
        'or install the server binaries (apt-get install postgresql) so a throwaway cluster can be started.',
    );
  }
  return found;
}

/** A throwaway cluster from the installed (or just installed) binaries. */
export function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  return startDrillCluster({ ...opts, pg: opts.pg ?? ensurePgBin() });
}
