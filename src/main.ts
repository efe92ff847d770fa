/**
 * `npm start`: the integrator, configured from the environment (README "Configuration"). Bad configuration: every
 * problem on stderr, exit code 2, nothing started. SIGTERM/SIGINT: graceful stop (see app.ts).
 */
import { loadConfig } from './config/config.ts';
import { UnsafeStoreError, createIntegrator } from './app.ts';
import { createLogger } from './report/logger.ts';

const result = loadConfig(process.env);
if (!result.ok) {
  process.stderr.write(
    `integrator: invalid configuration (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}):\n` +
      result.problems.map((p) => `  - ${p}\n`).join(''),
  );
  process.exit(2);
}

const log = createLogger(result.config.logLevel);
// A consumer that gave up leaves nothing to do here: stop cleanly and let the supervisor restart us.
const integrator = createIntegrator(result.config, { log, onFatal: () => shutdown('kafka-fatal', 1) });

let stopping = false;
const shutdown = (signal: string, code = 0) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutdown requested');
  // If the store or the broker cannot be reached, a graceful stop could wait forever. Exiting is safe:
  // whatever was not settled was not committed, and is read again by the next owner.
  setTimeout(() => {
    log.error('graceful stop did not finish in time; exiting without it (nothing unsettled was committed)');
    process.exit(1);
  }, result.config.shutdownDeadlineMs + 15_000).unref();
  integrator.stop().then(
    () => process.exit(code),
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

integrator.start().catch((err: unknown) => {
  if (err instanceof UnsafeStoreError) {
    // A store setting that can lose parked work is a configuration problem: exit 2, like bad config.
    process.stderr.write(`integrator: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  log.fatal({ err }, 'integrator failed to start');
  process.exit(1);
});
