// The WebSocket channel protocol with a backend publisher: the subscribers are the `ws-protocol`
// door's clients, the publications come through the server API (POST /api/publish), as an
// application's backend sends them. Fan-out rows only: its idle connections are `ws-protocol`'s.
import { apiPublisher } from '../lib/api-publisher.js';
import type { DoorAdapter } from './types.js';
import wsProtocol from './ws-protocol.js';

const wsProtocolApi: DoorAdapter = {
  name: 'ws-protocol-api',
  available: true,
  idle: false,
  subscribe: (opts) => wsProtocol.subscribe(opts),
  publisher: (opts) => apiPublisher(opts),
};

export default wsProtocolApi;
