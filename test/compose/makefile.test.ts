/**
 * Makefile: the seed pipeline's targets, each one Compose command (read with `make -n`, nothing is run),
 * naming services, files and topics that docker-compose.yml really has.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { argv, composeConfig, REPO_ROOT } from './compose.ts';
import type { ComposeFile } from './compose.ts';

const execFileAsync = promisify(execFile);
const COMPOSE = 'docker-compose -f docker-compose.yml';

/** The commands `make <target>` would run, one per line. */
async function dryRun(target: string, vars: string[] = []): Promise<string[]> {
  const { stdout } = await execFileAsync('make', ['-n', target, `COMPOSE=${COMPOSE}`, ...vars], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH },
  });
  return stdout
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean);
}

let compose: ComposeFile;
beforeAll(async () => {
  compose = await composeConfig();
});

describe('Makefile', () => {
  it.each([
    ['up', 'up -d --build'],
    ['up-logs', 'up --build'],
    ['down', 'down'],
    ['create-connector', 'run --rm connector-init'],
    ['generate', 'run --rm generator node dist/load/generator/main.js -Q 10'],
  ])('make %s → one compose command: %s', async (target, args) => {
    expect(await dryRun(target)).toEqual([`${COMPOSE} ${args}`]);
  });

  it('make generate Q=N passes the quantity on; make down ARGS=-v forgets the volumes', async () => {
    expect(await dryRun('generate', ['Q=250'])).toEqual([
      `${COMPOSE} run --rm generator node dist/load/generator/main.js -Q 250`,
    ]);
    expect(await dryRun('down', ['ARGS=-v'])).toEqual([`${COMPOSE} down -v`]);
  });

  it('make generate runs the generator service with the entry point its own command uses', () => {
    const command = argv(compose.services.generator?.command);
    expect(command.slice(0, 2)).toEqual(['node', 'dist/load/generator/main.js']);
  });

  it('make create-connector runs the one-shot service that registers both connectors', () => {
    const entrypoint = argv(compose.services['connector-init']?.entrypoint);
    expect(entrypoint).toEqual(
      expect.arrayContaining(['/connectors/package-status.json', '/connectors/outbox.json']),
    );
    expect(compose.services['connector-init']?.restart).toBe('no');
  });

  it('make start-monitoring follows exactly the topics the integrator consumes, keys and headers shown', async () => {
    const [line, ...rest] = await dryRun('start-monitoring');
    expect(rest).toEqual([]);
    expect(line).toMatch(
      new RegExp(
        `^${COMPOSE} exec kafka /opt/kafka/bin/kafka-console-consumer\\.sh --bootstrap-server kafka:29092 `,
      ),
    );
    expect(line).toContain('--property print.key=true');
    expect(line).toContain('--property print.headers=true');
    const include = /--include '([^']+)'/.exec(line ?? '')?.[1] ?? '';
    const env = compose.services.integrator?.environment ?? {};
    const consumed = [String(env.KAFKA_TOPICS), String(env.OUTBOX_TOPICS)].flatMap((t) => t.split(','));
    expect(include.split('|').sort()).toEqual(consumed.sort());
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:/); // whose CLI lives in /opt/kafka/bin
  });

  it('make alone lists the targets', async () => {
    const { stdout } = await execFileAsync('make', [], { cwd: REPO_ROOT, env: { PATH: process.env.PATH } });
    for (const target of ['up', 'up-logs', 'down', 'create-connector', 'generate Q=', 'start-monitoring'])
      expect(stdout).toContain(`make ${target}`);
  });
});
