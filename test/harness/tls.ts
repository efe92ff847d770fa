/**
 * Throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1 and
 * localhost, and a client certificate, all signed by that CA; plus a second, unrelated CA (to show that a
 * server signed by someone else is refused). Files live in a temp dir removed by `remove()`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.ts';

const execFileAsync = promisify(execFile);

export interface TestPki {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed nothing here. */
  otherCaFile: string;
  remove(): Promise<void>;
}

export async function makeTestPki(): Promise<TestPki> {
  const openssl = requireBinary('openssl');
  const dir = await mkdtemp(join(tmpdir(), 'integrator-pki-'));
  const f = (name: string): string => join(dir, name);
  const run = (args: string[]): Promise<unknown> => execFileAsync(openssl, args, { cwd: dir });
  const ca = async (name: string): Promise<void> => {
    await run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.key`)]);
    await run(
      ['req', '-x509', '-new', '-key', f(`${name}.key`), '-sha256', '-days', '2', '-subj', `/CN=${name}`]
        .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'])
        .concat(['-out', f(`${name}.pem`)]),
    );
  };
  const leaf = async (name: string, ext: string): Promise<void> => {
    await writeFile(f(`${name}.ext`), ext);
    await run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.ec.key`)]);
    // PKCS#8 ("BEGIN PRIVATE KEY"), what every client library reads.
    await run(['pkcs8', '-topk8', '-nocrypt', '-in', f(`${name}.ec.key`), '-out', f(`${name}.key`)]);
    await run(['req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${name}`, '-out', f(`${name}.csr`)]);
    await run(
      ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key')].concat([
        '-CAcreateserial',
        '-days',
        '2',
        '-sha256',
        '-extfile',
        f(`${name}.ext`),
        '-out',
        f(`${name}.pem`),
      ]),
    );
  };
  try {
    await ca('ca');
    await ca('other-ca');
    await leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await leaf('client', 'extendedKeyUsage=clientAuth\n');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: f('ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    otherCaFile: f('other-ca.pem'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
