// One publication as PUBLISH bytes, built once per variant and shared by every receiver that needs
// that variant: protocol family (3.1/3.1.1 or 5), QoS 0 or not, retain flag. A receiver with
// something of its own in the packet (subscription identifiers, a topic alias) gets a packet built
// for it alone. QoS 1/2 receivers copy the template and patch in their packet id.
import type { IPublishPacket } from 'mqtt-packet';
import type { StoredMessage } from '../../model/mqtt-store.js';
import { type ProtocolLevel, type PublishTemplate, publishTemplate, toPublishProps } from './wire.js';

export class PublishVariants {
  private readonly cache: (PublishTemplate | undefined)[] = [];
  private v5Props: IPublishPacket['properties'] | null = null;

  constructor(readonly msg: StoredMessage) {}

  /** The message's v5 properties now (message expiry counts down), computed once per publication. */
  properties(): IPublishPacket['properties'] {
    if (this.v5Props === null) this.v5Props = toPublishProps(this.msg.props, Date.now());
    return this.v5Props;
  }

  get(level: ProtocolLevel, qos: 0 | 1 | 2, retain: boolean): PublishTemplate {
    const key = (level === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    let t = this.cache[key];
    if (t === undefined) {
      t = this.build(level, qos, retain, undefined, undefined);
      this.cache[key] = t;
    }
    return t;
  }

  /** A packet for one receiver: with its subscription identifiers and/or topic alias (v5 only). */
  build(
    level: ProtocolLevel,
    qos: 0 | 1 | 2,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    alias: { id: number; known: boolean } | undefined,
  ): PublishTemplate {
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: this.msg.topic,
      payload: this.msg.payload,
      qos,
      retain,
      dup: false,
    };
    if (level === 5) {
      const props = { ...this.properties() };
      if (subscriptionIds && subscriptionIds.length > 0)
        props.subscriptionIdentifier = (
          subscriptionIds.length === 1 ? subscriptionIds[0] : subscriptionIds
        ) as number;
      if (alias) {
        props.topicAlias = alias.id;
        if (alias.known) packet.topic = '';
      }
      if (Object.keys(props).length > 0) packet.properties = props;
    }
    return publishTemplate(packet, level);
  }
}
