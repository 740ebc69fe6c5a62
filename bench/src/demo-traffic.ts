// Real traffic for `npm run demo`, run inside the demo's network namespace: UDP and TCP over
// IPv4 and IPv6 on loopback, each datagram or message acknowledged before the next so the
// counts are exact. Prints one JSON line with what it sent. Usage: node demo-traffic.js
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';

async function udp(family: 4 | 6, count: number): Promise<number> {
  const type = family === 4 ? 'udp4' : 'udp6';
  const host = family === 4 ? '127.0.0.1' : '::1';
  const rx = createSocket(type);
  rx.bind(0, host);
  await once(rx, 'listening');
  const port = rx.address().port;
  const tx = createSocket(type);
  for (let i = 0; i < count; i++) {
    const got = once(rx, 'message');
    tx.send(Buffer.from(`nflog-pipe demo udp${family} #${i}`), port, host);
    await got;
  }
  tx.close();
  rx.close();
  return count;
}

async function tcp(family: 4 | 6, messages: number): Promise<number> {
  const host = family === 4 ? '127.0.0.1' : '::1';
  // An echo server: each message comes back before the next one is written.
  const server = createServer((s) => s.pipe(s));
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const c = connect({ port, host, noDelay: true });
  await once(c, 'connect');
  for (let i = 0; i < messages; i++) {
    const got = once(c, 'data');
    c.write(`nflog-pipe demo tcp${family} #${i}\n`);
    await got;
  }
  c.end();
  await once(c, 'close');
  server.close();
  return messages;
}

const sent = {
  udp4: await udp(4, 20),
  udp6: await udp(6, 10),
  tcp4Messages: await tcp(4, 5),
  tcp6Messages: await tcp(6, 5),
};
process.stdout.write(`${JSON.stringify(sent)}\n`);
