// Scaffold for the long-polling door (/poll), 1,000 subscribers at most
// TODO when merged: loop GET /poll?channel=...&since=<cursor> with a keep-alive agent bound to
// localAddress, onPayload(pub.data) for each publication in the answer, then poll again from the
// new cursor; publish through POST /api/publish (server API door).
// Set maxSubscribers where a door cannot hold the full counts (long polling: 1000).
import { notYet } from './types.js';

export default notYet('poll');
