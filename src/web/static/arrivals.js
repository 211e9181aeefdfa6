// Delivery delay bookkeeping: the same publication reaches several panes; each line shows how long
// after its origin it arrived. The origin is the moment this page sent it when it did, else the
// server's publication time (SSE and polling carry it; server and browser on one machine share a
// clock), else the first pane's arrival until something better is known.

const KEEP = 500;

export class Arrivals {
  constructor() {
    /** key -> { origin, basis, lines: [{ span, at }] } */
    this.byKey = new Map();
  }

  entry(key) {
    let e = this.byKey.get(key);
    // The same text sent again much later is another message.
    if (e && performance.now() - e.created > 10_000) e = undefined;
    if (!e) {
      e = { created: performance.now(), origin: undefined, basis: 'first', lines: [] };
      this.byKey.set(key, e);
      if (this.byKey.size > KEEP) this.byKey.delete(this.byKey.keys().next().value);
    }
    return e;
  }

  /** This page published `key` now. */
  sent(key) {
    const e = this.entry(key);
    e.origin = Date.now();
    e.basis = 'sent';
  }

  /** A pane received `key`; `serverTime` is the publication time when the mechanism carries it. */
  seen(key, span, serverTime) {
    const e = this.entry(key);
    const at = Date.now();
    if (
      e.basis !== 'sent' &&
      typeof serverTime === 'number' &&
      (e.basis === 'first' || serverTime < e.origin)
    ) {
      e.origin = serverTime;
      e.basis = 'server';
      for (const line of e.lines) render(line, e);
    }
    if (e.origin === undefined) e.origin = at;
    const line = { span, at };
    e.lines.push(line);
    render(line, e);
  }
}

function render(line, e) {
  const ms = Math.max(0, line.at - e.origin);
  const basis = {
    sent: 'after this page sent it',
    server: 'after the server published it',
    first: 'after the first pane got it',
  }[e.basis];
  line.span.textContent = `+${ms} ms`;
  line.span.title = `${ms} ms ${basis}`;
}
