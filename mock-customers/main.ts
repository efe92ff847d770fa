/**
 * `npm run mock-customers`: the mock customer APIs on PORT (default 4000). Configuration: config.ts and
 * README.md. Invalid configuration: exit code 2, every problem on stderr, nothing started.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from './config.ts';
import { startMockCustomers } from './server.ts';

const config = loadConfig(process.env, (path) => readFileSync(path, 'utf8'));
if (!config.ok) {
  console.error('mock-customers: invalid configuration');
  for (const problem of config.problems) console.error(`  - ${problem}`);
  process.exit(2);
}

const { port, host, logLevel, customers, source } = config.value;
const logger = pino({ level: logLevel, base: { service: 'mock-customers' } });

const mocks = await startMockCustomers({ port, host, customers, logger });
logger.info(
  {
    url: mocks.url,
    source,
    customers: mocks.customers.map((customer) => ({
      id: customer.id,
      url: customer.url,
      behavior: mocks.behavior(customer.id),
    })),
  },
  `mock customers listening on ${mocks.url} (${mocks.customers.length} from ${source})`,
);

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'mock customers stopping');
  mocks.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'mock customers failed to close');
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
