// `GET /poll?channel=A&channel=B&cursor=C&timeout=S`: long polling (held until something arrives or
// the timeout) and short polling (timeout=0). Stateless: the cursor plus history is all there is.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { identify } from '../../auth/http-identity.js';
import { HeraldError } from '../../errors.js';
import { channelsFrom, cursorFrom, startingCursor, subscribeAll } from '../channel-request.js';
import type { Door } from '../door.js';
import { Poller } from './poller.js';

/** Seconds to hold: the client's `timeout` (capped), else the configured default. */
export function holdSeconds(raw: unknown, dflt: number, max: number): number {
  if (raw === undefined || raw === '') return Math.min(dflt, max);
  if (typeof raw !== 'string' || !/^\d+(\.\d+)?$/.test(raw)) {
    throw new HeraldError('BAD_REQUEST', 'timeout must be a number of seconds, e.g. timeout=25 or timeout=0');
  }
  return Math.min(Number(raw), max);
}

// One function for every held poll's timer rather than a closure each.
const answerAtDeadline = (poller: Poller) => poller.answer();

export const pollDoor: Door = {
  name: 'poll',
  register({ app, hub, clients, tokens, config, limits, onShutdown, stats }) {
    const counters = stats.door('poll');
    const held = new Set<Poller>();
    let closing = false;
    // Shared by every poller rather than a closure per request: held polls are most of the memory.
    const release = (p: Poller) => {
      held.delete(p);
      clearTimeout(p.timer);
      for (const c of p.channels) if (hub.unsubscribe(c, p)) counters.subscriptions--;
    };

    app.get('/poll', async (req: FastifyRequest, reply: FastifyReply) => {
      if (closing) throw new HeraldError('NOT_AVAILABLE', 'server is shutting down');
      const q = req.query as Record<string, unknown>;
      const identity = await identify(tokens, {
        headers: req.headers,
        query: config.allowTokenInQuery ? q.token : undefined,
        allowedOrigins: config.allowedOrigins,
      });
      const channels = channelsFrom(q.channel, hub, config.maxChannelsPerRequest);
      const since = cursorFrom(q.cursor);
      const timeout = holdSeconds(q.timeout, config.pollTimeout, config.pollMaxTimeout);
      // Counted until answered: a held poll is a connection like any other.
      const ticket = limits.admit(req.socket.remoteAddress);
      reply.raw.once('close', () => ticket.release());
      reply.header('cache-control', 'no-store').type('application/json; charset=utf-8');

      const poller = new Poller(channels, new Map(), config.maxBufferedBytes, release);
      // A client that goes away releases its subscriptions at once, not at its deadline.
      reply.raw.on('close', () => poller.answer());
      counters.opened();
      counters.subscriptions += channels.length;
      poller.answered.then((body) => {
        counters.closed('answered');
        counters.messagesOut += poller.taken;
        counters.bytesOut += body.length;
      });

      const sub = await subscribeAll(
        clients,
        identity,
        channels,
        poller,
        since,
        config.maxRecoveryPublications,
      );
      if (poller.done) {
        // Answered (client gone, shutdown) while subscribing: let go of what was just taken.
        release(poller);
        return poller.answered;
      }
      // Anything thrown from here on (an unencodable publication, say) is answered as an error by
      // fastify; the subscriptions must not outlive the request.
      try {
        poller.cursor = startingCursor(sub, channels, since);
        let complete = true;
        for (const pub of sub.publications) {
          if (!poller.take(pub, poller.format.encode(pub))) {
            complete = false;
            break;
          }
        }
        if (sub.publications.length > 0 || sub.gaps.length > 0 || timeout === 0 || !complete) {
          poller.answer(sub.gaps);
        } else {
          held.add(poller);
          poller.timer = setTimeout(answerAtDeadline, timeout * 1000, poller);
          poller.timer.unref();
          sub.start(); // may deliver at once what arrived while history was read
        }
      } catch (err) {
        poller.cancel();
        throw err;
      }
      return poller.answered;
    });

    onShutdown(() => {
      closing = true;
      for (const p of [...held]) p.answer();
    });
  },
};
