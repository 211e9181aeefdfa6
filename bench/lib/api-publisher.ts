// A publisher through the server HTTP API (POST /api/publish) for doors that have no publish of
// their own (SSE, polling). Keep-alive sockets bound to the load process's source address; requests
// are fire-and-forget (answers are read and dropped) and bounded in flight, so a slow server makes
// the publisher fall behind (which the delivered share shows) instead of piling up requests.
import { Agent, request } from 'node:http';
import type { ConnectOptions, PublisherConnection } from '../adapters/types.js';

const MAX_IN_FLIGHT = 256;

export function apiPublisher(opts: ConnectOptions): Promise<PublisherConnection> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8, localAddress: opts.localAddress });
  const url = new URL('/api/publish', opts.base);
  let inFlight = 0;
  const queue: string[] = [];
  const send = (body: string) => {
    inFlight++;
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.once('end', done);
      },
    );
    req.once('error', done);
    req.end(body);
  };
  const done = () => {
    inFlight--;
    const next = queue.shift();
    if (next !== undefined) send(next);
  };
  return Promise.resolve({
    publish(payload: string, channel = opts.channel) {
      // Benchmark payloads and channel names are ASCII without quotes: no JSON.stringify needed.
      const body = `{"channel":"${channel}","data":"${payload}"}`;
      if (inFlight < MAX_IN_FLIGHT) send(body);
      else if (queue.length < 100_000) queue.push(body);
    },
    close() {
      queue.length = 0;
      agent.destroy();
    },
  });
}
