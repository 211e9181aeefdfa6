// Runs `herald serve` as a child process, the way a user does, and finds the port it listens on.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OPEN_NAMESPACE } from '../../src/config.js';
import { track } from './children.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface HeraldProcess {
  child: ChildProcess;
  port: number;
  http: string;
  ws: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Channels open to every client (see TEST_OPEN_POLICY in herald.ts); a test's env or flags win. */
export const OPEN_POLICY_ENV = {
  HERALD_DEFAULT_NAMESPACE: JSON.stringify({ ...OPEN_NAMESPACE, presence_show_info: true }),
};

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return track(
    spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, HERALD_LOG_PRETTY: 'false', ...OPEN_POLICY_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** Starts `herald serve` on a free port and resolves once it logs that it listens. */
export function startHeraldProcess(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<HeraldProcess> {
  const child = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', ...args], env);
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`herald did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(/"address":"http(s?):\/\/127\.0\.0\.1:(\d+)"[^\n]*Herald is listening/);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[2]);
        resolve({
          child,
          port,
          http: `http${m[1]}://127.0.0.1:${port}`,
          ws: `ws${m[1]}://127.0.0.1:${port}`,
          output: () => out,
          exited,
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`herald exited with ${code} before listening:\n${out}`));
    });
  });
}
