import { describe, expect, it } from 'vitest';
import { redact, redactDeep } from '../../src/util/redact';

describe('redact', () => {
  it('hides the password of a URL and keeps the user and host', () => {
    expect(redact('could not connect to postgres://app:s3cr3t@db.example:5432/prod')).toBe(
      'could not connect to postgres://app:***@db.example:5432/prod',
    );
  });
  it('hides password=... pairs and listed secrets anywhere', () => {
    expect(redact("host=x password='a b' user=y")).toBe('host=x password=*** user=y');
    expect(redact('auth failed with hunter2 today', ['hunter2'])).toBe('auth failed with *** today');
  });
  it('leaves URLs without a password alone', () => {
    expect(redact('postgres://app@db/prod')).toBe('postgres://app@db/prod');
    expect(redact('see https://example.com/docs and postgres://db/prod')).toBe('see https://example.com/docs and postgres://db/prod');
  });
  it('ignores empty and tiny secrets rather than shredding the text', () => {
    expect(redact('a b c', ['', 'a', undefined, null])).toBe('a b c');
  });
});

describe('redact does not depend on the URL parsing', () => {
  it('hides a password holding "/", which makes the URL invalid', () => {
    const url = 'postgres://user:ab/cdSecret@host/db';
    expect(() => new URL(url)).toThrow();
    expect(redact(url)).toBe('postgres://user:***@host/db');
    expect(redact(`--database: not a valid postgres:// URL: ${url}`)).not.toContain('cdSecret');
  });
  it('hides a password holding "@", ":", "?" or "#", up to the last "@" before the host', () => {
    expect(redact('postgres://user:p@ss:w?rd#x@db.example/prod')).toBe('postgres://user:***@db.example/prod');
    expect(redact('postgresql://u:a@b@host:5432/db?sslmode=require')).toBe('postgresql://u:***@host:5432/db?sslmode=require');
  });
  it('hides all of the user information when the user name cannot be told', () => {
    expect(redact('postgres://us/er:secret@host/db')).toBe('postgres://***@host/db');
    expect(redact('postgres://:secret@host/db')).toBe('postgres://:***@host/db');
  });
  it('works for any scheme, inside quotes, and for each URL of a message', () => {
    expect(redact('redis://:redis-pass@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redact(`connect "postgres://a:one@h1/x" then 'postgres://b:two@h2/y'`)).toBe(`connect "postgres://a:***@h1/x" then 'postgres://b:***@h2/y'`);
    expect(redact('first line postgres://a:one@h1/x\nsecond postgres://b:t/wo@h2/y')).toBe('first line postgres://a:***@h1/x\nsecond postgres://b:***@h2/y');
  });
});

describe('redact: key=value and env-style assignments', () => {
  it('libpq strings: quoted with escapes, unquoted, spaces around "="', () => {
    expect(redact("host=db password='it\\'s a b' dbname=x")).toBe('host=db password=*** dbname=x');
    expect(redact('host=db password = hunter2 dbname=x')).toBe('host=db password = *** dbname=x');
  });
  it('a value ends at "&" only in a URL\'s query: in a libpq string "&" is part of the password', () => {
    expect(redact('PASSWORD=x&y host=db')).toBe('PASSWORD=*** host=db');
    expect(redact('postgres://h/db?user=u&password=pa%2Fss&sslmode=require')).toBe('postgres://h/db?user=u&password=***&sslmode=require');
  });
  it('shell assignments: PGPASSWORD=..., export X_TOKEN="...", DB_SECRET=...', () => {
    expect(redact('PGPASSWORD=hunter2 psql -h db')).toBe('PGPASSWORD=*** psql -h db');
    expect(redact('export API_TOKEN="a b c"; run')).toBe('export API_TOKEN=***; run');
    expect(redact('DB_SECRET=xyz')).toBe('DB_SECRET=***');
  });
  it("SQL's PASSWORD 'literal'", () => {
    expect(redact("ALTER ROLE app PASSWORD 'it''s secret' VALID UNTIL 'infinity'")).toBe("ALTER ROLE app PASSWORD '***' VALID UNTIL 'infinity'");
  });
  it('leaves words that only contain the keys alone', () => {
    expect(redact('passwordless=true tokens=5 PWD=/home/ops')).toBe('passwordless=true tokens=5 PWD=/home/ops');
  });
});

describe('redactDeep', () => {
  it('redacts every string of a config-like value and keeps its shape', () => {
    const cfg = { targets: [{ name: 'p', url: 'postgres://u:ab/cd@h/db' }], redis: { url: 'redis://:pw@r:6379' }, n: 1, ok: true, none: null };
    expect(redactDeep(cfg, ['zzz'])).toEqual({ targets: [{ name: 'p', url: 'postgres://u:***@h/db' }], redis: { url: 'redis://:***@r:6379' }, n: 1, ok: true, none: null });
  });
});
