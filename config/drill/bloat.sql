-- bloat: an event log whose rows were mostly deleted, with autovacuum off for it, so the dead
-- tuples stay; and an index on it that no query has ever used.
CREATE TABLE events (
  id      bigint PRIMARY KEY,
  kind    text NOT NULL,
  payload text NOT NULL,
  at      timestamptz NOT NULL
) WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);
INSERT INTO events
SELECT g, (ARRAY['view', 'click', 'cart', 'checkout'])[1 + g % 4], md5(g::text) || md5((g * 7)::text), now() - g * interval '1 second'
FROM generate_series(1, 100000) g;
CREATE INDEX events_kind_payload_idx ON events (kind, payload);
DELETE FROM events WHERE id % 10 <> 0;
