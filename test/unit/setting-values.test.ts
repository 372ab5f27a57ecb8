// set-setting's reading of values (tasks/setting-values.ts): a value checked against its
// pg_settings row as the server reads it, and printed as SHOW prints it. The rows are PostgreSQL
// 15's own (SELECT ... FROM pg_settings).
import { describe, expect, it } from 'vitest';
import { checkValue, contextEffect, formatG, parseBool, showNumber, showSetting, type SettingRow } from '../../tasks/setting-values';

const row = (over: Partial<SettingRow>): SettingRow => ({ name: 'x', setting: '0', unit: null, vartype: 'integer', context: 'user', min_val: null, max_val: null, enumvals: null, ...over });
const workMem = row({ name: 'work_mem', setting: '4096', unit: 'kB', min_val: '64', max_val: '2147483647' });
const sharedBuffers = row({ name: 'shared_buffers', setting: '16384', unit: '8kB', context: 'postmaster', min_val: '16', max_val: '1073741823' });
const stmtTimeout = row({ name: 'statement_timeout', setting: '0', unit: 'ms', min_val: '0', max_val: '2147483647' });
const logMin = row({ name: 'log_min_duration_statement', setting: '-1', unit: 'ms', min_val: '-1', max_val: '2147483647' });
const target = row({ name: 'checkpoint_completion_target', setting: '0.9', vartype: 'real', context: 'sighup', min_val: '0', max_val: '1' });
const costDelay = row({ name: 'autovacuum_vacuum_cost_delay', setting: '2', unit: 'ms', vartype: 'real', context: 'sighup', min_val: '-1', max_val: '100' });
const logStatement = row({ name: 'log_statement', setting: 'none', vartype: 'enum', context: 'superuser', enumvals: ['none', 'ddl', 'mod', 'all'] });
const jit = row({ name: 'jit', setting: 'on', vartype: 'bool' });

describe('values as SHOW prints them', () => {
  it('memory: the largest unit that divides evenly, in the setting’s own base unit', () => {
    expect(showSetting(workMem)).toBe('4MB');
    expect(showNumber(workMem, 65536)).toBe('64MB');
    expect(showNumber(workMem, 64)).toBe('64kB');
    expect(showNumber(workMem, 1048576)).toBe('1GB');
    expect(showNumber(workMem, 2147483647)).toBe('2147483647kB');
    expect(showSetting(sharedBuffers)).toBe('128MB');
    expect(showNumber(sharedBuffers, 16)).toBe('128kB');
    expect(showNumber(sharedBuffers, 4096)).toBe('32MB');
  });
  it('time, and 0 and -1 bare', () => {
    expect(showSetting(stmtTimeout)).toBe('0');
    expect(showNumber(stmtTimeout, 30000)).toBe('30s');
    expect(showNumber(stmtTimeout, 90000)).toBe('90s');
    expect(showNumber(stmtTimeout, 3600000)).toBe('1h');
    expect(showNumber(stmtTimeout, 1500)).toBe('1500ms');
    expect(showSetting(logMin)).toBe('-1');
  });
  it('reals as %g, with a unit when one divides near enough', () => {
    expect(showSetting(target)).toBe('0.9');
    expect(showSetting(costDelay)).toBe('2ms');
    expect(showNumber(costDelay, 0.5)).toBe('500us');
    expect(formatG(1234567)).toBe('1.23457e+06');
    expect(formatG(0.0001)).toBe('0.0001');
    expect(formatG(0.00001)).toBe('1e-05');
  });
});

describe('values checked as the server reads them', () => {
  it('work_mem: units, bare numbers in kB, fractions rounded to the next smaller unit', () => {
    expect(checkValue(workMem, '64MB')).toEqual({ ok: true, shown: '64MB' });
    expect(checkValue(workMem, '64 MB')).toEqual({ ok: true, shown: '64MB' });
    expect(checkValue(workMem, '65536')).toEqual({ ok: true, shown: '64MB' });
    expect(checkValue(workMem, '1.5GB')).toEqual({ ok: true, shown: '1536MB' });
    expect(checkValue(workMem, '0x100')).toEqual({ ok: true, shown: '256kB' });
  });
  it('refuses a bad value in one line naming the setting and what it allows', () => {
    const banana = checkValue(workMem, 'banana');
    expect(banana).toEqual({ ok: false, why: 'work_mem: "banana" is not a valid value; give a whole number of kB, or with a unit (TB, GB, MB, kB, B), from 64kB to 2147483647kB' });
    expect(checkValue(workMem, '1')).toEqual({ ok: false, why: 'work_mem: "1" is 1kB, below the minimum 64kB; allowed from 64kB to 2147483647kB' });
    expect(checkValue(workMem, '64mb')).toMatchObject({ ok: false, why: expect.stringContaining('units are case-sensitive') });
    expect(checkValue(workMem, '3TB')).toMatchObject({ ok: false, why: expect.stringContaining('out of the integer range') });
    expect(checkValue(sharedBuffers, '9TB')).toMatchObject({ ok: false, why: expect.stringContaining('above the maximum 8589934584kB') });
    expect(checkValue(sharedBuffers, '64kB')).toMatchObject({ ok: false, why: expect.stringContaining('below the minimum 128kB') });
    expect(checkValue(sharedBuffers, '256MB')).toEqual({ ok: true, shown: '256MB' });
    expect(checkValue(stmtTimeout, '5min')).toEqual({ ok: true, shown: '5min' });
    expect(checkValue(stmtTimeout, '5MB')).toMatchObject({ ok: false });
    expect(checkValue(target, '1.5')).toMatchObject({ ok: false, why: expect.stringContaining('above the maximum 1') });
    expect(checkValue(target, '0.5')).toEqual({ ok: true, shown: '0.5' });
  });
  it('bool and enum', () => {
    expect(parseBool('t')).toBe(true);
    expect(parseBool('OFF')).toBe(false);
    expect(parseBool('o')).toBeNull();
    expect(checkValue(jit, 'yes')).toEqual({ ok: true, shown: 'on' });
    expect(checkValue(jit, 'maybe')).toEqual({ ok: false, why: 'jit is on or off (true/false, yes/no, 1/0), not "maybe"' });
    expect(checkValue(logStatement, 'ALL')).toEqual({ ok: true, shown: 'all' });
    expect(checkValue(logStatement, 'some')).toEqual({ ok: false, why: 'log_statement is one of none, ddl, mod, all, not "some"' });
  });
  it('when a value takes effect, by context', () => {
    expect(contextEffect('internal')).toHaveProperty('refuse');
    expect(contextEffect('postmaster')).toEqual({ when: 'restart' });
    expect(contextEffect('backend')).toEqual({ when: 'new sessions' });
    expect(contextEffect('sighup')).toEqual({ when: 'reload' });
  });
});
