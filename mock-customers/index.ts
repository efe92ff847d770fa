/** The mock customer APIs' public surface, for tests, the demo and benchmarks. */
export { startMockCustomers, UnknownCustomerError } from './server.ts';
export type { MockCustomerInfo, MockCustomers, StartMockCustomersOptions } from './server.ts';
export { DEFAULT_MOCK_CUSTOMERS, webhookPath } from './customers.ts';
export type { MockCustomerSpec } from './customers.ts';
export { BASE_BEHAVIOR, BehaviorValidationError } from './behavior.ts';
export type { Behavior, BehaviorPatch, FieldErrors, LatencyDistribution } from './behavior.ts';
export type {
  DeliveryRecord,
  InjectedKind,
  InvalidSignatureReason,
  LedgerSnapshot,
  LedgerStats,
} from './ledger.ts';
export type { LatencySummary } from './percentiles.ts';
export { loadConfig, parseCustomersFile } from './config.ts';
