/**
 * docker-compose.yml as Compose itself reads it: validated and normalised by `docker-compose config`
 * (Debian's docker-compose 1.29; anchors merged, variables interpolated, paths made absolute), then turned
 * into JSON by the PyYAML that docker-compose 1.x runs on.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const INSTALL_HINT =
  "docker-compose (v1, the Python one) is needed to validate docker-compose.yml: 'apt-get install -y docker-compose'.";

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | null>;
  volumes?: (string | { type: string; source: string; target: string })[];
  ports?: ({ published: number | string; target: number } | string)[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string; interval?: string; retries?: number };
  profiles?: string[];
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Runs docker-compose in the repo with a clean, predictable environment. */
export async function dockerCompose(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  try {
    return await execFileAsync('docker-compose', ['-f', 'docker-compose.yml', ...args], {
      cwd: REPO_ROOT,
      env,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(INSTALL_HINT, { cause: error });
    throw new Error(`docker-compose ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

export async function composeConfig(): Promise<ComposeFile> {
  const { stdout } = await dockerCompose(['config']);
  return (await yamlToJson(stdout)) as ComposeFile;
}

/** A YAML document as the PyYAML that docker-compose 1.x runs on reads it (safe_load), turned into JSON. */
export async function yamlToJson(text: string): Promise<unknown> {
  const child = execFile(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { maxBuffer: 16 * 1024 * 1024, timeout: 30_000 },
  );
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`python3 (PyYAML) could not read the YAML: ${err}`)),
    );
  });
  child.stdin?.end(text);
  return JSON.parse(await output) as unknown;
}

export function argv(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);
}

export interface BindMount {
  source: string;
  target: string;
}

/** The service's bind mounts (named volumes left out). */
export function bindMounts(service: ComposeService): BindMount[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume !== 'string')
      return volume.type === 'bind' ? [{ source: volume.source, target: volume.target }] : [];
    const [source, target] = volume.split(':');
    return source?.startsWith('/') && target ? [{ source, target }] : [];
  });
}

export function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on;
  if (deps === undefined) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

export function publishedPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((p) =>
    typeof p === 'string' ? Number(p.split(':')[0]) : Number(p.published),
  );
}
