// The one gate every door passes a new connection through: connections in total, per address, and
// new connections per address per second. A refusal is a catalogue error the door turns into its
// own way of saying no (an HTTP status before a WebSocket upgrade, a JSON error on SSE and polling,
// a closed socket on MQTT over TCP); nothing is allocated for a refused connection.
import { HeraldError } from '../errors.js';
import { addressKey } from './address.js';
import { IpCounter } from './ip-counter.js';
import { KeyedBuckets } from './token-bucket.js';

export interface ConnectionLimitOptions {
  /** Live connections on this node, all doors together; 0 = no limit. */
  maxConnections: number;
  /** Live connections from one address, all doors together; 0 = no limit. */
  maxConnectionsPerIp: number;
  /** New connections per second from one address; 0 = no limit. */
  connectionRatePerIp: number;
  /** New connections one address may open at once before the rate applies. */
  connectionBurstPerIp: number;
}

/** A counted connection: release it exactly once when the connection ends (more calls do nothing). */
export interface Ticket {
  release(): void;
}

class CountedTicket implements Ticket {
  constructor(
    /** Unset once released (one field fewer than a flag: every connection holds a ticket). */
    private counter: IpCounter | undefined,
    private readonly key: string,
  ) {}

  release(): void {
    this.counter?.release(this.key);
    this.counter = undefined;
  }
}

export class ConnectionLimits {
  readonly counter: IpCounter;
  private readonly rate: KeyedBuckets | undefined;

  constructor(private readonly o: ConnectionLimitOptions) {
    this.counter = new IpCounter(o.maxConnections, o.maxConnectionsPerIp);
    this.rate =
      o.connectionRatePerIp > 0
        ? new KeyedBuckets(o.connectionRatePerIp, Math.max(1, o.connectionBurstPerIp))
        : undefined;
  }

  /** Admits a new connection from `remote` or throws the HeraldError saying why not. */
  admit(remote: string | undefined): Ticket {
    const key = addressKey(remote);
    // The count first: a refused connection must not also spend a token of the rate.
    const refusal = this.counter.acquire(key);
    if (refusal === 'total') {
      throw new HeraldError('NOT_AVAILABLE', `server connection limit (${this.o.maxConnections}) reached`);
    }
    if (refusal === 'address') {
      throw new HeraldError(
        'TOO_MANY_REQUESTS',
        `at most ${this.o.maxConnectionsPerIp} connections from one address`,
      );
    }
    if (this.rate && !this.rate.take(key)) {
      this.counter.release(key);
      throw new HeraldError(
        'TOO_MANY_REQUESTS',
        `at most ${this.o.connectionRatePerIp} new connections per second from one address`,
      );
    }
    return new CountedTicket(this.counter, this.counter.sharedKey(key));
  }

  stop(): void {
    this.rate?.stop();
  }
}
