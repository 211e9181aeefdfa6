// What a client sends after CONNECT: PUBLISH (into the hub, acknowledged once the hub has it),
// PUBREL, SUBSCRIBE and UNSUBSCRIBE. Channel policy is asked here: publish and subscribe.
import type { IPublishPacket, IPubrelPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { publishBucket } from '../../limits/command-rate.js';
import type { StoredSubscription } from '../../model/mqtt-store.js';
import type { MqttConnection } from './connection.js';
import { MqttClose, RC, SUBACK_FAILURE } from './reason-codes.js';
import { parseFilter, topicProblem } from './topics.js';
import { toMessageProps, userPropertyCount } from './wire.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function handlePublish(conn: MqttConnection, p: IPublishPacket): void {
  const b = conn.broker;
  const o = b.options;
  const v5 = conn.level === 5;
  const qos = p.qos;
  const id = p.messageId ?? 0;
  if (qos > 0 && id === 0) throw new MqttClose(RC.PROTOCOL_ERROR, 'PUBLISH with packet id 0');
  if (o.publishRate.rate > 0) {
    conn.publishBucket ??= publishBucket(o.publishRate);
    if (conn.publishBucket && !conn.publishBucket.take())
      throw new MqttClose(RC.RATE_TOO_HIGH, `more than ${o.publishRate.rate} publishes per second`);
  }
  const props = p.properties;
  if (userPropertyCount(props) > o.maxUserProperties)
    throw new MqttClose(RC.IMPLEMENTATION_SPECIFIC, `more than ${o.maxUserProperties} user properties`);

  let topic = p.topic;
  const alias = props?.topicAlias;
  if (alias !== undefined) {
    if (!v5 || alias === 0 || alias > o.topicAliasMaximum)
      throw new MqttClose(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} outside 1..${o.topicAliasMaximum}`);
    if (topic === '') {
      const known = conn.inboundAliases?.get(alias);
      if (known === undefined) throw new MqttClose(RC.PROTOCOL_ERROR, `topic alias ${alias} was never set`);
      topic = known;
    } else {
      conn.inboundAliases ??= new Map();
      conn.inboundAliases.set(alias, topic);
    }
  }
  const problem = topicProblem(topic, o.maxChannelNameLength);
  if (problem)
    throw new MqttClose(
      RC.TOPIC_NAME_INVALID,
      `publish to ${JSON.stringify(topic.slice(0, 100))}: ${problem}`,
    );
  if (p.payload.length > o.maxPayload)
    throw new MqttClose(
      RC.PACKET_TOO_LARGE,
      `payload of ${p.payload.length} bytes exceeds mqttMaxPayload (${o.maxPayload})`,
    );

  if (qos === 2 && conn.incomingQos2?.has(id)) {
    // A retransmission of a message the hub already has: acknowledged again, published once.
    conn.send({ cmd: 'pubrec', messageId: id, reasonCode: 0 });
    return;
  }
  // Receive Maximum counts a QoS 1 publish until PUBACK and a QoS 2 one until PUBREL: QoS 2 ids are
  // counted in inboundInflight only until they move to incomingQos2, never in both at once.
  let counted = false;
  if (qos > 0) {
    if (v5 && conn.inboundInflight + (conn.incomingQos2?.size ?? 0) >= o.receiveMaximum)
      throw new MqttClose(
        RC.RECEIVE_MAXIMUM_EXCEEDED,
        `more than ${o.receiveMaximum} QoS 1/2 publishes in flight`,
      );
    conn.inboundInflight++;
    counted = true;
  }
  const ack = (reasonCode: number) => {
    if (counted) conn.inboundInflight--;
    counted = false;
    if (conn.state !== 'connected') return;
    if (qos === 1) conn.send({ cmd: 'puback', messageId: id, reasonCode });
    else if (qos === 2) conn.send({ cmd: 'pubrec', messageId: id, reasonCode });
  };

  if (props?.payloadFormatIndicator && !isUtf8(p.payload as Buffer)) {
    if (qos === 0)
      throw new MqttClose(RC.PAYLOAD_FORMAT_INVALID, 'payload format indicator 1 with invalid UTF-8');
    ack(RC.PAYLOAD_FORMAT_INVALID);
    return;
  }
  // `$` topics are the broker's own and never channels; other refusals come from the policy.
  // 3.1.1 cannot refuse one PUBLISH: acknowledged and dropped. v5 says why.
  const identity = conn.identity;
  const refused =
    topic.startsWith('$') ||
    (identity !== undefined &&
      b.policy.authorize(identity, 'publish', topic, {
        subscribed: conn.subscriptions?.has(topic) === true,
      }) !== undefined);
  if (refused) {
    b.log.debug({ client: conn.clientId, topic }, 'MQTT publish refused');
    ack(topic.startsWith('$') ? RC.TOPIC_NAME_INVALID : RC.NOT_AUTHORIZED);
    return;
  }
  // PUBREC promises that a resend is not published again, on any node the client comes back to:
  // it waits for the session write that holds the id, not only for the hub.
  let saved: Promise<void> | undefined;
  if (qos === 2) {
    conn.incomingQos2 ??= new Set();
    conn.incomingQos2.add(id);
    conn.inboundInflight--;
    counted = false;
    saved = b.sessions.saveSession(conn);
  }
  const message = {
    topic,
    payload: Buffer.from(p.payload),
    qos,
    retain: p.retain === true,
    props: v5 ? toMessageProps(props, Date.now()) : undefined,
  };
  // One topic's publications enter the hub in the order the client sent them.
  conn.publishChains ??= new Map();
  const before = conn.publishChains.get(topic);
  const run = (): Promise<unknown> =>
    saved ? Promise.all([b.publishFromClient(conn, message), saved]) : b.publishFromClient(conn, message);
  const current = (before ? before.then(run, run) : run()).then(
    () => ack(v5 && qos > 0 ? RC.SUCCESS : 0),
    (err: Error) => {
      if (qos === 2) conn.incomingQos2?.delete(id);
      b.log.warn({ client: conn.clientId, topic, err: err.message }, 'MQTT publish failed in the hub');
      if (v5) {
        ack(RC.UNSPECIFIED);
        return;
      }
      // 3.1.1 has no failure ack: closing makes the client send it again.
      conn.fail(new MqttClose(RC.UNSPECIFIED, `publish failed: ${err.message}`));
    },
  );
  conn.publishChains.set(topic, current);
  void current.then(() => {
    if (conn.publishChains?.get(topic) === current) conn.publishChains.delete(topic);
  });
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export function handlePubrel(conn: MqttConnection, p: IPubrelPacket): void {
  const id = p.messageId ?? 0;
  const known = conn.incomingQos2?.delete(id) === true;
  if (known) conn.broker.sessions.saveSession(conn);
  conn.send({ cmd: 'pubcomp', messageId: id, reasonCode: known ? 0 : RC.PACKET_ID_NOT_FOUND });
}

export function handleSubscribe(conn: MqttConnection, p: ISubscribePacket): void {
  const b = conn.broker;
  const o = b.options;
  const v5 = conn.level === 5;
  if ((p.messageId ?? 0) === 0) throw new MqttClose(RC.PROTOCOL_ERROR, 'SUBSCRIBE with packet id 0');
  if (p.subscriptions.length > o.maxFiltersPerSubscribe)
    throw new MqttClose(RC.QUOTA_EXCEEDED, `more than ${o.maxFiltersPerSubscribe} filters in one SUBSCRIBE`);
  if (userPropertyCount(p.properties) > o.maxUserProperties)
    throw new MqttClose(RC.IMPLEMENTATION_SPECIFIC, `more than ${o.maxUserProperties} user properties`);
  const subId = p.properties?.subscriptionIdentifier;
  if (subId !== undefined && (typeof subId !== 'number' || subId === 0))
    throw new MqttClose(RC.PROTOCOL_ERROR, 'subscription identifier 0');
  const granted: number[] = [];
  const retainedFor: [StoredSubscription, boolean][] = [];
  let changed = false;
  for (const s of p.subscriptions) {
    const parsed = parseFilter(s.topic, o.maxChannelNameLength);
    if (typeof parsed === 'string') {
      b.log.debug({ client: conn.clientId, filter: s.topic, problem: parsed }, 'MQTT filter refused');
      granted.push(v5 ? RC.TOPIC_FILTER_INVALID : SUBACK_FAILURE);
      continue;
    }
    if (parsed.group !== undefined && s.nl)
      throw new MqttClose(RC.PROTOCOL_ERROR, 'no local on a shared subscription');
    if (conn.identity && b.policy.authorizeFilter(conn.identity, parsed.filter)) {
      b.log.debug({ client: conn.clientId, filter: s.topic }, 'MQTT subscribe refused');
      granted.push(v5 ? RC.NOT_AUTHORIZED : SUBACK_FAILURE);
      continue;
    }
    const isNew = conn.subscriptions?.has(s.topic) !== true;
    if (isNew && (conn.subscriptions?.size ?? 0) >= o.maxSubscriptions) {
      granted.push(v5 ? RC.QUOTA_EXCEEDED : SUBACK_FAILURE);
      continue;
    }
    const qos = Math.min(s.qos, 2) as 0 | 1 | 2;
    const sub: StoredSubscription = { filter: parsed.filter, qos };
    if (parsed.group !== undefined) sub.group = parsed.group;
    if (v5) {
      if (s.nl) sub.noLocal = true;
      if (s.rap) sub.retainAsPublished = true;
      if (s.rh) sub.retainHandling = s.rh as 1 | 2;
      if (subId !== undefined) sub.id = subId;
    }
    b.addSubscription(conn, s.topic, sub);
    changed = true;
    granted.push(qos);
    if (parsed.group === undefined) retainedFor.push([sub, isNew]);
  }
  conn.send({ cmd: 'suback', messageId: p.messageId, granted, reasonCode: 0 } as never);
  if (changed) b.sessions.saveSession(conn);
  for (const [sub, isNew] of retainedFor) {
    const rh = sub.retainHandling ?? 0;
    if (rh === 2 || (rh === 1 && !isNew)) continue;
    b.sendRetained(conn, sub);
  }
}

export function handleUnsubscribe(conn: MqttConnection, p: IUnsubscribePacket): void {
  const b = conn.broker;
  if ((p.messageId ?? 0) === 0) throw new MqttClose(RC.PROTOCOL_ERROR, 'UNSUBSCRIBE with packet id 0');
  if (p.unsubscriptions.length > b.options.maxFiltersPerSubscribe)
    throw new MqttClose(
      RC.QUOTA_EXCEEDED,
      `more than ${b.options.maxFiltersPerSubscribe} filters in one UNSUBSCRIBE`,
    );
  const reasons = p.unsubscriptions.map((raw) =>
    b.removeSubscription(conn, raw) ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED,
  );
  if (conn.level === 5)
    conn.send({
      cmd: 'unsuback',
      messageId: p.messageId,
      reasonCode: 0,
      properties: {},
      granted: reasons,
    } as never);
  else conn.send({ cmd: 'unsuback', messageId: p.messageId } as never);
  b.sessions.saveSession(conn);
}
