/**
 * How the integrator's process is started everywhere (`npm start`, the image, compose, the bench, the
 * tests), apart from the launcher (integrator.ts) so that test/compose, which holds those files to these
 * lists, reads them without loading the application.
 */

/**
 * Its node flags: V8 sizes its young generation for the machine (tens of MB
 * per semi-space on a large host) although the integrator's live heap is ~30 MB; 8 MB semi-spaces cost ~140
 * MB less resident memory. V8 lets the old generation grow up to several times what was live after the
 * last full collection before it collects again; twice keeps ~40 MB less resident with a stuck customer
 * (README "Cost"). And V8 optimises a function with TurboFan after 3,000 calls: in the first seconds of a
 * backlog that is hundreds of functions (the Kafka client's, undici's, the decoder's, the log's) compiled
 * on V8's helper threads, ~25 µs of CPU per delivery over a 12,000-record catch-up, taken from the
 * customers' answers on a small host. With the threshold at 30,000 (V8's efficiency mode waits 15,000)
 * they run Maglev's code that much longer, and a process that keeps running ends with the same code.
 */
export const INTEGRATOR_NODE_FLAGS = [
  '--max-semi-space-size=8',
  '--heap-growing-percent=100',
  '--invocation-count-for-turbofan=30000',
];

/**
 * The environment it runs with everywhere, unless set otherwise: glibc's malloc gives every thread that
 * allocates its own arena (librdkafka's, the log's, V8's), and freed memory stays spread over them; two
 * arenas keep ~25 MB less resident for the same work (README "Cost").
 */
export const INTEGRATOR_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
};
