// Standalone traffic generator: `ip netns exec NS node traffic.js '<TrafficSpec JSON>'`.
// Sends loopback traffic only, bounded in count and time, and prints one JSON line
// ({ sent, received }) on stdout. Exit 0 when everything was sent, 1 otherwise (reason on stderr).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { payloadFor } from './payload.js';
import {
  TRAFFIC_MAX_COUNT,
  TRAFFIC_MAX_MS,
  type TrafficResult,
  type TrafficSpec,
} from './traffic-spec.js';

/** The script's own output line adds what the local peer received (informational: UDP may drop
 * on a full receive buffer after the packet already passed the netfilter hooks). */
type ScriptResult = TrafficResult & { received: number };

/** Number of UDP sends in flight before we wait for their callbacks (never overflow silently). */
const UDP_WINDOW = 64;

function fail(message: string): never {
  throw new Error(message);
}

function parseSpec(
  text: string | undefined,
): Required<Omit<TrafficSpec, 'port' | 'ratePps' | 'srcPort'>> &
  Pick<TrafficSpec, 'port' | 'ratePps' | 'srcPort'> {
  if (text === undefined) fail('usage: traffic.js <json spec>');
  const s = JSON.parse(text) as Partial<TrafficSpec>;
  if (
    s.proto !== 'udp' &&
    s.proto !== 'tcp' &&
    s.proto !== 'icmp' &&
    s.proto !== 'flows' &&
    s.proto !== 'http' &&
    s.proto !== 'bulk'
  )
    fail(`bad proto ${String(s.proto)}`);
  const family = s.family ?? 4;
  if (family !== 4 && family !== 6) fail(`bad family ${String(family)}`);
  const count = s.count;
  if (!Number.isInteger(count) || count === undefined || count < 0 || count > TRAFFIC_MAX_COUNT) {
    fail(`count must be an integer 0..${TRAFFIC_MAX_COUNT}`);
  }
  const tcpLike =
    s.proto === 'tcp' || s.proto === 'flows' || s.proto === 'http' || s.proto === 'bulk';
  const maxSize = s.proto === 'udp' ? 65507 : tcpLike ? 65000 : 65507;
  const minSize = s.proto === 'http' ? HTTP_MIN_SIZE : tcpLike ? 1 : 0;
  const size = s.size;
  if (!Number.isInteger(size) || size === undefined || size < minSize || size > maxSize) {
    fail(`size must be an integer ${minSize}..${maxSize}`);
  }
  if (s.port !== undefined && (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535))
    fail('bad port');
  if (s.ratePps !== undefined && !(s.ratePps > 0)) fail('ratePps must be > 0');
  const sources = s.sources ?? 1;
  if (!Number.isInteger(sources) || sources < 1 || sources > 10_000) fail('bad sources');
  // Every client port the run binds must be a port.
  const clients =
    s.proto === 'flows' || s.proto === 'http' ? count : s.proto === 'udp' ? sources : 1;
  if (
    s.srcPort !== undefined &&
    (!Number.isInteger(s.srcPort) || s.srcPort < 1 || s.srcPort + clients - 1 > 65535)
  )
    fail('bad srcPort');
  return {
    proto: s.proto,
    family,
    count,
    size,
    seed: s.seed ?? 1,
    port: s.port,
    ratePps: s.ratePps,
    sources,
    srcPort: s.srcPort,
  };
}

const started = Date.now();
const deadline = started + TRAFFIC_MAX_MS;

/** Waits until packet `i` is due under `ratePps`; enforces the global time cap. */
async function pace(i: number, ratePps: number | undefined): Promise<void> {
  if (Date.now() > deadline) fail(`time cap of ${TRAFFIC_MAX_MS} ms reached after ${i} packets`);
  if (ratePps === undefined) return;
  const due = started + (i * 1000) / ratePps;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}

async function udp(spec: ReturnType<typeof parseSpec>): Promise<ScriptResult> {
  const type = spec.family === 6 ? 'udp6' : 'udp4';
  const addr = spec.family === 6 ? '::1' : '127.0.0.1';
  const receiver = dgram.createSocket({ type, recvBufferSize: 8 * 1024 * 1024 });
  let received = 0;
  let onMessage: (() => void) | undefined;
  receiver.on('message', () => {
    received += 1;
    onMessage?.();
  });
  await new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.bind(spec.port ?? 0, addr, () => resolve());
  });
  const port = receiver.address().port;
  const senders: dgram.Socket[] = [];
  for (let k = 0; k < spec.sources; k++) {
    const sock = dgram.createSocket({ type });
    senders.push(sock);
    if (spec.srcPort !== undefined) {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(spec.srcPort! + k, addr, () => resolve());
      });
    }
  }
  let sent = 0;
  try {
    let inflight: Promise<void>[] = [];
    for (let i = 0; i < spec.count; i++) {
      await pace(i, spec.ratePps);
      const buf = payloadFor(spec.seed, i, spec.size);
      inflight.push(
        new Promise<void>((resolve, reject) => {
          senders[i % senders.length]!.send(buf, port, addr, (err) => {
            if (err) reject(err);
            else {
              sent += 1;
              resolve();
            }
          });
        }),
      );
      if (inflight.length >= UDP_WINDOW) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
    await Promise.all(inflight);
    // Loopback delivery happens inside sendmsg(); the events may still be queued. Wait for them,
    // but only while they keep coming (a full receive buffer drops silently).
    while (received < sent) {
      const idle = new AbortController();
      const got = await Promise.race([
        new Promise<boolean>((resolve) => (onMessage = () => resolve(true))),
        sleep(500, false, { signal: idle.signal }).catch(() => false),
      ]);
      idle.abort();
      if (!got) break;
    }
  } finally {
    for (const sock of senders) sock.close();
    receiver.close();
  }
  return { sent, received };
}

/** Starts `server` on `addr`:`port` (0 or undefined: any free port) and resolves with its port. */
async function listen(server: net.Server, port: number | undefined, addr: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, addr, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') fail('server has no port');
  return address.port;
}

async function tcp(spec: ReturnType<typeof parseSpec>): Promise<ScriptResult> {
  const addr = spec.family === 6 ? '::1' : '127.0.0.1';
  let serverBytes = 0;
  let onData: (() => void) | undefined;
  let serverEnded: Promise<void> = Promise.resolve();
  const server = net.createServer((sock) => {
    serverEnded = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.on('data', (b: Buffer) => {
      serverBytes += b.length;
      onData?.();
    });
    sock.on('end', () => sock.end());
    sock.on('error', () => {});
  });
  const address = { port: await listen(server, spec.port, addr) };
  const client = net.connect({ host: addr, port: address.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', () => resolve());
  });
  let sent = 0;
  try {
    for (let i = 0; i < spec.count; i++) {
      await pace(i, spec.ratePps);
      const buf = payloadFor(spec.seed, i, spec.size);
      const target = serverBytes + buf.length;
      const arrived = new Promise<void>((resolve) => {
        onData = () => {
          if (serverBytes >= target) resolve();
        };
      });
      await new Promise<void>((resolve, reject) =>
        client.write(buf, (err) => (err ? reject(err) : resolve())),
      );
      sent += 1;
      // Waiting for the peer to read it keeps the next write out of this segment.
      if (serverBytes < target) await arrived;
    }
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.end();
    await closed;
    await serverEnded;
  } finally {
    client.destroy();
    server.close();
  }
  return { sent, received: sent };
}

/** Reads from `sock` until `n` bytes have come (or it ends). */
function readBytes(sock: net.Socket, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (b: Buffer): void => {
      got += b.length;
      if (got >= n) done(got);
    };
    const done = (v: number): void => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('error', reject);
      resolve(v);
    };
    const onEnd = (): void => done(got);
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('error', reject);
  });
}

/** Smallest `size` of an `http` exchange: room for its request line, headers and padding. */
const HTTP_MIN_SIZE = 128;

/** `text`, then `X-Pad` header bytes, then the blank line: exactly `size` bytes of HTTP head. */
function paddedHead(text: string, size: number): Buffer {
  const pad = size - text.length - 'X-Pad: \r\n\r\n'.length;
  return Buffer.from(`${text}X-Pad: ${'p'.repeat(Math.max(0, pad))}\r\n\r\n`, 'latin1');
}

/** The request of `http` exchange `i`: GET /nfp/SEED/I, `size` bytes. */
function httpRequest(seed: number, i: number, size: number): Buffer {
  return paddedHead(`GET /nfp/${seed}/${i} HTTP/1.1\r\nHost: nfp.test\r\n`, size);
}

/** The response of an `http` exchange: 200, a body of `size - 96` bytes, `size` bytes in all. */
function httpResponse(seed: number, size: number): Buffer {
  const body = payloadFor(seed, 0, size - 96)
    .toString('hex')
    .slice(0, size - 96);
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n`;
  return Buffer.concat([paddedHead(head, 96), Buffer.from(body, 'latin1')]);
}

async function flows(spec: ReturnType<typeof parseSpec>): Promise<ScriptResult> {
  const addr = spec.family === 6 ? '::1' : '127.0.0.1';
  const http = spec.proto === 'http';
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    void readBytes(sock, spec.size).then(() =>
      sock.end(
        http ? httpResponse(spec.seed + 1, spec.size) : payloadFor(spec.seed + 1, 0, spec.size),
      ),
    );
  });
  const address = { port: await listen(server, spec.port, addr) };
  let sent = 0;
  try {
    for (let i = 0; i < spec.count; i++) {
      await pace(i, spec.ratePps);
      const client = net.connect({
        host: addr,
        port: address.port,
        noDelay: true,
        ...(spec.srcPort !== undefined ? { localAddress: addr, localPort: spec.srcPort + i } : {}),
      });
      await new Promise<void>((resolve, reject) => {
        client.once('error', reject);
        client.once('connect', () => resolve());
      });
      const reply = readBytes(client, spec.size);
      client.write(
        http ? httpRequest(spec.seed, i, spec.size) : payloadFor(spec.seed, i, spec.size),
      );
      if ((await reply) < spec.size) fail(`flow ${i}: short response`);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.end();
      await closed;
      sent += 1;
    }
  } finally {
    server.close();
  }
  return { sent, received: sent };
}

async function bulk(spec: ReturnType<typeof parseSpec>): Promise<ScriptResult> {
  const addr = spec.family === 6 ? '::1' : '127.0.0.1';
  const total = spec.count * spec.size;
  let served: () => void = () => {};
  const done = new Promise<void>((resolve) => (served = resolve));
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    void readBytes(sock, total).then(() => {
      sock.end();
      served();
    });
  });
  const address = { port: await listen(server, spec.port, addr) };
  const client = net.connect({ host: addr, port: address.port });
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', () => resolve());
  });
  let sent = 0;
  try {
    for (let i = 0; i < spec.count; i++) {
      if (Date.now() > deadline) fail(`time cap of ${TRAFFIC_MAX_MS} ms reached after ${i} writes`);
      if (!client.write(payloadFor(spec.seed, i, spec.size)))
        await new Promise<void>((resolve) => client.once('drain', () => resolve()));
      sent += 1;
    }
    client.end();
    await done;
  } finally {
    client.destroy();
    server.close();
  }
  return { sent, received: sent };
}

async function icmp(spec: ReturnType<typeof parseSpec>): Promise<ScriptResult> {
  const addr = spec.family === 6 ? '::1' : '127.0.0.1';
  const intervalS = spec.ratePps !== undefined ? Math.max(0.002, 1 / spec.ratePps) : 0.002;
  const args = [
    spec.family === 6 ? '-6' : '-4',
    '-n',
    '-q',
    '-c',
    String(spec.count),
    '-s',
    String(spec.size),
    '-i',
    intervalS.toFixed(3),
    '-w',
    String(Math.ceil(TRAFFIC_MAX_MS / 1000)),
    addr,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ping', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`ping exited ${code}: ${text.trim()}`)),
    );
  });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (m === null) fail(`cannot parse ping output: ${out.trim()}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

async function main(): Promise<void> {
  const spec = parseSpec(process.argv[2]);
  const result =
    spec.proto === 'udp'
      ? await udp(spec)
      : spec.proto === 'tcp'
        ? await tcp(spec)
        : spec.proto === 'flows' || spec.proto === 'http'
          ? await flows(spec)
          : spec.proto === 'bulk'
            ? await bulk(spec)
            : await icmp(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.sent !== spec.count) {
    process.stderr.write(`traffic: sent ${result.sent} of ${spec.count}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`traffic: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
