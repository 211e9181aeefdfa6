// What every scenario is given, and the shape of what it returns.
import type { RunningServer, ServerKind } from '../lib/servers.js';

export interface BenchContext {
  quick: boolean;
  /** Core the load processes run on (undefined without taskset). */
  generatorCore: number | undefined;
  serverCore: number;
  /** Extra node flags for the Herald server (e.g. --cpu-prof). */
  heraldFlags: string[];
  /** Idle rows read memory again about 5 and 15 s after the last connection opened (`--idle-later`). */
  idleLater?: boolean;
  log(line: string): void;
}

export interface StepReport {
  /** Offered deliveries per second (publications/s x subscribers), or round trips for echo. */
  offered: number;
  delivered: number;
  p50: number;
  p99: number;
  /** CPU share (1 = one core) of the server and of all load processes together. */
  serverCpu: number;
  generatorCpu: number;
  /** Server CPU microseconds per delivery: less sensitive to a busy machine than throughput. */
  serverCpuUsPerDelivery?: number;
  ok: boolean;
}

export type StartServer = (kind: ServerKind) => Promise<RunningServer>;
