// Scaffold for the SSE door (/sse)
// TODO when merged: GET /sse?channel=... with an HTTP agent bound to localAddress, parse 'data:'
// lines, onPayload(data) per event; publish through POST /api/publish (server API door).
// Set maxSubscribers where a door cannot hold the full counts (long polling: 1000).
import { notYet } from './types.js';

export default notYet('sse');
