/**
 * A TLS and SASL front for the test broker. librdkafka's mock cluster speaks only plaintext without
 * authentication, so this gateway stands in front of one mock broker the way a managed cluster's listener
 * does: it terminates TLS (optionally requiring a client certificate signed by the test CA) and performs
 * the Kafka SASL exchange (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, RFC 5802/7677) itself, then relays bytes.
 * The mock is told to advertise the gateway's address, so clients that follow metadata stay on it.
 *
 * Per connection:  [TLS handshake] → ApiVersions (relayed; SaslHandshake v0–1 and SaslAuthenticate v0–1
 * added to the broker's answer) → SaslHandshake → SaslAuthenticate (1 round for PLAIN, 2 for SCRAM) →
 * relay. Any other request before authentication closes the connection, as a broker's SASL listener does.
 * Without SASL configured, the gateway relays from the first byte.
 *
 * What this does not show: a real broker's listener code. It shows that the integrator's client speaks
 * TLS and SASL correctly with the settings README "Configuration" documents.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TestPki } from './tls.ts';

export type GatewayMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface KafkaGatewayOptions {
  /** `host:port` of the mock broker behind. */
  upstream: string;
  tls?: { pki: TestPki; requireClientCert: boolean };
  sasl?: { mechanisms: GatewayMechanism[]; users: Record<string, string> };
}

export interface KafkaGateway {
  readonly host: string;
  readonly port: number;
  /** Successful and failed authentications, for assertions. */
  readonly authentications: { user: string; mechanism: string; ok: boolean }[];
  close(): Promise<void>;
}

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
const UNSUPPORTED_SASL_MECHANISM = 33;
const SASL_AUTHENTICATION_FAILED = 58;
const ITERATIONS = 4096;

/** Reads length-prefixed Kafka frames from a socket. */
class Frames {
  private buf = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
  }
  private readonly onData = (chunk: Buffer): void => {
    this.buf = Buffer.concat([this.buf, chunk]);
    this.deliver();
  };
  private deliver(): void {
    if (this.waiting === null || this.buf.length < 4) return;
    const size = this.buf.readInt32BE(0);
    if (this.buf.length < 4 + size) return;
    const frame = this.buf.subarray(0, 4 + size);
    this.buf = this.buf.subarray(4 + size);
    const w = this.waiting;
    this.waiting = null;
    w(frame);
  }
  next(): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }
  /** Stop framing; whatever was read ahead goes back to the caller. */
  release(): Buffer {
    this.socket.off('data', this.onData);
    return this.buf;
  }
}

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const str = (s: string | null): Buffer =>
  s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
const bytes = (b: Buffer): Buffer => Buffer.concat([int32(b.length), b]);

/** Request header v1 (non-flexible): api key, version, correlation id, client id; then the body. */
function parseRequest(f: Buffer): {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  body: Buffer;
} {
  const apiKey = f.readInt16BE(4);
  const apiVersion = f.readInt16BE(6);
  const correlationId = f.readInt32BE(8);
  const clientIdLen = f.readInt16BE(12);
  return { apiKey, apiVersion, correlationId, body: f.subarray(14 + Math.max(0, clientIdLen)) };
}

/** The broker's ApiVersions answer (v0–2, non-flexible) with the SASL APIs added. */
function withSaslApis(response: Buffer, apiVersion: number): Buffer {
  if (apiVersion > 2) return response; // the mock answers v3 with an error and v0 layout: leave it
  const errorCode = response.readInt16BE(8);
  if (errorCode !== 0) return response;
  const count = response.readInt32BE(10);
  const endOfArray = 14 + count * 6;
  const added = Buffer.concat([
    int16(SASL_HANDSHAKE),
    int16(0),
    int16(1),
    int16(SASL_AUTHENTICATE),
    int16(0),
    int16(1),
  ]);
  const body = Buffer.concat([
    response.subarray(4, 10),
    int32(count + 2),
    response.subarray(14, endOfArray),
    added,
    response.subarray(endOfArray),
  ]);
  return frame(body);
}

/** One round trip to the broker on a dedicated, not yet relayed connection. */
async function relayOne(upstream: Socket, upstreamFrames: Frames, request: Buffer): Promise<Buffer> {
  upstream.write(request);
  return upstreamFrames.next();
}

interface ScramState {
  user: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  hash: 'sha256' | 'sha512';
}

function scramKeys(password: string, salt: Buffer, hash: 'sha256' | 'sha512') {
  const len = hash === 'sha256' ? 32 : 64;
  const salted = pbkdf2Sync(password, salt, ITERATIONS, len, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  return { storedKey, serverKey };
}

function attrs(message: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of message.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) m.set(part.slice(0, i), part.slice(i + 1));
  }
  return m;
}

export async function startKafkaGateway(opts: KafkaGatewayOptions): Promise<KafkaGateway> {
  const [upHost, upPort] = opts.upstream.split(':');
  const authentications: KafkaGateway['authentications'] = [];
  const salts = new Map(Object.keys(opts.sasl?.users ?? {}).map((u) => [u, randomBytes(16)]));
  const sockets = new Set<Socket>();

  const authenticate = async (
    client: Socket,
    frames: Frames,
    upstream: Socket,
    upstreamFrames: Frames,
  ): Promise<boolean> => {
    const sasl = opts.sasl!;
    let mechanism: GatewayMechanism | null = null;
    let scram: ScramState | null = null;
    for (;;) {
      const f = await frames.next();
      const req = parseRequest(f);
      const head = int32(req.correlationId);
      if (req.apiKey === API_VERSIONS) {
        client.write(withSaslApis(await relayOne(upstream, upstreamFrames, f), req.apiVersion));
      } else if (req.apiKey === SASL_HANDSHAKE) {
        const len = req.body.readInt16BE(0);
        const wanted = req.body.subarray(2, 2 + len).toString();
        const ok = (sasl.mechanisms as string[]).includes(wanted);
        mechanism = ok ? (wanted as GatewayMechanism) : null;
        const list = Buffer.concat([int32(sasl.mechanisms.length), ...sasl.mechanisms.map((m) => str(m))]);
        client.write(frame(Buffer.concat([head, int16(ok ? 0 : UNSUPPORTED_SASL_MECHANISM), list])));
        if (!ok) return false;
      } else if (req.apiKey === SASL_AUTHENTICATE && mechanism !== null) {
        const authBytes = req.body.subarray(4, 4 + req.body.readInt32BE(0));
        const answer = (error: string | null, data: Buffer): void => {
          const tail = req.apiVersion >= 1 ? Buffer.alloc(8) : Buffer.alloc(0); // session lifetime: none
          const code = error === null ? 0 : SASL_AUTHENTICATION_FAILED;
          client.write(frame(Buffer.concat([head, int16(code), str(error), bytes(data), tail])));
        };
        if (mechanism === 'PLAIN') {
          const [, user = '', password = ''] = authBytes.toString().split('\u0000');
          const ok = sasl.users[user] !== undefined && sasl.users[user] === password;
          authentications.push({ user, mechanism, ok });
          answer(ok ? null : 'Authentication failed: invalid credentials', Buffer.alloc(0));
          return ok;
        }
        const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
        if (scram === null) {
          // client-first-message: "n,,n=user,r=nonce"
          const msg = authBytes.toString();
          const bare = msg.slice(msg.indexOf(',', msg.indexOf(',') + 1) + 1);
          const a = attrs(bare);
          const user = a.get('n') ?? '';
          const nonce = `${a.get('r') ?? ''}${randomBytes(18).toString('base64')}`;
          const salt = salts.get(user) ?? randomBytes(16);
          const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
          scram = { user, clientFirstBare: bare, serverFirst, nonce, hash };
          answer(null, Buffer.from(serverFirst));
        } else {
          // client-final-message: "c=biws,r=nonce,p=proof"
          const msg = authBytes.toString();
          const a = attrs(msg);
          const withoutProof = msg.slice(0, msg.lastIndexOf(',p='));
          const password = sasl.users[scram.user];
          let ok = false;
          let serverFinal = '';
          if (password !== undefined && a.get('r') === scram.nonce) {
            const { storedKey, serverKey } = scramKeys(password, salts.get(scram.user)!, hash);
            const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
            const signature = createHmac(hash, storedKey).update(authMessage).digest();
            const proof = Buffer.from(a.get('p') ?? '', 'base64');
            if (proof.length === signature.length) {
              const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
              const check = createHash(hash).update(clientKey).digest();
              ok = timingSafeEqual(check, storedKey);
            }
            serverFinal = `v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}`;
          }
          authentications.push({ user: scram.user, mechanism, ok });
          answer(
            ok ? null : 'Authentication failed during authentication due to invalid credentials',
            Buffer.from(ok ? serverFinal : ''),
          );
          return ok;
        }
      } else {
        return false; // anything else before authentication: close, as a SASL listener does
      }
    }
  };

  const onConnection = (client: Socket): void => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const upstream = connect({ host: upHost, port: Number(upPort) });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    if (!opts.sasl) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    const frames = new Frames(client);
    const upstreamFrames = new Frames(upstream);
    authenticate(client, frames, upstream, upstreamFrames).then(
      (ok) => {
        if (!ok) {
          client.end();
          return;
        }
        // Authenticated: from here on, bytes both ways unchanged (read-ahead first).
        const fromClient = frames.release();
        const fromBroker = upstreamFrames.release();
        if (fromClient.length > 0) upstream.write(fromClient);
        if (fromBroker.length > 0) client.write(fromBroker);
        client.pipe(upstream);
        upstream.pipe(client);
      },
      () => client.destroy(),
    );
  };

  const server: Server = opts.tls
    ? createTlsServer(
        {
          cert: readFileSync(opts.tls.pki.serverCertFile),
          key: readFileSync(opts.tls.pki.serverKeyFile),
          ca: readFileSync(opts.tls.pki.caFile),
          requestCert: opts.tls.requireClientCert,
          rejectUnauthorized: opts.tls.requireClientCert,
        },
        onConnection,
      )
    : createServer(onConnection);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    authentications,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
