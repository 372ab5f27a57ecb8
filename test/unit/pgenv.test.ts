// Connection arguments for pg_dump / pg_restore: the password only ever in the environment,
// parts taken from a connection string like node-postgres does, and the binary lookup.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeAction } from '../../src/tasks/model';
import { clientConfig, dbnameArg, libpqArgs, pgBin, serverMajor, targetDatabase } from '../../src/pg/env';
import { parseTableName } from '../../tasks/analyze';

const noEnv = {};

describe('libpqArgs', () => {
  it('takes host, port, user and database from a connection string; the password goes to PGPASSWORD only', () => {
    const target = { connection: { connectionString: 'postgres://app:s%40cr3t-pw@db1.example:6432/prod' } };
    const { args, env } = libpqArgs(target, undefined, noEnv);
    expect(args).toEqual(['-h', 'db1.example', '-p', '6432', '-U', 'app', '-d', 'prod']);
    expect(env).toEqual({ PGPASSWORD: 's@cr3t-pw', PGAPPNAME: 'ops-console/task' });
    const shown = describeAction({ kind: 'command', argv: ['pg_dump', '-Fc', ...args], env });
    expect(shown).not.toContain('s@cr3t-pw');
    expect(shown).not.toContain('s%40cr3t-pw');
    expect(args.join(' ')).not.toContain('cr3t');
  });

  it('overrides the database, and takes the parts of a ClientConfig', () => {
    const target = { connection: { host: '/var/run/postgresql', port: 5433, user: 'postgres', database: 'app', password: 'pw-123' } };
    expect(libpqArgs(target, 'other', noEnv)).toEqual({
      args: ['-h', '/var/run/postgresql', '-p', '5433', '-U', 'postgres', '-d', 'other'],
      env: { PGPASSWORD: 'pw-123', PGAPPNAME: 'ops-console/task' },
    });
    expect(targetDatabase(target, noEnv)).toBe('app');
    // a connection without a database name: the resolved target's name for it
    expect(libpqArgs({ connection: { host: 'h', user: 'u' }, database: 'resolved' }, undefined, noEnv).args.slice(-1)).toEqual(['resolved']);
  });

  it('a socket directory given as ?host=, sslmode into PGSSLMODE, and no PGPASSWORD without a password', () => {
    const a = libpqArgs({ connection: { connectionString: 'postgres://me@localhost/mydb?host=/tmp' } }, undefined, noEnv);
    expect(a.args).toEqual(['-h', '/tmp', '-p', '5432', '-U', 'me', '-d', 'mydb']);
    expect(a.env).toEqual({ PGAPPNAME: 'ops-console/task' });
    const b = libpqArgs({ connection: { connectionString: 'postgres://me@db/x?sslmode=verify-full' } }, undefined, noEnv);
    expect(b.env.PGSSLMODE).toBe('verify-full');
  });

  it('falls back to the libpq environment and the node-postgres defaults', () => {
    const { args } = libpqArgs({ connection: {} }, undefined, { PGHOST: 'h', PGPORT: '7', PGUSER: 'u', PGDATABASE: 'd' });
    expect(args).toEqual(['-h', 'h', '-p', '7', '-U', 'u', '-d', 'd']);
    expect(libpqArgs({ connection: {} }, undefined, { USER: 'alice' }).args).toEqual(['-h', 'localhost', '-p', '5432', '-U', 'alice', '-d', 'alice']);
  });

  it('a database name that libpq would read as a connection string is passed as dbname=\'...\'', () => {
    expect(dbnameArg('plain_db')).toBe('plain_db');
    expect(dbnameArg('x host=evil.example')).toBe("dbname='x host=evil.example'");
    expect(dbnameArg("it's=\\")).toBe("dbname='it\\'s=\\\\'");
    expect(dbnameArg('postgres://evil/db')).toBe("dbname='postgres://evil/db'");
    const { args } = libpqArgs({ connection: { host: 'h', user: 'u' } }, 'a=b', noEnv);
    expect(args.slice(-2)).toEqual(['-d', "dbname='a=b'"]);
  });
});

describe('clientConfig', () => {
  it('overrides the database of a connection-string target (the string would otherwise win)', () => {
    const c = clientConfig({ connection: { connectionString: 'postgres://app:pw-x@db1:6432/prod' } }, 'scratch', noEnv);
    expect(c).toMatchObject({ host: 'db1', port: 6432, user: 'app', password: 'pw-x', database: 'scratch', application_name: 'ops-console/task' });
    expect(c.connectionString).toBeUndefined();
  });
});

describe('pgBin', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-pgbin-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fake = (file: string) => {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o755);
  };
  const lib = join(root, 'lib');
  const pathDir = join(root, 'bin');
  fake(join(lib, '13', 'bin', 'pg_dump'));
  fake(join(lib, '16', 'bin', 'pg_dump'));
  fake(join(lib, '17', 'bin', 'pg_dump'));
  fake(join(pathDir, 'pg_dump'));

  it('prefers PATH when its version is the server\'s or newer', () => {
    expect(pgBin('pg_dump', 150004, { path: pathDir, libDir: lib, version: () => 15 })).toBe(join(pathDir, 'pg_dump'));
    expect(pgBin('pg_dump', null, { path: pathDir, libDir: lib, version: () => 9.6 })).toBe(join(pathDir, 'pg_dump'));
  });
  it('else the newest versioned binary at or above the server\'s version', () => {
    expect(pgBin('pg_dump', 160002, { path: pathDir, libDir: lib, version: () => 15 })).toBe(join(lib, '17', 'bin', 'pg_dump'));
    expect(pgBin('pg_dump', 120000, { path: '', libDir: lib })).toBe(join(lib, '17', 'bin', 'pg_dump'));
  });
  it('else the newest found, else the bare name', () => {
    expect(pgBin('pg_dump', 180000, { path: '', libDir: lib })).toBe(join(lib, '17', 'bin', 'pg_dump'));
    expect(pgBin('pg_restore', 150000, { path: '', libDir: join(root, 'none') })).toBe('pg_restore');
  });
  it('reads the server version numbers of both numbering schemes', () => {
    expect(serverMajor(150004)).toBe(15);
    expect(serverMajor(90624)).toBe(9.6);
  });
});

describe('parseTableName', () => {
  it('splits schema.table, keeps exact names and reads SQL-style quotes', () => {
    expect(parseTableName('public.orders')).toEqual({ schema: 'public', table: 'orders' });
    expect(parseTableName('public.Odd Name')).toEqual({ schema: 'public', table: 'Odd Name' });
    expect(parseTableName('"my.schema"."Odd ""Name"""')).toEqual({ schema: 'my.schema', table: 'Odd "Name"' });
    expect(parseTableName('"Odd Name"')).toEqual({ schema: null, table: 'Odd Name' });
    expect(parseTableName('orders')).toEqual({ schema: null, table: 'orders' });
    expect(parseTableName('"unterminated')).toBeNull();
    expect(parseTableName('public.')).toBeNull();
    expect(parseTableName('"a"x')).toBeNull();
  });
});
