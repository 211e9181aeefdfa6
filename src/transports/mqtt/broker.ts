// aedes with one change of route: a publish that aedes did not get from the hub is handed to the hub
// instead of being routed by aedes. Every delivery to MQTT subscribers then comes from the hub, once,
// in the hub's order, whoever published - while aedes still does what a broker does with it (QoS
// handshakes, retained messages, offline queues of persistent sessions).
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes';

type Done = (err?: Error) => void;
type NativePublish = (this: Aedes, packet: PublishPacket, client: Client | null, done: Done) => void;
const nativePublish = Aedes.prototype.publish as unknown as NativePublish;
const noop: Done = () => {};

export type ToHub = (packet: PublishPacket, client: Client | null) => Promise<void>;

export class HeraldBroker extends Aedes {
  /** Client packets the hub already accepted (in authorizePublish): aedes only acknowledges them. */
  private readonly accepted = new WeakSet<object>();

  constructor(
    options: AedesOptions,
    private readonly toHub: ToHub,
    /** Told of a throw from aedes's own callback, which would otherwise be an unhandled rejection. */
    private readonly callbackFailed: (err: unknown) => void,
  ) {
    super(options);
  }

  /** Routes a hub publication to MQTT subscribers: live, retained and queued for offline sessions. */
  inject(packet: PublishPacket, done: Done = noop): void {
    nativePublish.call(this, packet, null, done);
  }

  /** Marks a packet as already published to the hub, so that routing it is a no-op. */
  markAccepted(packet: PublishPacket): void {
    this.accepted.add(packet);
  }

  // aedes calls publish(packet, client, done) for client PUBLISH packets and wills, and
  // publish(packet, done) for its own $SYS announcements.
  override publish(packet: PublishPacket, clientOrDone?: Client | null | Done, maybeDone?: Done): void {
    const client = typeof clientOrDone === 'function' ? null : (clientOrDone ?? null);
    const done = (typeof clientOrDone === 'function' ? clientOrDone : maybeDone) ?? noop;
    // The broker's own `$SYS/...` topics stay inside the broker: never channels.
    if (packet.topic.startsWith('$')) {
      nativePublish.call(this, packet, client, done);
      return;
    }
    if (this.accepted.delete(packet)) {
      done();
      return;
    }
    this.toHub(packet, client)
      .then(
        () => done(),
        (err: Error) => done(err),
      )
      .catch(this.callbackFailed);
  }
}
