// What every door gets from the composition root, and the one shape a door has.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ClientHub } from '../auth/client-hub.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { Config } from '../config.js';
import type { Hub } from '../hub/hub.js';
import type { ConnectionLimits } from '../limits/connections.js';
import type { Logger } from '../model/index.js';
import type { HeraldStats } from './door-stats.js';
import type { UpgradeRouter } from './upgrade.js';

export interface DoorContext {
  readonly app: FastifyInstance;
  readonly hub: Hub;
  /** The hub for what clients ask: subscribe, publish, history, presence, each checked by policy. */
  readonly clients: ClientHub;
  /** Verifies client JWTs; undefined when no token key is configured. */
  readonly tokens: TokenVerifier | undefined;
  readonly config: Config;
  readonly log: Logger;
  readonly upgrades: UpgradeRouter;
  /** The one gate for new connections, shared by every door (totals and per address). */
  readonly limits: ConnectionLimits;
  /** Per-door counters (plain integers; /metrics reads them on scrape). */
  readonly stats: HeraldStats;
  /** Runs on graceful shutdown, after the listener stopped accepting and before the engine closes. */
  onShutdown(fn: () => Promise<void> | void): void;
  /** A door that listens on its own port (MQTT over TCP) reports where, for Herald.listenerAddress. */
  listening(name: string, address: AddressInfo): void;
}

export interface Door {
  readonly name: string;
  register(ctx: DoorContext): void | Promise<void>;
}
