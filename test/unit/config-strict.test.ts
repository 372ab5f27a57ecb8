// Configuration leniency that reached the wrong server or leaked a password: each case is a
// one-line error naming the file and key path, never a fallback, a crash or a merged prototype.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configCommand, splitKey } from '../../src/cli/config-cmd';
import { parseConfigText, resolveSettings, resolveTarget, UserError } from '../../src/config/load';
import { ConfigSchema } from '../../src/config/schema';

/** The UserError message parseConfigText throws for `text` (fails the test when it does not throw one). */
function problem(text: string, file = '/etc/ops/config.json'): string {
  try {
    parseConfigText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg.startsWith(file)).toBe(true);
    return msg;
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`);
}

const target = (name: string, url = `postgres://ops@${name}.db/app`) => ({ name, url });

describe('targets and defaultTarget', () => {
  it('duplicate target names are refused, naming the second and the first', () => {
    const msg = problem(JSON.stringify({ targets: [target('prod'), target('stage'), { name: 'prod', url: 'postgres://ops@other/app' }] }, null, 2));
    expect(msg).toMatch(/line \d+: targets\[2\]\.name: duplicate name "prod" \(also targets\[0\]\.name\)/);
  });
  it('duplicate http and tls names too', () => {
    expect(problem(JSON.stringify({ http: [{ name: 'api', url: 'https://a/' }, { name: 'api', url: 'https://b/' }] }))).toMatch(/http\[1\]\.name: duplicate name "api"/);
    expect(problem(JSON.stringify({ tls: [{ name: 's', host: 'a' }, { name: 's', host: 'b' }] }))).toMatch(/tls\[1\]\.name: duplicate name "s"/);
  });
  it('a defaultTarget naming no target is refused by validate, with the names there are', () => {
    expect(problem(JSON.stringify({ targets: [target('prod')], defaultTarget: 'prdo' }))).toMatch(/defaultTarget: no target named "prdo" \(targets: prod\)/);
  });
  it('a defaultTarget with no targets at all is refused, not a fall back to the libpq defaults', () => {
    expect(problem(JSON.stringify({ defaultTarget: 'prod' }))).toMatch(/defaultTarget: no target named "prod" \(no targets are configured\)/);
  });
  it('an explicitly empty targets list is refused; no targets key at all means the libpq defaults', () => {
    expect(problem('{"targets": []}')).toMatch(/targets: lists no target: add one, or remove the key/);
    const t = resolveTarget(ConfigSchema.parse({}), {}, { PGHOST: 'h', PGUSER: 'u', PGDATABASE: 'd' });
    expect(t.source).toBe('default');
    expect(t.display).toBe('postgres://u@h:5432/d');
  });
  it('resolveTarget never falls back when a named target is missing, even past the schema', () => {
    const config = { ...ConfigSchema.parse({}), defaultTarget: 'gone' };
    expect(() => resolveTarget(config, {}, {}, '/x/config.json')).toThrow(/^\/x\/config\.json: defaultTarget: no target named "gone"/);
    expect(() => resolveTarget(ConfigSchema.parse({}), { target: 'prod' }, {}, '/x/config.json')).toThrow(/--target: unknown target "prod" \(no targets are configured.*\) in \/x\/config\.json$/);
  });
});

describe('URLs', () => {
  it('a URL that does not parse is refused by validate, and the message does not quote it', () => {
    const msg = problem(JSON.stringify({ targets: [target('prod', 'postgres://user:ab/cdSecret@host/db')] }));
    expect(msg).toMatch(/targets\[0\]\.url: not a valid URL \(a user name or password holding "\/".*percent-encoded/);
    expect(msg).not.toContain('cdSecret');
  });
  it("sslmode must be one of libpq's", () => {
    expect(problem(JSON.stringify({ targets: [target('prod', 'postgres://u@h/db?sslmode=bogus')] }))).toMatch(
      /targets\[0\]\.url: sslmode "bogus" is not one of disable, allow, prefer, require, verify-ca, verify-full/,
    );
    for (const mode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
      expect(() => parseConfigText(JSON.stringify({ targets: [target('p', `postgres://u@h/db?sslmode=${mode}`)] }), 'c.json')).not.toThrow();
    }
  });
  it('--database, DATABASE_URL and PGSSLMODE are held to the same rules, passwords redacted', () => {
    const config = ConfigSchema.parse({});
    expect(() => resolveTarget(config, { database: 'postgres://u:ab/cdSecret@h/db' }, {})).toThrow(/^--database: not a valid URL .*: postgres:\/\/u:\*\*\*@h\/db$/);
    expect(() => resolveTarget(config, {}, { DATABASE_URL: 'postgres://u@h/db?sslmode=bogus' })).toThrow(/^DATABASE_URL: sslmode "bogus"/);
    expect(() => resolveTarget(config, {}, { PGSSLMODE: 'bogus' })).toThrow(/^PGSSLMODE: "bogus" is not one of disable/);
  });
});

describe('hostile JSON', () => {
  it('100,000 nested "[" is a one-line error with line and column, not a stack overflow', () => {
    expect(problem('['.repeat(100_000))).toMatch(/^\/etc\/ops\/config\.json:1:65: \[0\]\[0\]\[0\]\[0\]\[0\]\[0\]…: nested more than 64 levels deep$/);
    expect(problem(`{\n  "refreshSec": ${'['.repeat(100_000)}${']'.repeat(100_000)}\n}`)).toMatch(/:2:\d+: refreshSec\[0\].*nested more than 64 levels deep$/);
  });
  it('a "__proto__" key is refused where it stands, and nothing reaches the top level or a prototype', () => {
    expect(problem('{"__proto__": {"refreshSec": 1}}')).toMatch(/:1:2: __proto__: "__proto__" is not allowed as a key$/);
    expect(problem('{\n  "thresholds": {\n    "__proto__": { "cpuPct": { "warning": 1, "critical": 2 } }\n  }\n}')).toMatch(/:3:5: thresholds\.__proto__: "__proto__" is not allowed/);
    expect(({} as Record<string, unknown>).refreshSec).toBeUndefined();
  });
});

describe('ops config get/set/show', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-conf-strict-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('set and get refuse key paths through __proto__, constructor or prototype, and pollute nothing', async () => {
    for (const key of ['__proto__.polluted', 'constructor.prototype.polluted', 'thresholds.__proto__.x']) {
      expect(() => splitKey(key)).toThrow(UserError);
      await expect(configCommand('set', [key, '1'], { OPS_CONFIG_DIR: dir })).rejects.toThrow(/is not a configuration key/);
    }
    await expect(configCommand('get', ['constructor'], { OPS_CONFIG_DIR: dir })).rejects.toThrow(/is not a configuration key/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('show and get hide a password holding an encoded "/" and "@"; a raw one makes show fail without quoting it', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ targets: [target('p', 'postgres://user:ab/cdSecret@host/db')] }));
    const err = await configCommand('show', [], { OPS_CONFIG_DIR: dir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).not.toContain('cdSecret');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ targets: [target('p', 'postgres://u:p%2Fw%40d@h/db')], redis: { url: 'redis://:red-pass@r:6379' } }));
    const shown = await configCommand('show', [], { OPS_CONFIG_DIR: dir });
    expect(shown).toContain('"url": "postgres://u:***@h/db"');
    expect(shown).toContain('"url": "redis://:***@r:6379"');
    expect(shown).not.toMatch(/p%2Fw|red-pass/);
    const got = await configCommand('get', ['targets[0].url'], { OPS_CONFIG_DIR: dir });
    expect(got).toBe('postgres://u:***@h/db\n');
  });
  it('validate refuses the URL that does not parse', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ targets: [target('p', 'postgres://user:ab/cdSecret@host/db')] }));
    await expect(configCommand('validate', [], { OPS_CONFIG_DIR: dir })).rejects.toThrow(/targets\[0\]\.url: not a valid URL/);
  });
  it('a config whose defaultTarget names nothing breaks no command silently: resolveSettings says why', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ targets: [target('prod')], defaultTarget: 'stage' }));
    expect(() => resolveSettings({}, { OPS_CONFIG_DIR: dir })).toThrow(/defaultTarget: no target named "stage" \(targets: prod\)/);
  });
});
