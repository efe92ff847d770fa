-- The source table of the pipeline (CONTRACT §4), created once when the Postgres volume is empty.
-- Also used verbatim by the load tests (test/load/*), so what the tests insert into is what compose runs.

CREATE TABLE IF NOT EXISTS package_status (
  id             BIGSERIAL PRIMARY KEY,
  package_id     TEXT NOT NULL,          -- tracking code, e.g. PKG-000123
  customer_id    TEXT NOT NULL,          -- whose API hears about this package
  status         TEXT NOT NULL,          -- 'Package Posted', 'In Transit', 'Out for Delivery', 'Package Delivered', ...
  actual_address TEXT NOT NULL,
  next_address   TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A package's history is read by package_id (tracking API), and Debezium keys every change by it.
CREATE INDEX IF NOT EXISTS package_status_package_id_idx ON package_status (package_id, id);

-- Deletes (and updates) then carry the whole old row, not just the primary key: the Kafka key
-- (message.key.columns = package_id) and the customer routing (customer_id) both need those columns.
ALTER TABLE package_status REPLICA IDENTITY FULL;

-- The connector's publication (with its heartbeat table) is created in 03-debezium.sql.
