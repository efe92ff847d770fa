/**
 * The web console (README "For operators"): plain HTML, CSS and JavaScript modules from
 * src/console/public, served as they are (no build step). Every page is the same shell
 * (`/console`, `/console/customers/:id`, `/console/packages/:packageId`, …); the browser script routes.
 * The files hold no data: the data comes from the token-protected API, with the token the user signs in
 * with. Security headers: a strict CSP (same-origin scripts, styles and connections only, nothing
 * inline), no framing, no referrer, no sniffing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Where the files are: beside this module (source), or in the source tree next to a compiled build. */
export function publicDir(): string | null {
  const here = fileURLToPath(new URL('./public/', import.meta.url));
  if (existsSync(here)) return here;
  const fromBuild = fileURLToPath(new URL('../../../src/console/public/', import.meta.url));
  return existsSync(fromBuild) ? fromBuild : null;
}

function load(dir: string): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  const walk = (sub: string): void => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else if (TYPES[extname(name)])
        files.set(rel, { type: TYPES[extname(name)]!, body: readFileSync(join(dir, rel)) });
    }
  };
  walk('');
  return files;
}

export function registerConsole(app: FastifyInstance): void {
  const dir = publicDir();
  const files = dir ? load(dir) : new Map<string, { type: string; body: Buffer }>();
  const send = (reply: FastifyReply, file: string): FastifyReply => {
    const f = files.get(file);
    void reply.headers(CONSOLE_HEADERS).header('cache-control', 'no-cache');
    if (!f) {
      return reply
        .code(file === 'index.html' ? 503 : 404)
        .type('text/plain; charset=utf-8')
        .send(
          file === 'index.html'
            ? 'the console files are missing from this installation (src/console/public)'
            : 'not found',
        );
    }
    return reply.type(f.type).send(f.body);
  };
  app.get('/console/assets/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    if (rel.includes('..') || rel === 'index.html') return send(reply, '\0missing');
    return send(reply, rel);
  });
  app.get('/console', async (_req, reply) => send(reply, 'index.html'));
  app.get('/console/*', async (_req, reply) => send(reply, 'index.html'));
  app.get('/', async (_req, reply) => reply.redirect('/console'));
}
