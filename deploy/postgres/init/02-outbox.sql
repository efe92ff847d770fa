-- The outbox (README "Outbox source"): the tracking API (load/tracking-api) writes one row here in the same
-- transaction as each movement it records in package_status, so the event exists if and only if the change
-- does. Debezium's outbox EventRouter (connectors/outbox.json) turns each insert into a Kafka record:
--
--   id             → header `id`: the event id, which becomes the webhook id
--   aggregatetype  → the topic: outbox.event.<aggregatetype> (here outbox.event.package)
--   aggregateid    → the record key: one package's events stay in one partition, in commit order
--   type           → header `eventType` (table.fields.additional.placement=type:header:eventType)
--   payload        → the record value: the webhook's `data`, routed by its top-level fields
--
-- The column names are the EventRouter's defaults. Rows are only ever inserted; they may be deleted once
-- published (the connector skips deletes), e.g. DELETE FROM outbox WHERE created_at < now() - interval '7 days'.

CREATE TABLE IF NOT EXISTS outbox (
  id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  aggregatetype  TEXT NOT NULL,
  aggregateid    TEXT NOT NULL,
  type           TEXT NOT NULL,
  payload        JSONB NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
