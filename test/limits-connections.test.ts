// Connection limits over every door: in total, per address and per address per second. Clients
// from other loopback addresses (127.0.0.2 ...) are real "other IPs"; a client on 127.0.0.1 that
// stays connected throughout must keep getting every publication.
import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startHerald, type TestServer } from './helpers/herald.js';
import { getFrom, type OpenResponse } from './helpers/http.js';
import { CONNACK_OK, connectPacket, RawMqtt } from './helpers/mqtt.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

/** What a refused WebSocket upgrade answers: status and body, before any WebSocket exists. */
function upgradeRefusal(
  url: string,
  localAddress: string,
  protocol?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol, { localAddress });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`${url} from ${localAddress} was accepted`));
    });
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

/** A TCP socket to the MQTT port from `localAddress`; resolves when it is connected. */
function mqttSocket(port: number, localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1', localAddress }, () =>
      resolve({ socket, closed: new Promise((done) => socket.once('close', () => done())) }),
    );
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

const sseStarted = (r: OpenResponse) =>
  until(() => r.body().includes('event: ready'), { what: 'the SSE ready event' });

describe('connections per address, over every door together', () => {
  let server: TestServer;
  let observer: TestClient;
  let published = 0;
  const heard: string[] = [];

  before(async () => {
    server = await startHerald({
      maxConnectionsPerIp: 3,
      connectionRatePerIp: 0,
      mqttPort: 'auto',
      pollTimeout: 30,
      pollMaxTimeout: 30,
    });
    observer = await TestClient.open(`${server.ws}/chat`);
    assert.match(await observer.nextText(), /Welcome/);
    observer.ws.on('message', (d) => heard.push(d.toString()));
  });
  after(async () => {
    await observer.close();
    await server.stop();
  });

  const publishAndHear = async () => {
    const n = ++published;
    await server.herald.hub.publish('chat', { data: `p${n}` });
    await until(() => heard.includes(`Broadcast: p${n}`), { what: `the observer to hear p${n}` });
  };

  test('a WebSocket, an SSE stream and a held poll fill the quota; every further door says 429', async () => {
    const A = '127.0.0.2';
    const echo = await TestClient.open(`${server.ws}/echo`, { localAddress: A });
    const sse = await getFrom(`${server.http}/sse?channel=news`, A);
    assert.equal(sse.status, 200);
    await sseStarted(sse);
    // A held poll has no status line until it is answered: it is counted while it waits.
    const held = getFrom(`${server.http}/poll?channel=news`, A);
    await until(() => server.herald.limits.counter.count(A) === 3, { what: 'three connections counted' });
    await publishAndHear();

    for (const path of ['/echo', '/chat', '/connection/websocket']) {
      const r = await upgradeRefusal(`${server.ws}${path}`, A);
      assert.equal(r.status, 429, path);
      assert.equal(JSON.parse(r.body).error.code, 111, path);
    }
    const mqttWs = await upgradeRefusal(`${server.ws}/mqtt`, A, 'mqtt');
    assert.equal(mqttWs.status, 429);
    for (const path of ['/sse?channel=news', '/poll?channel=news&timeout=0']) {
      const r = await getFrom(`${server.http}${path}`, A);
      await r.ended;
      assert.equal(r.status, 429, path);
      assert.equal(JSON.parse(r.body()).error.code, 111, path);
    }
    const tcp = await mqttSocket(server.mqttPort as number, A);
    await tcp.closed; // closed at once, before any CONNECT
    await publishAndHear();

    // Another address is not affected by this one's quota.
    const other = await TestClient.open(`${server.ws}/echo`, { localAddress: '127.0.0.3' });
    const mqtt = await mqttSocket(server.mqttPort as number, '127.0.0.3');
    const reply = readSome(mqtt.socket);
    mqtt.socket.write(connectPacket('limits-other'));
    assert.deepEqual((await reply).subarray(0, 4), CONNACK_OK);
    mqtt.socket.destroy();
    await other.close();

    // A connection that ends gives its place back, whichever door it was.
    sse.close();
    await until(() => server.herald.limits.counter.count(A) === 2, { what: 'the SSE stream released' });
    const back = await TestClient.open(
      `${server.ws}/connection/websocket`,
      { localAddress: A },
      'centrifuge-json',
    );
    // Answered by a publication, the poll gives its place back.
    await server.herald.hub.publish('news', { data: 'wake' });
    assert.equal((await held).status, 200);
    await until(() => server.herald.limits.counter.count(A) === 2, { what: 'the held poll released' });
    const m = await mqttSocket(server.mqttPort as number, A);
    const connack = readSome(m.socket);
    m.socket.write(connectPacket('limits-a'));
    assert.deepEqual((await connack).subarray(0, 4), CONNACK_OK);
    m.socket.destroy();
    await back.close();
    await echo.close();
    await until(() => server.herald.limits.counter.count(A) === 0, {
      what: 'every connection of A released',
    });
    await publishAndHear();
  });
});

/** The next bytes a socket receives (or what it already has). */
function readSome(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => socket.once('data', resolve));
}

describe('connections in total', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxConnections: 2, maxConnectionsPerIp: 0, connectionRatePerIp: 0 });
  });
  after(() => server.stop());

  test('past maxConnections every door answers 503 "not available", and accepts again after one leaves', async () => {
    const a = await TestClient.open(`${server.ws}/chat`, { localAddress: '127.0.0.4' });
    const b = await getFrom(`${server.http}/sse?channel=c`, '127.0.0.5');
    await sseStarted(b);
    const ws = await upgradeRefusal(`${server.ws}/echo`, '127.0.0.6');
    assert.equal(ws.status, 503);
    assert.equal(JSON.parse(ws.body).error.code, 108);
    const poll = await getFrom(`${server.http}/poll?channel=c&timeout=0`, '127.0.0.6');
    await poll.ended;
    assert.equal(poll.status, 503);
    assert.equal(JSON.parse(poll.body()).error.code, 108);
    // The one already in keeps being served.
    assert.match(await a.nextText(), /Welcome/);
    await server.herald.hub.publish('chat', { data: 'still here' });
    assert.equal(await a.nextText(), 'Broadcast: still here');
    await a.close();
    await until(() => server.herald.limits.counter.total === 1, { what: 'the closed WebSocket released' });
    const c = await TestClient.open(`${server.ws}/echo`, { localAddress: '127.0.0.6' });
    await c.close();
    b.close();
  });
});

describe('new connections per address per second', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({
      maxConnectionsPerIp: 0,
      connectionRatePerIp: 1,
      connectionBurstPerIp: 3,
      mqttPort: 'auto',
    });
  });
  after(() => server.stop());

  test('past the burst an address is told 429 on every door; another address is not', async () => {
    const A = '127.0.0.7';
    // Three short polls spend the burst (each answered and closed at once).
    for (let i = 0; i < 3; i++) {
      const r = await getFrom(`${server.http}/poll?channel=r&timeout=0`, A);
      await r.ended;
      assert.equal(r.status, 200);
    }
    const ws = await upgradeRefusal(`${server.ws}/chat`, A);
    assert.equal(ws.status, 429);
    assert.match(JSON.parse(ws.body).error.message, /per second/);
    const sse = await getFrom(`${server.http}/sse?channel=r`, A);
    await sse.ended;
    assert.equal(sse.status, 429);
    const tcp = await mqttSocket(server.mqttPort as number, A);
    await tcp.closed;
    const other = await TestClient.open(`${server.ws}/chat`, { localAddress: '127.0.0.8' });
    await other.close();
    // The bucket refills: within a couple of seconds the address is let in again.
    await until(
      async () => {
        const r = await getFrom(`${server.http}/poll?channel=r&timeout=0`, A);
        await r.ended;
        return r.status === 200;
      },
      { what: 'the rate to let the address in again', timeoutMs: 5000, intervalMs: 400 },
    );
  });
});

describe('MQTT CONNECT deadline', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto', mqttConnectTimeout: 300 });
  });
  after(() => server.stop());

  test('a TCP socket that never sends CONNECT is closed; one that does is served', async () => {
    const silent = await RawMqtt.open(server.mqttPort as number);
    const good = await RawMqtt.open(server.mqttPort as number);
    good.write(connectPacket('deadline-good'));
    await good.receivedAtLeast(4, 'CONNACK');
    assert.deepEqual(good.received.subarray(0, 4), CONNACK_OK);
    assert.equal(await silent.closedWithin(5000), true, 'the silent socket was closed');
    await until(() => server.herald.limits.counter.total === 1, { what: 'the silent socket released' });
    good.destroy();
  });
});
