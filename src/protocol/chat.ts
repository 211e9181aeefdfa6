// The seed's /chat and /echo wire texts. Pure: no sockets.
import type { Publication } from '../model/index.js';
import { toBytes, toText } from './payload.js';
import { binaryFrame, OPCODE_TEXT, prefixedFrame, textFrame } from './ws-frame.js';

export const WELCOME = 'Welcome to broadcast chat!';

export const echoText = (text: string) => `Echo: ${text}`;

const ECHO_PREFIX = Buffer.from('Echo: ');

/** The /echo answer to a text message as a ready WebSocket frame, from the message's UTF-8 bytes. */
export const echoFrame = (utf8: Uint8Array): Buffer => prefixedFrame(OPCODE_TEXT, ECHO_PREFIX, utf8);

export interface ChatFrame {
  /** The complete WebSocket frame, written as-is to every /chat subscriber. */
  wire: Buffer;
  binary: boolean;
}

/** A publication on channel `chat` as the frame /chat clients receive, built once for all of them. */
export function chatFrame(pub: Publication): ChatFrame {
  if (pub.binary) return { wire: binaryFrame(toBytes(pub)), binary: true };
  return { wire: textFrame(`Broadcast: ${toText(pub.data)}`), binary: false };
}
