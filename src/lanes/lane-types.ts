/** The lane's dependencies, what it reports about itself, and waiting helpers. */
import type { Clock } from '../clock.ts';
import type { CustomerConfig } from '../config/customers.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { RetryStore } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../report/logger.ts';
import type { DeliveryObserver } from '../report/delivery-events.ts';
import type { BreakerMode as BreakerState } from '../store/limits.ts';
import type { LaneMode } from './lane-mode.ts';
import type { LaneLimits, LeaseMode, Paused } from './limits.ts';
import type { ModeMachine } from './lane-mode.ts';
import { safeUrl } from '../report/logger.ts';

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
  /** This process among the group's integrators (unique per start): it holds a share of the limits. */
  holder?: string;
  /** The lease on the shared limits (default `LEASE_MS`; at least the margin plus two renewals). */
  leaseMs?: number;
  /** Rate tokens of a limits sync answered later than this are given back (default `TOKEN_FRESH_MS`). */
  tokenFreshMs?: number;
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
  /** The customer's breaker, shared by the group's integrators. */
  breaker: BreakerState;
  /** This process's share of the customer's limits. */
  shared: { lease: LeaseMode; permits: number; holders: number; paused: Paused };
  recent: { count: number; p50Ms: number | null; p99Ms: number | null };
}

/** What a lane reports about itself, from its parts. */
export function snapshotOf(
  cfg: CustomerConfig,
  p: Pick<LaneSnapshot, 'inflight' | 'pending' | 'parked' | 'recent'> & {
    mode: ModeMachine;
    limits: LaneLimits;
  },
): LaneSnapshot {
  return {
    id: cfg.id,
    url: safeUrl(cfg.url),
    mode: p.mode.mode,
    paused: p.mode.operatorPaused,
    limits: {
      concurrency: cfg.concurrency,
      ratePerSecond: cfg.ratePerSecond,
      timeoutMs: cfg.timeoutMs,
      maxInMemory: cfg.maxInMemory,
      retry: cfg.retry,
      breaker: cfg.breaker,
    },
    inflight: p.inflight,
    pending: p.pending,
    parked: p.parked,
    breaker: p.limits.breaker,
    shared: {
      lease: p.limits.mode,
      permits: p.limits.held,
      holders: p.limits.holders,
      paused: p.limits.paused,
    },
    recent: p.recent,
  };
}

/** Callers waiting for something (room, idleness), woken together. */
export class Waiters {
  private list: (() => void)[] = [];
  get size(): number {
    return this.list.length;
  }
  wait(): Promise<void> {
    return new Promise((resolve) => this.list.push(resolve));
  }
  wake(): void {
    const list = this.list;
    this.list = [];
    for (const w of list) w();
  }
}
