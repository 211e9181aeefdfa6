// A Herald node as a child process (`node --import tsx src/cli.ts serve ...`), the way a cluster
// runs: tests can SIGKILL it, watch its logs and talk to it over real sockets.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import { OPEN_POLICY_ENV } from './process.js';
import { freePort } from './redis.js';
import { until } from './until.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export class HeraldNode {
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.stdout?.on('data', (d) => {
      this.out += d;
    });
    proc.stderr?.on('data', (d) => {
      this.out += d;
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
  /** Everything the node logged so far (JSON lines). */
  get output(): string {
    return this.out;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Spawns a node; resolves once it listens (unless `waitListening` is false). */
  static async start(
    args: string[],
    opts: { waitListening?: boolean; timeoutMs?: number } = {},
  ): Promise<HeraldNode> {
    const port = await freePort();
    const proc = track(
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'serve',
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--mqtt-port',
          '0',
          '--log-pretty',
          'false',
          ...args,
        ],
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...OPEN_POLICY_ENV, NODE_OPTIONS: '' },
        },
      ),
    );
    const node = new HeraldNode(proc, port);
    if (opts.waitListening !== false) await node.waitForLog(/Herald is listening/, opts.timeoutMs ?? 20_000);
    return node;
  }

  /** Resolves once the log matches `re`; fails if the node exits first or after `ms`. */
  async waitForLog(re: RegExp, ms = 10_000): Promise<void> {
    await until(
      () => {
        if (re.test(this.out)) return true;
        if (!this.alive) throw new Error(`node exited before logging ${re}:\n${this.out}`);
        return false;
      },
      { what: `the node to log ${re}`, timeoutMs: ms, intervalMs: 20, detail: () => `\n${this.out}` },
    );
  }

  /** How many log lines match `re` so far. */
  count(re: RegExp): number {
    return this.out.split('\n').filter((l) => re.test(l)).length;
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(signal);
    await this.exited;
  }
}
