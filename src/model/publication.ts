// The one way a publication is made from what a publisher asked for and where the engine put it.
// Every engine uses it (the memory engine when it publishes, Redis when it decodes history and the
// bus), so a field cannot be dropped or reinterpreted by one engine only: qos 0 stays 0, a false
// retain stays absent.
import type { Publication, PublishRequest } from './channel.js';

/** The publisher's part of a publication: what an engine stores and carries, besides the position. */
export type PublicationPayload = Pick<
  Publication,
  'data' | 'bytes' | 'binary' | 'info' | 'qos' | 'retain' | 'props'
>;

export function buildPublication(
  channel: string,
  req: PublishRequest | PublicationPayload,
  offset: number,
  epoch: string,
  time: number,
): Publication {
  const pub: Publication = { channel, offset, epoch, data: req.data, time };
  if (req.bytes !== undefined) pub.bytes = req.bytes;
  if (req.binary === true) pub.binary = true;
  if (req.info !== undefined) pub.info = req.info;
  if (req.qos !== undefined) pub.qos = req.qos;
  if (req.retain === true) pub.retain = true;
  if (req.props !== undefined) pub.props = req.props;
  return pub;
}
