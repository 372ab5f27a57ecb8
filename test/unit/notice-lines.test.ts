// A server message as its lines (issue 13 §4): VACUUM VERBOSE's multi-line INFO, a NOTICE with
// DETAIL and HINT. Every line is its own output line, none is dropped or joined.
import { describe, expect, test } from 'vitest';
import { noticeLines } from '../../src/tasks/step-exec';

describe('noticeLines', () => {
  test("VACUUM VERBOSE's report: one line each", () => {
    const message = [
      'finished vacuuming "shop.public.orders": index scans: 1',
      'pages: 0 removed, 541 remain, 541 scanned (100.00% of total)',
      'tuples: 50000 removed, 50000 remain, 0 are dead but not yet removable',
      'avg read rate: 0.000 MB/s, avg write rate: 0.000 MB/s',
    ].join('\n');
    expect(noticeLines({ severity: 'INFO', message })).toEqual([
      'INFO: finished vacuuming "shop.public.orders": index scans: 1',
      '  pages: 0 removed, 541 remain, 541 scanned (100.00% of total)',
      '  tuples: 50000 removed, 50000 remain, 0 are dead but not yet removable',
      '  avg read rate: 0.000 MB/s, avg write rate: 0.000 MB/s',
    ]);
  });

  test('DETAIL and HINT are lines of their own', () => {
    expect(noticeLines({ severity: 'NOTICE', message: 'relation "x" already exists, skipping', detail: 'first\nsecond', hint: 'do this' })).toEqual([
      'NOTICE: relation "x" already exists, skipping',
      'DETAIL: first',
      '  second',
      'HINT: do this',
    ]);
  });

  test('a one-line message stays one line; a trailing newline adds none', () => {
    expect(noticeLines({ severity: 'WARNING', message: 'careful\n' })).toEqual(['WARNING: careful']);
  });
});
