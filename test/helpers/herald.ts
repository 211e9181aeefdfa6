// Starts a real Herald on a free loopback port for one test file, and stops it. MQTT over TCP is off
// unless a test asks for it with mqttPort: 'auto' (a free port, then in TestServer.mqttPort).
// Channels are open to every client here (TEST_OPEN_POLICY) so that tests about something else can
// use any channel; the product default keeps every namespace but `chat` closed, and tests about
// the policy pass their own defaultNamespace / namespaces.
import { type ConfigInput, OPEN_NAMESPACE } from '../../src/config.js';
import type { Engine } from '../../src/model/index.js';
import { createHerald, type Herald } from '../../src/server.js';

export interface TestServer {
  herald: Herald;
  /** http://127.0.0.1:PORT (https:// when started with tlsCert) */
  http: string;
  /** ws://127.0.0.1:PORT (wss://) */
  ws: string;
  port: number;
  /** The MQTT TCP port when started with mqttPort: 'auto' (or a number). */
  mqttPort?: number;
  stop(): Promise<void>;
}

/** Every action open to every client, connection info shown: for tests not about the policy. */
export const TEST_OPEN_POLICY = { ...OPEN_NAMESPACE, presence_show_info: true };

export async function startHerald(options: ConfigInput = {}, engine?: Engine): Promise<TestServer> {
  const herald = await createHerald(
    {
      port: 0,
      host: '127.0.0.1',
      logLevel: (process.env.HERALD_TEST_LOG_LEVEL as 'silent') ?? 'silent',
      mqttPort: 0,
      mqttHost: '127.0.0.1',
      defaultNamespace: TEST_OPEN_POLICY,
      ...options,
    },
    { engine },
  );
  const port = herald.address().port;
  const tls = herald.config.tlsCert !== '';
  return {
    herald,
    port,
    http: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ws: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    mqttPort: herald.listenerAddress('mqtt')?.port,
    stop: () => herald.stop(),
  };
}
