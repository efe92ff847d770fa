/** The rows of CONTRACT §4's `package_status` table, as the load tools write and read them. */

/** The statuses a generated journey goes through, in order ('In Transit' repeats once per hop). */
export const STATUS = {
  posted: 'Package Posted',
  inTransit: 'In Transit',
  outForDelivery: 'Out for Delivery',
  delivered: 'Package Delivered',
} as const;

/** The columns an INSERT provides; `id` and `created_at` come from the table's defaults. */
export interface PackageStatusInsert {
  package_id: string;
  customer_id: string;
  status: string;
  actual_address: string;
  next_address: string | null;
}

/** A stored row. `id` is BIGSERIAL (node-postgres reads int8 as a string); `created_at` TIMESTAMPTZ. */
export interface PackageStatusRow extends PackageStatusInsert {
  id: number | bigint | string;
  created_at: Date | string;
}

/** A row as JSON carries it (webhook `data`, tracking API answers): `id` a number, `created_at` ISO text. */
export interface PackageStatusJson extends PackageStatusInsert {
  id: number;
  created_at: string;
}

export const PACKAGE_STATUS_COLUMNS = [
  'id',
  'package_id',
  'customer_id',
  'status',
  'actual_address',
  'next_address',
  'created_at',
] as const;
