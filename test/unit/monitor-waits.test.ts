// How the monitor judges a source it is still waiting for: its last answer stands while the wait
// is within the deadline; past it every check of that source is UNKNOWN with the reason; before
// its first answer one UNKNOWN check stands in its place, so the verdict never leaves it out.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema';
import { Collector } from '../../src/monitor';
import type { Snapshot, SourceWait } from '../../src/types';
import { healthyState } from '../support/fixtures';

const collectors: Collector[] = [];
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.close()));
});

function collector(): Collector {
  const config = ConfigSchema.parse({
    probeTimeoutMs: 3000,
    http: [{ name: 'api', url: 'https://api.example.internal/health' }],
  });
  const c = new Collector({
    config,
    target: {
      name: 'prod',
      source: 'flag',
      connection: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' },
      display: 'postgres://postgres@127.0.0.1:1/postgres',
      database: 'postgres',
      secrets: [],
    },
  });
  collectors.push(c);
  return c;
}

const NOW = Date.UTC(2025, 0, 15, 10, 30, 0);
const PG_GROUPS = ['postgres', 'sessions', 'tables'];

/** A snapshot whose every source answered and is healthy (host, PostgreSQL, http api). */
function healthySnapshot(): Snapshot {
  const s = healthyState().snapshot!;
  return { ...s, at: NOW, tls: [], backup: undefined, http: [{ ...s.http[0], name: 'api' }] };
}

function pgWait(over: Partial<SourceWait>): SourceWait {
  return { id: 'postgres', kind: 'postgres', label: 'PostgreSQL', since: NOW - 5000, deadline: NOW - 1000, overdue: true, lastAnswerAt: NOW - 9000, ...over };
}

describe('Collector.evaluate with the sources still waited for', () => {
  it('within the deadline the last answer is judged as it was; past it every PostgreSQL check is UNKNOWN with the reason, the others stand', () => {
    const c = collector();
    const snap = healthySnapshot();
    const before = c.evaluate(snap);
    expect(before.checks.filter((x) => PG_GROUPS.includes(x.group)).every((x) => x.status === 'OK')).toBe(true);
    expect(c.evaluate(snap, [pgWait({ overdue: false, since: NOW - 1500 })], NOW)).toEqual(before);

    const r = c.evaluate(snap, [pgWait({})], NOW);
    const pg = r.checks.filter((x) => PG_GROUPS.includes(x.group));
    expect(pg.map((x) => x.id)).toEqual(before.checks.filter((x) => PG_GROUPS.includes(x.group)).map((x) => x.id));
    for (const x of pg) {
      expect(x, x.id).toMatchObject({
        status: 'UNKNOWN',
        summary: 'no answer from PostgreSQL for 5s (deadline 4s); last answer 9s ago',
        value: null,
        thresholds: null,
      });
    }
    const others = r.checks.filter((x) => !PG_GROUPS.includes(x.group));
    expect(others).toEqual(before.checks.filter((x) => !PG_GROUPS.includes(x.group)));
    expect(r.status).toBe(before.status === 'OK' ? 'UNKNOWN' : before.status);
    expect(r.score).toBe(Math.round((100 * others.filter((x) => x.status === 'OK').length) / r.checks.length));
  });

  it('before its first answer: one UNKNOWN check in its place, never a verdict without it', () => {
    const c = collector();
    const snap: Snapshot = { ...healthySnapshot(), postgres: undefined, http: [] };
    const r = c.evaluate(
      snap,
      [
        pgWait({ overdue: false, since: NOW - 1200, lastAnswerAt: null }),
        { id: 'http:api', kind: 'http', label: 'http endpoint api', since: NOW - 4500, deadline: NOW - 500, overdue: true, lastAnswerAt: null },
      ],
      NOW,
    );
    expect(r.checks.find((x) => x.id === 'pg.up')).toMatchObject({ status: 'UNKNOWN', summary: 'waiting for the first answer from PostgreSQL (1s)' });
    expect(r.checks.find((x) => x.id === 'http:api')).toMatchObject({ status: 'UNKNOWN', summary: 'no answer from http endpoint api after 5s (deadline 4s)' });
    expect(r.status).not.toBe('OK');
  });
});
