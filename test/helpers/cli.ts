// Runs a `herald` command as a person does at a terminal: its own process, its exit code, its
// output, optionally something typed or piped on stdin and a Ctrl-C once the output says enough.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Sends SIGINT (Ctrl-C) once this is true of stdout. */
  until?: (stdout: string) => boolean;
  /** Written to stdin, which is then closed (end of input). */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function herald(args: string[], opts: RunOptions = {}): Promise<Run> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...opts.env },
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
    if (opts.until?.(stdout)) child.kill('SIGINT');
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  child.stdin?.end(opts.input ?? '');
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
