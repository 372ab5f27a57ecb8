// The npm package as a new user gets it (issue 16): `npm pack` in a copy of the work tree (its
// prepack builds the bundle), then `npm install -g` of the tarball into a temporary prefix with
// install scripts blocked and no registry. The installed `ops` finds its checklists, tasks and
// drill files from where npm put it, and checks the test database.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT } from '../support/ops';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const LEFT_OUT = new Set(['node_modules', '.git', 'dist', 'release', 'coverage', '.bench-tmp']);

describe('npm pack, then npm install -g of the tarball with --ignore-scripts', () => {
  let tmp: string;
  let prefix: string;
  let packed: { files: { path: string }[]; filename: string }[];
  let ops: string;
  let db: TestDatabase;
  const env = () => cleanEnv({ HOME: join(tmp, 'home'), OPS_CONFIG_DIR: join(tmp, 'config'), OPS_STATE_DIR: join(tmp, 'state'), npm_config_cache: join(tmp, 'npm-cache') });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ops-npm-pack-'));
    // a copy of the tree (npm pack builds dist/ in place: the other tests keep using this one's)
    const tree = join(tmp, 'tree');
    for (const name of readdirSync(ROOT)) {
      if (!LEFT_OUT.has(name)) cpSync(join(ROOT, name), join(tree, name), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: tree, env: env(), encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    packed = JSON.parse(out.slice(out.indexOf('[')));
    prefix = join(tmp, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--offline', '--no-audit', '--no-fund', join(tmp, packed[0].filename)], {
      env: env(),
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ops = join(prefix, 'bin', 'ops');
    db = await createTestDatabase('npm_pack');
  }, 240_000);
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const run = (args: string[]) => {
    try {
      return { code: 0, stdout: execFileSync(ops, args, { env: env(), encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (err) {
      const e = err as { status: number | null; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('ships the bundle, config/, docs, README and licence, and no test, bench, CI or source file', () => {
    const files = packed[0].files.map((f) => f.path);
    expect(files).toContain('dist/main.js');
    expect(files).toContain('bin/ops');
    expect(files).toContain('config/checklists/daily.yaml');
    expect(files).toContain('config/drill/seed.sql');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    const unwanted = files.filter((f) => /(^|\/)test\/|\.test\.tsx?$|^bench\/|^\.ci\/|^src\/|^screens\/|^tasks\/|^scripts\/|\.ts$|\.map$/.test(f));
    expect(unwanted).toEqual([]);
  });

  it('the installed package has no dependencies: nothing under its node_modules', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'ops-console');
    expect(existsSync(join(installed, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
  });

  it('ops --version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ops \d+\.\d+\.\d+/);
  });

  it('ops check --json against the test database', () => {
    const r = run(['check', '--json', '--only', 'postgres', '--database', db.url]);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((c) => c.id === 'pg.up')?.status).toBe('OK');
  });

  it('finds the built-in checklists and tasks from the installed location', () => {
    const checklists = run(['checklist']);
    expect(checklists.code).toBe(0);
    expect(checklists.stdout).toMatch(/^daily\s/m);
    const tasks = run(['run']);
    expect(tasks.stdout).toMatch(/^vacuum-analyze\s/m);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'ops-console', 'config', 'drill', 'seed.sql'))).toBe(true);
  });
});
