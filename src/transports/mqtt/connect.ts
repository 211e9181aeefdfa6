// CONNECT: who the client is, which session it gets, and the CONNACK that says so. Everything a
// CONNECT can get wrong is refused with a CONNACK reason (v5) or return code (3.1/3.1.1) before the
// connection closes; nothing is claimed in the store before the client is known.
import { randomBytes } from 'node:crypto';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { StoredWill } from '../../model/mqtt-store.js';
import type { MqttConnection } from './connection.js';
import { MqttClose, RC, v4ConnackCode } from './reason-codes.js';
import { topicProblem } from './topics.js';
import { toMessageProps, userPropertyCount } from './wire.js';

/** Longest client id accepted (the store keys sessions by it). */
const MAX_CLIENT_ID = 256;

export async function handleConnect(conn: MqttConnection, p: IConnectPacket): Promise<void> {
  const b = conn.broker;
  const o = b.options;
  const v5 = p.protocolVersion === 5;
  conn.level = (p.protocolVersion ?? 4) as 3 | 4 | 5;
  if ((p.protocolId === 'MQIsdp') !== (p.protocolVersion === 3))
    refuse(conn, RC.UNSUPPORTED_VERSION, `protocol name ${p.protocolId} with level ${p.protocolVersion}`);
  // 3.1/3.1.1 allow no password without a user name (MQTT-3.1.2-22); MQTT 5 does.
  if (!v5 && p.password !== undefined && p.username === undefined)
    refuse(conn, RC.PROTOCOL_ERROR, 'password flag set without the user name flag');
  const props = p.properties;
  if (v5 && (props?.authenticationMethod !== undefined || props?.authenticationData !== undefined))
    refuse(conn, RC.BAD_AUTH_METHOD, 'enhanced authentication is not supported');
  if (
    userPropertyCount(props) > o.maxUserProperties ||
    userPropertyCount(p.will?.properties) > o.maxUserProperties
  )
    refuse(conn, RC.IMPLEMENTATION_SPECIFIC, `more than ${o.maxUserProperties} user properties`);
  if (v5 && (props?.receiveMaximum === 0 || props?.maximumPacketSize === 0))
    refuse(conn, RC.PROTOCOL_ERROR, 'receive maximum or maximum packet size of 0');

  // Client id: an empty one gets one of ours, but only for a session nobody must name again.
  let clientId = p.clientId ?? '';
  let assigned: string | undefined;
  if (clientId === '') {
    if (!p.clean && !v5)
      refuse(conn, RC.CLIENT_ID_INVALID, 'an empty client id needs a clean session (MQTT-3.1.3-8)');
    clientId = `herald-${randomBytes(9).toString('base64url')}`;
    assigned = clientId;
  }
  if (Buffer.byteLength(clientId) > MAX_CLIENT_ID) refuse(conn, RC.CLIENT_ID_INVALID, 'client id too long');

  // Keep-alive: the client's, or our cap (told to v5 clients as Server Keep Alive).
  let keepAlive = p.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (v5 && o.maxKeepAlive > 0 && (keepAlive === 0 || keepAlive > o.maxKeepAlive)) {
    keepAlive = o.maxKeepAlive;
    serverKeepAlive = keepAlive;
  }
  conn.keepAliveMs = keepAlive * 1500;

  // Session lifetime: 3.1.1 clean session 0 is "forever", v5 says how long.
  conn.expiryInterval = v5 ? (props?.sessionExpiryInterval ?? 0) : p.clean ? 0 : 0xffffffff;
  if (v5) {
    if (props?.receiveMaximum) conn.clientReceiveMaximum = props.receiveMaximum;
    if (props?.maximumPacketSize) conn.clientMaxPacket = props.maximumPacketSize;
    conn.clientTopicAliasMax = Math.min(props?.topicAliasMaximum ?? 0, o.topicAliasMaximum);
  }

  let will: StoredWill | undefined;
  if (p.will) {
    const w = p.will;
    const topic = typeof w.topic === 'string' ? w.topic : Buffer.from(w.topic).toString('utf8');
    const problem = topicProblem(topic, o.maxChannelNameLength);
    if (problem || topic.startsWith('$'))
      refuse(conn, RC.TOPIC_NAME_INVALID, `will topic: ${problem ?? 'reserved'}`);
    const payload = Buffer.from(w.payload ?? Buffer.alloc(0));
    if (payload.length > o.maxPayload)
      refuse(conn, RC.PACKET_TOO_LARGE, 'will payload exceeds mqttMaxPayload');
    will = { topic, payload, qos: (w.qos ?? 0) as 0 | 1 | 2, retain: w.retain === true, origin: clientId };
    const wprops = toMessageProps(w.properties, Date.now());
    if (wprops) {
      // The expiry counts from publication, not from CONNECT: kept as an interval until then.
      delete wprops.expiresAt;
      will.props = wprops;
    }
    conn.willExpiry = w.properties?.messageExpiryInterval;
    conn.willDelay = v5 ? (w.properties?.willDelayInterval ?? 0) : 0;
  }

  const auth = await b.auth.check(p.username, p.password === undefined ? undefined : Buffer.from(p.password));
  if (!auth.ok)
    refuse(conn, auth.returnCode === 4 ? RC.BAD_USER_OR_PASSWORD : RC.NOT_AUTHORIZED, auth.reason);
  const identity = auth.ok ? auth.identity : undefined;
  if (!identity) return;
  conn.identity = identity;
  conn.clientId = clientId;
  if (will && b.policy.authorize(identity, 'publish', will.topic))
    refuse(conn, RC.NOT_AUTHORIZED, `may not publish the will topic ${will.topic}`);
  if (conn.state !== 'connecting') return;

  // The node's first MQTT client makes the hub deliver publications to the broker: in place before
  // CONNACK, or the client is told the server is unavailable rather than left deaf.
  try {
    await b.deliveries.acquire(conn);
  } catch (err) {
    refuse(conn, RC.SERVER_UNAVAILABLE, `publications cannot be delivered: ${(err as Error).message}`);
  }
  if (conn.state !== 'connecting') return;

  const cleanStart = p.clean !== false;
  let claim: Awaited<ReturnType<typeof b.sessions.claim>>;
  try {
    claim = await b.sessions.claim(conn, cleanStart);
  } catch (err) {
    refuse(conn, RC.SERVER_UNAVAILABLE, `the session store is unavailable: ${(err as Error).message}`);
  }
  if (!claim.ok) refuse(conn, RC.NOT_AUTHORIZED, `client id ${clientId} belongs to another user`);
  if (!claim.ok) return;
  // Closed while the store answered: the session it now holds goes back at once.
  if (conn.state !== 'connecting') return b.sessions.abandon(conn);
  const stored = cleanStart ? undefined : claim.session;
  if (stored) {
    conn.incomingQos2 = stored.incomingQos2.length > 0 ? new Set(stored.incomingQos2) : undefined;
    for (const sub of stored.subscriptions) b.restoreSubscription(conn, sub);
  }
  if (will) {
    conn.will = will;
    await b.store.setWill(clientId, conn.id, will);
  }
  if (conn.state !== 'connecting') return b.sessions.abandon(conn);

  const connack: IConnackPacket = {
    cmd: 'connack',
    sessionPresent: stored !== undefined,
    reasonCode: 0,
    returnCode: 0,
  };
  if (v5) {
    connack.properties = {
      receiveMaximum: o.receiveMaximum,
      maximumPacketSize: o.maxRemainingLength + 5,
      topicAliasMaximum: o.topicAliasMaximum,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    };
    if (assigned) connack.properties.assignedClientIdentifier = assigned;
    if (serverKeepAlive !== undefined) connack.properties.serverKeepAlive = serverKeepAlive;
  }
  conn.send(connack);
  b.connected(conn);
  // What the client sent behind CONNECT comes before anything that arrives from now on.
  conn.drainBacklog();
  await b.sessions.resume(conn, stored !== undefined);
}

/** Answers CONNACK with the reason, then the connection is closed by the thrown MqttClose. */
function refuse(conn: MqttConnection, rc: number, why: string): never {
  if (conn.level === 5) conn.send({ cmd: 'connack', sessionPresent: false, reasonCode: rc });
  else if (rc !== RC.TOPIC_NAME_INVALID && rc !== RC.PROTOCOL_ERROR && rc !== RC.IMPLEMENTATION_SPECIFIC)
    conn.send({ cmd: 'connack', sessionPresent: false, returnCode: v4ConnackCode(rc) });
  throw new MqttClose(rc, why);
}
