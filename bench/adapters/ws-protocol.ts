// Scaffold for the Centrifugo-compatible WebSocket protocol door (/connection/websocket)
// TODO when merged: connect with {"connect":{}} then {"subscribe":{"channel":...}}, wait for the
// subscribe reply; publish with {"publish":{"channel","data":payload}} (or the server API);
// onPayload(push.pub.data) for every push on the channel.
// Set maxSubscribers where a door cannot hold the full counts (long polling: 1000).
import { notYet } from './types.js';

export default notYet('ws-protocol');
