// The six mechanisms, each watching the room's channel its own way. A mechanism is
// { id, name, how, start(pane) -> stop }; the pane gives it state(kind, text), add(key, serverTime,
// prefix) and note(text). Kinds: connecting, live, reconnecting, recovered, failed.

const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const backoff = (tries) => Math.min(5000, 250 * 2 ** Math.min(tries, 5));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const textOf = (data) => (typeof data === 'string' ? data : JSON.stringify(data));

const chatWebSocket = () => ({
  id: 'ws',
  name: 'WebSocket /chat',
  how:
    'One TCP connection, upgraded from HTTP, stays open; either side sends a frame whenever it likes. ' +
    'This is the seed\'s room: text in, "Broadcast: text" out to everyone else. Nothing is replayed after a reconnect.',
  start(pane) {
    let ws;
    let timer;
    let tries = 0;
    let stopped = false;
    const open = () => {
      pane.state(tries ? 'reconnecting' : 'connecting');
      ws = new WebSocket(`${wsBase}/chat`); // the room is always channel chat
      ws.onopen = () => {
        if (tries) pane.note('reconnected; the room does not replay what was said meanwhile');
        tries = 0;
        pane.state('live');
      };
      ws.onmessage = (e) => {
        if (typeof e.data !== 'string') return;
        if (e.data.startsWith('Broadcast: ')) pane.add(e.data.slice('Broadcast: '.length));
        else pane.note(e.data);
      };
      ws.onclose = () => {
        if (stopped) return;
        tries++;
        pane.state('reconnecting');
        timer = setTimeout(open, backoff(tries));
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws.close();
    };
  },
});

const channelProtocol = (room) => ({
  id: 'centrifuge',
  name: 'WebSocket channel protocol',
  how:
    'A WebSocket speaking a channel protocol (Centrifugo-compatible, the centrifuge SDK): one connection, ' +
    'many channel subscriptions, and each publication has an offset, so a reconnect recovers what was missed.',
  start(pane) {
    if (!window.Centrifuge) {
      pane.state('failed', 'SDK not loaded');
      return () => {};
    }
    const client = new window.Centrifuge(`${wsBase}/connection/websocket`);
    // Without asking, the server keeps no position for this subscription, and a reconnect starts afresh.
    const sub = client.newSubscription(room, { recoverable: true });
    let lastOffset;
    let subscribedOnce = false;
    client.on('connecting', () => pane.state(subscribedOnce ? 'reconnecting' : 'connecting'));
    client.on('disconnected', (ctx) => pane.state('failed', `disconnected: ${ctx.reason}`));
    sub.on('subscribed', (ctx) => {
      subscribedOnce = true;
      const top = ctx.streamPosition?.offset;
      if (ctx.wasRecovering && ctx.recovered) {
        const n = top !== undefined && lastOffset !== undefined ? Math.max(0, top - lastOffset) : 0;
        pane.state('recovered', `live, recovered ${n}`);
      } else if (ctx.wasRecovering) {
        pane.state('live', 'live (could not recover everything)');
        pane.note('some publications were lost while away');
      } else pane.state('live');
    });
    sub.on('error', (ctx) => pane.note(`subscription error: ${ctx.error?.message ?? ctx.type}`));
    sub.on('unsubscribed', (ctx) => pane.state('failed', `unsubscribed: ${ctx.reason}`));
    sub.on('publication', (ctx) => {
      lastOffset = ctx.offset;
      pane.add(textOf(ctx.data), undefined, ctx.offset !== undefined ? `#${ctx.offset}` : '');
    });
    sub.subscribe();
    client.connect();
    return () => client.disconnect();
  },
});

const serverSentEvents = (room) => ({
  id: 'sse',
  name: 'Server-Sent Events',
  how:
    "An HTTP response that never ends: the server writes one event per publication, the browser's EventSource " +
    'reads them, and after a drop it reconnects by itself with Last-Event-ID, so the server resends what was missed.',
  start(pane) {
    const es = new EventSource(`/sse?channel=${encodeURIComponent(room)}`);
    let opens = 0;
    let reopenedAt = 0;
    let recovered = 0;
    pane.state('connecting');
    es.onopen = () => {
      if (opens++ === 0) return pane.state('live');
      reopenedAt = Date.now();
      recovered = 0;
      pane.state('recovered', 'live, recovered 0');
    };
    es.onerror = () => pane.state(es.readyState === EventSource.CLOSED ? 'failed' : 'reconnecting');
    es.onmessage = (e) => {
      const pub = JSON.parse(e.data);
      // Published before this stream reopened: it was missed, and is here thanks to the cursor.
      if (reopenedAt && pub.time < reopenedAt) pane.state('recovered', `live, recovered ${++recovered}`);
      pane.add(textOf(pub.data), pub.time, `#${pub.offset}`);
    };
    es.addEventListener('gap', () => pane.note('gap: some publications were lost while away'));
    return () => es.close();
  },
});

/** Both polls: GET /poll with the cursor of the previous answer, which is all the state there is. */
function poller(room, pane, timeout) {
  let cursor = '';
  let failed = 0;
  const url = () =>
    `/poll?channel=${encodeURIComponent(room)}&timeout=${timeout()}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  return async function pollOnce(signal) {
    try {
      const res = await fetch(url(), { signal, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      cursor = body.cursor;
      if (failed) {
        const n = body.publications.length;
        pane.state(n ? 'recovered' : 'live', n ? `live, recovered ${n}` : 'live');
      } else if (pane.kind !== 'recovered') pane.state('live');
      failed = 0;
      if (body.gap) pane.note('gap: some publications were lost while away');
      for (const pub of body.publications) pane.add(textOf(pub.data), pub.time, `#${pub.offset}`);
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      failed++;
      pane.state('reconnecting', `reconnecting (${err.message})`);
      await sleep(backoff(failed));
      return false;
    }
  };
}

const longPolling = (room) => ({
  id: 'long-poll',
  name: 'Long polling',
  how:
    'Plain HTTP requests: the server holds each one until a publication arrives (or 25 s pass), answers, and ' +
    'the browser asks again at once with the cursor it got, so nothing falls between two requests.',
  start(pane) {
    const ctrl = new AbortController();
    let first = true;
    const poll = poller(room, pane, () => (first ? 0 : 25));
    pane.state('connecting');
    (async () => {
      while (!ctrl.signal.aborted) {
        if (await poll(ctrl.signal)) first = false;
      }
    })();
    return () => ctrl.abort();
  },
});

const shortPolling = (room) => ({
  id: 'short-poll',
  name: 'Short polling',
  how:
    'The browser asks "anything new?" every few seconds and the server answers at once. Simple, but a ' +
    'message waits for the next request: see how the delay grows with the interval.',
  start(pane) {
    const ctrl = new AbortController();
    const poll = poller(room, pane, () => 0);
    const input = document.createElement('input');
    input.type = 'number';
    input.min = '0.5';
    input.step = '0.5';
    input.value = '2';
    input.className = 'interval';
    input.setAttribute('aria-label', 'short poll interval in seconds');
    const countdown = document.createElement('span');
    pane.extra.replaceChildren('every ', input, ' s ', countdown);
    pane.state('connecting');
    (async () => {
      while (!ctrl.signal.aborted) {
        await poll(ctrl.signal);
        const wait = Math.max(0.5, Number(input.value) || 2) * 1000;
        const until = performance.now() + wait;
        while (!ctrl.signal.aborted && performance.now() < until) {
          countdown.textContent = `· next request in ${((until - performance.now()) / 1000).toFixed(1)} s`;
          await sleep(100);
        }
      }
    })();
    return () => {
      ctrl.abort();
      countdown.textContent = '';
    };
  },
});

const mqttOverWebSocket = (room) => ({
  id: 'mqtt',
  name: 'MQTT over WebSocket',
  how:
    'The IoT publish/subscribe protocol, carried in WebSocket frames at /mqtt. Topic = channel. With a ' +
    'persistent session (clean=false, QoS 1) the broker keeps what arrives while the client is away.',
  start(pane) {
    if (!window.mqtt) {
      pane.state('failed', 'mqtt library not loaded');
      return () => {};
    }
    // One session per tab: a reload resumes it, another tab gets its own.
    let clientId = sessionStorage.getItem('herald-demo-mqtt');
    if (!clientId) {
      clientId = `demo-${Math.random().toString(36).slice(2, 10)}`;
      sessionStorage.setItem('herald-demo-mqtt', clientId);
    }
    const client = window.mqtt.connect(`${wsBase}/mqtt`, {
      clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
    });
    let connected = false;
    const decoder = new TextDecoder();
    pane.state('connecting');
    client.on('connect', (ack) => {
      if (connected && ack.sessionPresent) pane.state('recovered', 'live, session resumed');
      else pane.state('live');
      connected = true;
      if (!ack.sessionPresent) client.subscribe(room, { qos: 1 });
    });
    client.on('reconnect', () => pane.state('reconnecting'));
    client.on('offline', () => pane.state('reconnecting'));
    client.on('error', (err) => pane.note(`error: ${err.message}`));
    client.on('message', (_topic, payload) => pane.add(decoder.decode(payload)));
    return () => client.end(true);
  },
});

export const mechanisms = (room) => [
  chatWebSocket(),
  channelProtocol(room),
  serverSentEvents(room),
  longPolling(room),
  shortPolling(room),
  mqttOverWebSocket(room),
];
