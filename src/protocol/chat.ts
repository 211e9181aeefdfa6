// The seed's /chat and /echo wire texts. Pure: no sockets.
import type { Publication } from '../hub/types.js';
import { toBytes, toText } from './payload.js';

export const WELCOME = 'Welcome to broadcast chat!';

export const echoText = (text: string) => `Echo: ${text}`;

export interface ChatFrame {
  /** Text frame payload, or the raw bytes of a binary frame. */
  payload: string | Buffer;
  binary: boolean;
}

/** A publication on channel `chat` as the frame /chat clients receive. */
export function chatFrame(pub: Publication): ChatFrame {
  if (pub.binary) return { payload: toBytes(pub), binary: true };
  return { payload: Buffer.from(`Broadcast: ${toText(pub.data)}`), binary: false };
}
