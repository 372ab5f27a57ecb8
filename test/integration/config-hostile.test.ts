// The built `ops` on configuration that used to be taken leniently, and on passwords that made
// a URL unparseable: every case is one line on stderr naming the file and the key path, a
// non-zero exit, no stack trace (one with --debug), and no password anywhere.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, runOps, tempConfigDir } from '../support/ops';

const SECRET = 'cdSecret-771';
const BAD_URL = `postgres://user:ab/${SECRET}@127.0.0.1:1/db`;

let conf: ReturnType<typeof tempConfigDir> | null = null;
afterEach(() => {
  conf?.cleanup();
  conf = null;
});

/** Runs `args` against a config file holding `text`; returns the result and the file. */
async function withConfig(text: string, args: string[], extraEnv: Record<string, string> = {}) {
  conf = tempConfigDir(text);
  const r = await runOps(args, { env: cleanEnv({ OPS_CONFIG_DIR: conf.dir, ...extraEnv }) });
  return { ...r, file: conf.file };
}

function expectOneLineError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ops: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain('internal error');
}

const target = (name: string, url = `postgres://ops@${name}.invalid/app`) => ({ name, url });

describe('config leniency, through the built ops', () => {
  const cases: [string, string, RegExp][] = [
    ['duplicate target names', JSON.stringify({ targets: [target('prod'), target('prod')] }, null, 2), /targets\[1\]\.name: duplicate name "prod" \(also targets\[0\]\.name\)/],
    ['a defaultTarget naming no target', JSON.stringify({ targets: [target('prod')], defaultTarget: 'stage' }), /defaultTarget: no target named "stage" \(targets: prod\)/],
    ['a defaultTarget with no targets at all', JSON.stringify({ defaultTarget: 'prod' }), /defaultTarget: no target named "prod" \(no targets are configured\)/],
    ['an empty targets list', '{"targets": []}', /targets: lists no target/],
    ['100,000 nested "["', '['.repeat(100_000), /:1:65: \[0\]\[0\]\[0\]\[0\]\[0\]\[0\]…: nested more than 64 levels deep$/],
    ['a __proto__ key', '{\n  "__proto__": { "refreshSec": 1 }\n}', /:2:3: __proto__: "__proto__" is not allowed as a key$/],
    ['sslmode=bogus', JSON.stringify({ targets: [target('prod', 'postgres://ops@db/app?sslmode=bogus')] }), /targets\[0\]\.url: sslmode "bogus" is not one of disable, allow, prefer, require, verify-ca, verify-full/],
    ['a URL that does not parse (a password holding "/")', JSON.stringify({ targets: [target('prod', BAD_URL)] }), /targets\[0\]\.url: not a valid URL/],
  ];
  for (const [what, text, pattern] of cases) {
    it(`${what}: validate and check refuse it in one line naming the file and key path`, async () => {
      const v = await withConfig(text, ['config', 'validate']);
      expectOneLineError(v, pattern);
      expect(v.stderr.startsWith(`ops: ${v.file}`)).toBe(true);
      expect(v.stdout).toBe('');
      expect(v.stderr).not.toContain(SECRET);
      const c = await withConfig(text, ['check', '--only', 'postgres']);
      expectOneLineError(c, pattern);
      expect(c.code).toBe(3); // a plugin's UNKNOWN
      expect(c.stderr).not.toContain(SECRET);
    });
  }

  it('--debug adds the stack trace, still without the password', async () => {
    const r = await withConfig(JSON.stringify({ targets: [target('prod', BAD_URL)] }), ['config', 'show', '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').length).toBeGreaterThan(2);
    expect(r.stderr).not.toContain(SECRET);
  });

  it('--target naming a target that does not exist is an error, never the libpq defaults', async () => {
    const r = await withConfig('{}', ['check', '--only', 'postgres', '--target', 'prod'], { PGHOST: '127.0.0.1', PGPORT: '5432', PGUSER: 'postgres' });
    expectOneLineError(r, /--target: unknown target "prod" \(no targets are configured.*\) in \S+config\.json$/);
  });
});

describe('a password holding "/" is never printed', () => {
  it('--database and DATABASE_URL: the error names the problem and shows the URL redacted', async () => {
    for (const [args, extra] of [
      [['check', '--only', 'postgres', '--database', BAD_URL], {}],
      [['check', '--only', 'postgres'], { DATABASE_URL: BAD_URL }],
      [['run', 'analyze', '--yes', '--database', BAD_URL], {}],
    ] as [string[], Record<string, string>][]) {
      const r = await withConfig('{}', args, extra);
      expectOneLineError(r, /(--database|DATABASE_URL): not a valid URL .*: postgres:\/\/user:\*\*\*@127\.0\.0\.1:1\/db$/);
      expect(r.stderr + r.stdout).not.toContain(SECRET);
      conf?.cleanup();
      conf = null;
    }
  });

  it('config show and get hide a percent-encoded password; set refuses the raw one without echoing it', async () => {
    const encoded = `postgres://user:ab%2F${SECRET}@db.invalid/app`;
    const show = await withConfig(JSON.stringify({ targets: [target('prod', encoded)] }), ['config', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('"url": "postgres://user:***@db.invalid/app"');
    expect(show.stdout).not.toContain(SECRET);
    const env = cleanEnv({ OPS_CONFIG_DIR: conf!.dir });
    const get = await runOps(['config', 'get', 'targets[0].url'], { env });
    expect(get.stdout).toBe('postgres://user:***@db.invalid/app\n');
    const set = await runOps(['config', 'set', 'targets', JSON.stringify([target('prod', BAD_URL)])], { env });
    expectOneLineError(set, /config set: targets\[0\]\.url: not a valid URL/);
    expect(set.stderr).not.toContain(SECRET);
    writeFileSync(conf!.file, '{}'); // nothing else to look at
  });
});
