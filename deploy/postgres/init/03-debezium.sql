-- What the two Debezium connectors (connectors/) stream from: one publication each, created here, before
-- the connectors first start, and left alone by them (publication.autocreate.mode=disabled).
--
-- The heartbeat table. Postgres keeps every WAL segment a replication slot has not confirmed. A connector
-- confirms a position only when a change it receives moves it there; when its own tables are quiet while
-- the rest of the server writes, nothing moves and WAL piles up on disk. Each connector therefore runs
-- heartbeat.action.query every heartbeat.interval.ms: an upsert of its own row here. That table is in both
-- publications, so pgoutput streams the change to each slot and the connector can confirm the position.
-- (It is left out of table.include.list: the change moves the position without becoming a Kafka record.)
-- A filtered publication would not carry it otherwise, and `publication.autocreate.mode=filtered` would
-- reset the publication to table.include.list at every start, dropping it again.

CREATE TABLE IF NOT EXISTS debezium_heartbeat (
  connector  TEXT PRIMARY KEY,
  beat_at    TIMESTAMPTZ NOT NULL
);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'dbz_package_status') THEN
    CREATE PUBLICATION dbz_package_status FOR TABLE package_status, debezium_heartbeat;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'dbz_outbox') THEN
    CREATE PUBLICATION dbz_outbox FOR TABLE outbox, debezium_heartbeat;
  END IF;
END
$$;
