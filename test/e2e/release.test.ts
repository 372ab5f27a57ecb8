// `npm run package` (scripts/package.mjs), built once into a temporary folder (issue 16): the
// single executable runs with no node on the PATH, reading its config/ files from its own assets;
// the .deb carries it as /usr/bin/ops with the bash completion and the man page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/ops';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string; name: string };

describe('npm run package: the single executable and the .deb', () => {
  let out: string;
  let exe: string;
  let deb: string;
  let db: TestDatabase;
  /** a PATH with no node on it, and a private home */
  const env = () => ({ PATH: join(out, 'empty-bin'), HOME: join(out, 'home'), OPS_CONFIG_DIR: join(out, 'config'), OPS_STATE_DIR: join(out, 'state'), LANG: 'C.UTF-8' });
  const run = (bin: string, args: string[]) => {
    try {
      return { code: 0, stdout: execFileSync(bin, args, { env: env(), encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] }), stderr: '' };
    } catch (err) {
      const e = err as { status: number | null; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'ops-release-'));
    mkdirSync(join(out, 'empty-bin'));
    execFileSync(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--out', out, '--fast'], { cwd: ROOT, timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    exe = join(out, 'ops-linux-x64');
    deb = join(out, `${pkg.name}_${pkg.version}_amd64.deb`);
    db = await createTestDatabase('sea');
  }, 360_000);
  afterAll(async () => {
    await db?.drop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('writes only the executable and the .deb', () => {
    expect(readdirSync(out).filter((f) => !['empty-bin'].includes(f)).sort()).toEqual([`${pkg.name}_${pkg.version}_amd64.deb`, 'ops-linux-x64']);
  });

  it('the executable: ops --version with no node on the PATH', () => {
    expect(() => execFileSync('sh', ['-c', 'command -v node'], { env: env(), stdio: 'ignore' })).toThrow();
    const r = run(exe, ['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`ops ${pkg.version}\n`);
  });

  it('the executable: ops check --json against the test database', () => {
    const r = run(exe, ['check', '--json', '--only', 'postgres', '--database', db.url]);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((c) => c.id === 'pg.up')?.status).toBe('OK');
  });

  it('the executable: its built-in checklists (assets) and tasks', () => {
    const r = run(exe, ['checklist']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^daily\s/m);
    expect(run(exe, ['checklist', 'show', 'weekly']).stdout).toMatch(/\S/);
    expect(run(exe, ['run']).stdout).toMatch(/^vacuum-analyze\s/m);
  });

  it('the .deb: dpkg-deb --info and --contents show the binary, the completion and the man page', () => {
    const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
    expect(info).toMatch(/^ Package: ops-console$/m);
    expect(info).toMatch(new RegExp(`^ Version: ${pkg.version.replace(/[.]/g, '\\.')}$`, 'm'));
    expect(info).toMatch(/^ Architecture: amd64$/m);
    expect(info).toMatch(/^ Depends: libc6 \(>= 2\.\d+\)/m);
    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
    expect(contents).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/bin\/ops$/m);
    expect(contents).toMatch(/ \.\/usr\/share\/bash-completion\/completions\/ops$/m);
    expect(contents).toMatch(/ \.\/usr\/share\/man\/man1\/ops\.1\.gz$/m);
  });

  it('the .deb: its binary, unpacked with dpkg-deb -x, runs ops --version; its man page is ops --help', () => {
    const root = join(out, 'unpacked');
    execFileSync('dpkg-deb', ['-x', deb, root]);
    const bin = join(root, 'usr/bin/ops');
    expect(run(bin, ['--version']).stdout).toBe(`ops ${pkg.version}\n`);
    const man = execFileSync('sh', ['-c', `gzip -dc '${join(root, 'usr/share/man/man1/ops.1.gz')}'`], { encoding: 'utf8' });
    expect(man).toMatch(/^\.TH OPS 1 /);
    expect(man).toContain('ops check [\\-\\-json | \\-\\-format nagios|json|openmetrics]');
    expect(existsSync(join(root, 'usr/share/bash-completion/completions/ops'))).toBe(true);
  });
});
