// The backend's commands to a user's connections (see hub/user-control.ts), applied to the
// channel-protocol sessions this node holds, whatever transport each one runs on.

import type { UserCommand } from '../../hub/user-control.js';
import type { Logger } from '../../model/index.js';
import type { ClientSession } from './session.js';

export function applyUserCommand(sessions: Iterable<ClientSession>, cmd: UserCommand, log: Logger): void {
  for (const s of [...sessions]) {
    if (!s.isConnected || s.info.user !== cmd.user) continue;
    if (cmd.client !== undefined && cmd.client !== '' && s.id !== cmd.client) continue;
    const failed = (err: unknown) =>
      log.warn({ client: s.id, op: cmd.op, err: (err as Error).message }, 'a server API command failed');
    switch (cmd.op) {
      case 'subscribe':
        s.serverSubscribe(cmd.channel).catch(failed);
        break;
      case 'unsubscribe':
        s.serverUnsubscribe(cmd.channel).catch(failed);
        break;
      case 'disconnect':
        if (cmd.except?.includes(s.id)) break;
        s.disconnect({ code: cmd.code, reason: cmd.reason, reconnect: cmd.reconnect });
        break;
      case 'refresh':
        s.serverRefresh(cmd.expired, cmd.expiresAt);
        break;
    }
  }
}
