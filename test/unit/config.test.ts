import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText, resolveSettings, resolveTarget, UserError } from '../../src/config/load';
import { ConfigSchema, DEFAULT_THRESHOLDS } from '../../src/config/schema';

const cfg = (o: unknown) => ConfigSchema.parse(o);

describe('config file', () => {
  it('defaults follow the product thresholds', () => {
    expect(DEFAULT_THRESHOLDS.cpuPct).toEqual({ warning: 60, critical: 80 });
    expect(DEFAULT_THRESHOLDS.diskPct).toEqual({ warning: 80, critical: 90 });
    expect(DEFAULT_THRESHOLDS.cacheHitPct).toEqual({ warning: 90, critical: 80 });
    expect(DEFAULT_THRESHOLDS.xidAge).toEqual({ warning: 1.3e9, critical: 1.4e9 });
    expect(DEFAULT_THRESHOLDS.backupAgeHours).toEqual({ warning: 24, critical: 48 });
    expect(cfg({}).refreshSec).toBe(2);
  });

  it('reports malformed JSON with file and line', () => {
    const text = '{\n  "refreshSec": 2,\n  "targets": [\n}\n';
    expect(() => parseConfigText(text, '/etc/ops.json')).toThrow(/^\/etc\/ops\.json:4:1: not valid JSON: expected a value, found "}"$/);
  });

  it('reports a bad value with its key path and line, in one line', () => {
    const text = '{\n  "refreshSec": 2,\n  "thresholds": {\n    "diskPct": { "warning": "high" }\n  }\n}\n';
    let msg = '';
    try {
      parseConfigText(text, 'c.json');
    } catch (e) {
      msg = (e as Error).message;
      expect(e).toBeInstanceOf(UserError);
    }
    expect(msg).toContain('line 4: thresholds.diskPct.warning');
    expect(msg).not.toContain('\n');
  });

  it('rejects unknown keys and warning above critical', () => {
    expect(() => parseConfigText('{"refreshSecs": 3}', 'c.json')).toThrow(/refreshSecs/);
    expect(() => parseConfigText('{"thresholds":{"cpuPct":{"warning":90,"critical":80}}}', 'c.json')).toThrow(
      /thresholds\.cpuPct: warning must be at or below critical/,
    );
  });

  it('redacts a password inside a bad target URL in the error', () => {
    const text = JSON.stringify({ targets: [{ name: 'p', url: 'mysql://u:topsecret@h/db' }] });
    expect(() => parseConfigText(text, 'c.json')).toThrow(/targets\[0\]\.url/);
    try {
      parseConfigText(text, 'c.json');
    } catch (e) {
      expect((e as Error).message).not.toContain('topsecret');
    }
  });
});

describe('precedence: flags, environment, file, defaults', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-cfg-'));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ refreshSec: 5, targets: [{ name: 'file', url: 'postgres://f@filehost/fdb' }, { name: 'other', url: 'postgres://o:pw9999@otherhost/odb' }] }),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the file when neither flags nor environment say otherwise', () => {
    const s = resolveSettings({}, { OPS_CONFIG_DIR: dir });
    expect(s.refreshMs).toBe(5000);
    expect(s.target.name).toBe('file');
    expect(s.target.display).toBe('postgres://f@filehost:5432/fdb');
  });
  it('DATABASE_URL beats the file, and --database beats DATABASE_URL', () => {
    const env = { OPS_CONFIG_DIR: dir, DATABASE_URL: 'postgres://e:envpw123@envhost:6000/edb' };
    const s = resolveSettings({}, env);
    expect(s.target.name).toBe('env');
    expect(s.target.display).toBe('postgres://e:***@envhost:6000/edb');
    expect(s.target.secrets).toContain('envpw123');
    expect(resolveSettings({ database: 'postgres://c@cli/cdb' }, env).target.name).toBe('cli');
    expect(resolveSettings({ target: 'other' }, env).target.display).toBe('postgres://o:***@otherhost:5432/odb');
  });
  it('--refresh beats the file; NO_COLOR and --no-color turn colour off', () => {
    expect(resolveSettings({ refresh: 1 }, { OPS_CONFIG_DIR: dir }).refreshMs).toBe(1000);
    expect(resolveSettings({}, { OPS_CONFIG_DIR: dir }).color).toBe(true);
    expect(resolveSettings({}, { OPS_CONFIG_DIR: dir, NO_COLOR: '1' }).color).toBe(false);
    expect(resolveSettings({ noColor: true }, { OPS_CONFIG_DIR: dir }).color).toBe(false);
  });
  it('an unknown --target names the configured ones', () => {
    expect(() => resolveSettings({ target: 'nope' }, { OPS_CONFIG_DIR: dir })).toThrow(/unknown target "nope" \(configured: file, other\)/);
  });
  it('without any target, libpq PG* variables are the defaults', () => {
    const t = resolveTarget(cfg({}), {}, { PGHOST: 'pghost', PGPORT: '5999', PGUSER: 'pu', PGDATABASE: 'pd', PGPASSWORD: 'pgpw' });
    expect(t.connection).toMatchObject({ host: 'pghost', port: 5999, user: 'pu', database: 'pd', password: 'pgpw' });
    expect(t.display).toBe('postgres://pu@pghost:5999/pd');
    expect(t.secrets).toEqual(['pgpw']);
  });
  it('a missing file means defaults; a directory in its place is an error', () => {
    expect(loadConfigFile(join(dir, 'absent.json')).refreshSec).toBe(2);
    expect(() => loadConfigFile(dir)).toThrow(/is a directory/);
  });
});

describe('located JSON parser', async () => {
  const { parseJsonLocated, JsonSyntaxError, pathKey } = await import('../../src/config/json');
  it('agrees with JSON.parse on valid documents', () => {
    const docs = ['{}', '[]', '{"a":[1,2,{"b":null}],"c":"x\\n\\u0041","d":-1.5e3,"e":true}', ' "s" ', '0'];
    for (const d of docs) expect(parseJsonLocated(d).value).toEqual(JSON.parse(d));
  });
  it('records the line of each value by key path', () => {
    const { lines } = parseJsonLocated('{\n "a": {\n  "b": [\n   1,\n   2\n  ]\n }\n}');
    expect(lines.get(pathKey(['a', 'b', 1]))).toBe(5);
    expect(lines.get(pathKey(['a']))).toBe(2);
  });
  it('names line and column of syntax errors', () => {
    const cases: [string, number, number, RegExp][] = [
      ['{"a": 1,}', 1, 9, /trailing comma/],
      ['{\n"a": 1\n"b": 2}', 3, 1, /expected "," or "}" after the value of "a"/],
      ['{"a": tru}', 1, 7, /expected a value/],
      ['{"a": "x', 1, 7, /unterminated string/],
      ['{} x', 1, 4, /after the end/],
    ];
    for (const [text, line, col, re] of cases) {
      try {
        parseJsonLocated(text);
        expect.fail(`no error for ${text}`);
      } catch (e) {
        expect(e).toBeInstanceOf(JsonSyntaxError);
        expect([(e as InstanceType<typeof JsonSyntaxError>).line, (e as InstanceType<typeof JsonSyntaxError>).col, (e as Error).message]).toEqual([line, col, expect.stringMatching(re)]);
      }
    }
  });
});
