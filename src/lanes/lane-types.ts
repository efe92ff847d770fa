/** The lane's dependencies and what it reports about itself. */
import type { Clock } from '../clock.ts';
import type { CustomerConfig } from '../config/customers.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { RetryStore } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../observe/logger.ts';
import type { DeliveryObserver } from '../observe/delivery-events.ts';
import type { BreakerState } from './breaker.ts';
import type { LaneMode } from './lane-mode.ts';

export interface LaneDeps {
  customer: CustomerConfig;
  sender: Sender;
  store: RetryStore;
  metrics: Metrics;
  log: Logger;
  /** Told about every step of every delivery (the delivery log, the live stream). */
  observer?: DeliveryObserver;
  clock?: Clock;
  random?: () => number;
  /** Work the customer cannot take within this long is parked in the store. Default 2000 ms. */
  parkAfterMs?: number;
  /** How often the parked count is read from the store (the gauge, work parked by others). Default 1000 ms. */
  refreshMs?: number;
  /** Is the process's event loop saturated (`process-load.ts`)? Default: never. */
  processBusy?: () => boolean;
  /** Another process owns this shard now (a store write was refused): its work here was dropped. */
  onFenced?: (shard: string, ownerGeneration: number | null) => void;
}

export interface LaneSnapshot {
  id: string;
  url: string;
  mode: LaneMode;
  paused: boolean;
  limits: {
    concurrency: number;
    ratePerSecond: number | null;
    timeoutMs: number;
    maxInMemory: number;
    retry: CustomerConfig['retry'];
    breaker: CustomerConfig['breaker'];
  };
  inflight: number;
  pending: number;
  parked: number;
  breaker: BreakerState;
  recent: { count: number; p50Ms: number | null; p99Ms: number | null };
}
