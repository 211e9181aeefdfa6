// `GET /poll?channel=A&channel=B&cursor=C&timeout=S`: long polling (held until something arrives or
// the timeout) and short polling (timeout=0). Stateless: the cursor plus history is all there is.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../errors.js';
import { channelsFrom, cursorFrom, startingCursor, subscribeAll } from '../channel-request.js';
import type { Door } from '../door.js';
import { Poller } from './poller.js';
import { TimerWheel } from './timer-wheel.js';

/** Seconds to hold: the client's `timeout` (capped), else the configured default. */
export function holdSeconds(raw: unknown, dflt: number, max: number): number {
  if (raw === undefined || raw === '') return Math.min(dflt, max);
  if (typeof raw !== 'string' || !/^\d+(\.\d+)?$/.test(raw)) {
    throw new HeraldError('BAD_REQUEST', 'timeout must be a number of seconds, e.g. timeout=25 or timeout=0');
  }
  return Math.min(Number(raw), max);
}

export const pollDoor: Door = {
  name: 'poll',
  register({ app, hub, config, onShutdown }) {
    const held = new Set<Poller>();
    const wheel = new TimerWheel<Poller>(1000, (p) => p.answer());
    let closing = false;

    app.get('/poll', async (req: FastifyRequest, reply: FastifyReply) => {
      if (closing) throw new HeraldError('NOT_AVAILABLE', 'server is shutting down');
      const q = req.query as Record<string, unknown>;
      const channels = channelsFrom(q.channel, hub, config.maxChannelsPerRequest);
      const since = cursorFrom(q.cursor);
      const timeout = holdSeconds(q.timeout, config.pollTimeout, config.pollMaxTimeout);
      reply.header('cache-control', 'no-store').type('application/json; charset=utf-8');

      return new Promise<string>((resolve, reject) => {
        const poller = new Poller(channels, new Map(), config.maxBufferedBytes, (p, body) => {
          held.delete(p);
          if (p.wheelKey >= 0) wheel.remove(p, p.wheelKey);
          for (const c of channels) hub.unsubscribe(c, p);
          resolve(body);
        });
        // A client that goes away releases its subscriptions at once, not at its deadline.
        reply.raw.on('close', () => poller.answer());
        subscribeAll(hub, channels, poller, since).then((sub) => {
          if (poller.done) {
            // Answered (client gone, shutdown) while subscribing: let go of what was just taken.
            for (const c of channels) hub.unsubscribe(c, poller);
            return;
          }
          poller.cursor = startingCursor(sub, channels, since);
          let complete = true;
          for (const pub of sub.publications) {
            if (!poller.take(pub, poller.format.encode(pub))) {
              complete = false;
              break;
            }
          }
          if (
            sub.publications.length > 0 ||
            sub.gaps.length > 0 ||
            timeout === 0 ||
            poller.done ||
            !complete
          ) {
            poller.answer(sub.gaps);
            return;
          }
          held.add(poller);
          poller.wheelKey = wheel.add(poller, timeout * 1000);
          sub.start(); // may deliver at once what arrived while history was read
        }, reject);
      });
    });

    onShutdown(() => {
      closing = true;
      for (const p of [...held]) p.answer();
      wheel.stop();
    });
  },
};
