// Plans wrap at spaces, never inside a word or a pid (issue 13 §4: `(pid 212` / `92)` on a
// screen asking to confirm an irreversible step); only a token longer than the width is cut.
import { describe, expect, test } from 'vitest';
import { hardWrap } from '../../screens/tasks/model';

describe('hardWrap', () => {
  const pids = Array.from({ length: 14 }, (_, i) => 21290 + i);
  const sql = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${pids.join(', ')}) AND backend_start = ANY ($1)`;

  test('a long pid list: no pid split, each line within the width, the text whole', () => {
    for (const width of [20, 37, 71]) {
      const lines = hardWrap(sql, width);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
      expect(lines.join('')).toBe(sql);
      // a line ends at a space or is a cut token: a pid is never split
      for (const p of pids) expect(lines.map((l) => l.trimEnd()).join('\n')).toMatch(new RegExp(`(^|\\D)${p}(\\D|$)`, 'm'));
      for (const p of pids) expect(lines.some((l) => l.includes(String(p)))).toBe(true);
    }
  });

  test('a token longer than the width is the only thing cut', () => {
    expect(hardWrap('rm -f /var/backups/.shop-20261202-030000.dump.partial', 16)).toEqual(['rm -f ', '/var/backups/.sh', 'op-20261202-0300', '00.dump.partial']);
  });

  test('lines of the text stay lines; an empty one stays', () => {
    expect(hardWrap('a b\n\nc', 10)).toEqual(['a b', '', 'c']);
    expect(hardWrap('aaaa bbbb', 5)).toEqual(['aaaa ', 'bbbb']);
  });
});
