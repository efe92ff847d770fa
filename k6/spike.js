// @ts-check
// k6 run k6/spike.js — see k6/README.md for the environment it reads.
import { createRun } from './lib/run.js';
import { SCENARIOS } from './lib/shapes.js';

const run = createRun(SCENARIOS['spike']);

export const options = run.options;
export const setup = run.setup;
export const act = run.act;
export const teardown = run.teardown;
export default run.journey;
