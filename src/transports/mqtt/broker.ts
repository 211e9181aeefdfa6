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
  /** Per topic, the hub publication aedes is still routing (see inject). */
  private readonly routing = new Map<string, Promise<void>>();

  constructor(
    options: AedesOptions,
    private readonly toHub: ToHub,
    /** Told of a throw from aedes's own callback, which would otherwise be an unhandled rejection. */
    private readonly callbackFailed: (err: unknown) => void,
  ) {
    super(options);
  }

  /**
   * Routes a hub publication to MQTT subscribers: live, retained and queued for offline sessions.
   * One topic's publications are routed one after the other, in the hub's order. aedes routes a
   * QoS 1/2 packet only after a persistence round trip (its offline queues) and a QoS 0 one at once,
   * so a QoS 0 publication could overtake the QoS 1 one before it - and aedes' per-client de-dupe
   * (the highest counter seen per brokerId, which is the channel's offset here) then dropped the
   * overtaken one as a duplicate.
   */
  inject(packet: PublishPacket, done: Done = noop): void {
    const topic = packet.topic;
    const route = () =>
      new Promise<void>((resolve) => {
        nativePublish.call(this, packet, null, (err) => {
          done(err);
          resolve();
        });
      });
    const previous = this.routing.get(topic);
    // Nothing ahead on this topic: routed at once, exactly as before.
    const current = previous ? previous.then(route) : route();
    this.routing.set(topic, current);
    void current.then(() => {
      if (this.routing.get(topic) === current) this.routing.delete(topic);
    });
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
