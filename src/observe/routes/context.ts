/**
 * What the HTTP surface's parts share (README "HTTP surface"): what they need of the lanes and the rest
 * of the integrator, and the guards `http.ts` gives each route module.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RetryStore } from '../../store/port.ts';
import type { DeliveryLog } from '../../log/delivery-log.ts';
import type { LiveStats } from '../../console/live-stats.ts';
import type { Metrics } from '../metrics.ts';
import type { Access, Role } from '../auth.ts';
import type { EventStream } from '../stream.ts';

/** What the HTTP surface needs of a customer's lane (the lanes live above this layer). */
export interface CustomerLane {
  readonly id: string;
  snapshot(): LaneView;
  /** For every integrator of the group (kept in the store); rejects when the store does not take it. */
  setPaused(paused: boolean, reason?: string | null): Promise<void>;
  replay(ids?: string[]): Promise<number>;
  /** Delete dead letters for good; returns how many there were. */
  discard(ids: string[]): Promise<number>;
}

/** The part of a lane's snapshot the surface shows (the lane may report more). */
export interface LaneView {
  id: string;
  url: string;
  paused: boolean;
  limits: { concurrency: number; ratePerSecond: number | null; timeoutMs: number; [k: string]: unknown };
  inflight: number;
  pending: number;
  parked: number;
  breaker: string;
  /** This process's share of the customer's limits (README "Running several integrators"). */
  shared: {
    lease: string;
    permits: number;
    holders: number;
    paused: { reason: string | null; at: number } | null;
  };
  recent: { count: number; p50Ms: number | null; p99Ms: number | null };
}

export interface HttpDeps {
  lanes: CustomerLane[];
  store: RetryStore;
  metrics: Metrics;
  access: Access;
  /** Null when DELIVERY_LOG=off. */
  log: DeliveryLog | null;
  stream: EventStream;
  stats: LiveStats;
  /** Resolves when the broker and the store answer; rejects with the reason otherwise. */
  checkReady: () => Promise<{ broker: string; store: string }>;
}

export type Guard = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface RouteContext {
  deps: HttpDeps;
  /** preHandler: any valid token. */
  read: Guard;
  /** preHandler: the admin token. */
  admin: Guard;
  /** The role a request was let in with (after a guard). */
  roleOf(req: FastifyRequest): Role;
}
