// MQTT over TLS (mqttTlsPort) with mqtt.js and mosquitto, on a self-signed certificate made by
// openssl; mqttTlsCert/mqttTlsKey fall back to the HTTP tlsCert/tlsKey.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { MqttTestClient, mosquittoPub, needsMosquittoClients } from './helpers/mqtt.js';
import { onPath, requireTool } from './helpers/requires.js';
import { makeCertificate } from './helpers/tls.js';

const skip = requireTool('openssl', () => onPath('openssl', ['version']));

describe('MQTT over TLS', { skip }, () => {
  let dir: string;
  let server: TestServer;
  let tlsPort: number;
  let ca: Buffer;
  let certFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-mqtts-'));
    const pair = makeCertificate(dir, 'mqtt');
    certFile = pair.cert;
    ca = readFileSync(pair.cert);
    server = await startHerald({
      mqttPort: 'auto',
      mqttTlsPort: 'auto',
      mqttTlsCert: pair.cert,
      mqttTlsKey: pair.key,
    });
    tlsPort = server.herald.listenerAddress('mqtts')?.port as number;
    assert.ok(tlsPort > 0, 'the TLS listener reports its port');
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('mqtt.js over mqtts, v3.1.1 and v5, meets a plain TCP client on one hub', async () => {
    const secure = await MqttTestClient.connect(`mqtts://127.0.0.1:${tlsPort}`, { ca, protocolVersion: 5 });
    const secure4 = await MqttTestClient.connect(`mqtts://127.0.0.1:${tlsPort}`, { ca });
    await secure.subscribe('tls/t', 1);
    await secure4.subscribe('tls/t', 1);
    const plain = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
    await plain.publish('tls/t', 'over tcp', { qos: 1 });
    assert.equal((await secure.next()).payload.toString(), 'over tcp');
    assert.equal((await secure4.next()).payload.toString(), 'over tcp');
    await Promise.all([secure.end(), secure4.end(), plain.end()]);
  });

  test('a client that does not trust the certificate is not connected', async () => {
    await assert.rejects(
      MqttTestClient.connect(`mqtts://127.0.0.1:${tlsPort}`, { rejectUnauthorized: true }),
    );
  });

  test('mosquitto_pub --cafile -V mqttv5 over TLS', { skip: needsMosquittoClients() }, async () => {
    const sub = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
    await sub.subscribe('tls/mosq', 1);
    await mosquittoPub(tlsPort, [
      '--cafile',
      certFile,
      '-V',
      'mqttv5',
      '-t',
      'tls/mosq',
      '-m',
      'secured',
      '-q',
      '1',
    ]);
    assert.equal((await sub.next()).payload.toString(), 'secured');
    await sub.end();
  });
});

describe('MQTT over TLS falls back to the HTTP certificate', { skip }, () => {
  test('tlsCert/tlsKey serve mqttTlsPort when mqttTlsCert is not set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-mqtts-'));
    const pair = makeCertificate(dir, 'http');
    const server = await startHerald({ mqttTlsPort: 'auto', tlsCert: pair.cert, tlsKey: pair.key });
    try {
      const port = server.herald.listenerAddress('mqtts')?.port;
      const c = await MqttTestClient.connect(`mqtts://127.0.0.1:${port}`, { ca: readFileSync(pair.cert) });
      assert.equal(c.client.connected, true);
      await c.end();
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
