// A publication as web clients (SSE, polling) see it, and client info as the server API shows it.
// Field names follow Centrifugo (snake_case) so its tooling reads them unchanged. Pure.
import type { ClientInfo, MessageProperties, Publication } from '../model/index.js';

export interface ClientInfoJson {
  client: string;
  user: string;
  conn_info?: unknown;
  chan_info?: unknown;
}

export function clientInfoJson(info: ClientInfo): ClientInfoJson {
  const out: ClientInfoJson = { client: info.client, user: info.user };
  if (info.connInfo !== undefined) out.conn_info = info.connInfo;
  if (info.chanInfo !== undefined) out.chan_info = info.chanInfo;
  return out;
}

export interface PublicationJson {
  channel: string;
  offset: number;
  epoch: string;
  data: unknown;
  info?: ClientInfoJson;
  /** MQTT 5 message properties (user properties, content type, ...) when the publisher set any. */
  props?: MessageProperties;
  time: number;
}

export function publicationJson(pub: Publication): PublicationJson {
  const out: PublicationJson = {
    channel: pub.channel,
    offset: pub.offset,
    epoch: pub.epoch,
    data: pub.data,
    time: pub.time,
  };
  if (pub.info !== undefined) out.info = clientInfoJson(pub.info);
  if (pub.props !== undefined) out.props = pub.props;
  return out;
}

/** The JSON text of a publication: computed once per publication and shared by every receiver. */
export function publicationText(pub: Publication): string {
  return JSON.stringify(publicationJson(pub));
}
