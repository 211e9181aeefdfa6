// MQTT 5 reason codes (section 2.4) the broker sends, and the MQTT 3.1/3.1.1 CONNACK return codes
// they map to where an older client can be told anything at all.

export const RC = {
  SUCCESS: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED: 0x80,
  MALFORMED: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC: 0x83,
  UNSUPPORTED_VERSION: 0x84,
  CLIENT_ID_INVALID: 0x85,
  BAD_USER_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTH_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_ID_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
  QOS_NOT_SUPPORTED: 0x9b,
  SHARED_NOT_SUPPORTED: 0x9e,
  WILDCARDS_NOT_SUPPORTED: 0xa2,
} as const;

/** SUBACK failure of MQTT 3.1.1 (3.1 has none: the filter is granted nothing by closing). */
export const SUBACK_FAILURE = 0x80;

/** MQTT 3.1/3.1.1 CONNACK return codes. */
export const V4_CONNACK = {
  ACCEPTED: 0,
  UNACCEPTABLE_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** The 3.1.1 CONNACK code for a v5 refusal. */
export function v4ConnackCode(rc: number): number {
  switch (rc) {
    case RC.SUCCESS:
      return V4_CONNACK.ACCEPTED;
    case RC.UNSUPPORTED_VERSION:
      return V4_CONNACK.UNACCEPTABLE_VERSION;
    case RC.CLIENT_ID_INVALID:
      return V4_CONNACK.IDENTIFIER_REJECTED;
    case RC.BAD_USER_OR_PASSWORD:
      return V4_CONNACK.BAD_USER_OR_PASSWORD;
    case RC.SERVER_UNAVAILABLE:
    case RC.SERVER_SHUTTING_DOWN:
      return V4_CONNACK.SERVER_UNAVAILABLE;
    default:
      return V4_CONNACK.NOT_AUTHORIZED;
  }
}

/** Why the broker closed a connection: the v5 DISCONNECT reason code and a line for the log. */
export class MqttClose extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}
