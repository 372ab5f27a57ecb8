import { describe, expect, it } from 'vitest';
import { redact } from '../../src/util/redact';

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
  });
  it('ignores empty and tiny secrets rather than shredding the text', () => {
    expect(redact('a b c', ['', 'a', undefined, null])).toBe('a b c');
  });
});
