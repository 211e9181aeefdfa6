// One load process: holds a share of the benchmark's client connections (a process may hold 20,000
// descriptors, so the runner spreads connections over several) and obeys the runner over IPC.
import { WebSocket } from 'ws';
import {
  type Connection,
  type DoorAdapter,
  makePayload,
  type PublisherConnection,
  parsePayload,
  wallNow,
} from './adapters/types.js';
import { Histogram } from './lib/hist.js';
import { httpRun } from './lib/http-load.js';

export type Command =
  | {
      op: 'subscribe';
      adapter: string;
      base: string;
      channel: string;
      count: number;
      concurrency: number;
      /** Many-channels mode: connection k of this process subscribes to `<channel>-<first + k>`. */
      first?: number;
      spread?: boolean;
    }
  | { op: 'publisher'; adapter: string; base: string; channel: string }
  | { op: 'step'; step: number }
  | {
      op: 'publish';
      step: number;
      rate: number;
      durationMs: number;
      size: number;
      /** Many-channels mode: publications go round-robin to `<channel>-0` ... `<channel>-<n-1>`. */
      channels?: number;
    }
  | { op: 'collect' }
  | { op: 'echo-open'; base: string; count: number; concurrency: number }
  | { op: 'echo-run'; durationMs: number; size: number }
  | { op: 'http-run'; base: string; path: string; body: string; connections: number; durationMs: number }
  | { op: 'close' };

const index = Number(process.env.BENCH_WORKER_INDEX ?? 0);
let addressSeq = index;
/** Spreads connections over 127.0.0.2 ... 127.0.0.9 so no single source address runs out of ports. */
const nextAddress = () => `127.0.0.${2 + (addressSeq++ % 8)}`;

const connections: Connection[] = [];
let publisher: PublisherConnection | undefined;
let publishChannel = '';
const echoSockets: WebSocket[] = [];
let step = -1;
let hist = new Histogram();
let received = 0;
let stale = 0;
let closedUnexpectedly = 0;
let closing = false;

const adapters = new Map<string, DoorAdapter>();
async function adapter(name: string): Promise<DoorAdapter> {
  let a = adapters.get(name);
  if (!a) {
    a = ((await import(`./adapters/${name}.ts`)) as { default: DoorAdapter }).default;
    adapters.set(name, a);
  }
  return a;
}

function onPayload(payload: string): void {
  const stamp = parsePayload(payload);
  if (!stamp || stamp.step !== step) {
    stale++; // a straggler from an earlier step: counted so the runner waits for the backlog to clear
    return;
  }
  received++;
  hist.add(wallNow() - stamp.sentAt);
}

/** Runs `open` `count` times with at most `concurrency` in flight; returns how many succeeded. */
async function openMany(count: number, concurrency: number, open: () => Promise<void>) {
  let started = 0;
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const lane = async () => {
    while (started < count) {
      started++;
      try {
        await open();
        opened++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { opened, failed, firstError, elapsedMs: performance.now() - t0 };
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'subscribe': {
      const a = await adapter(cmd.adapter);
      let k = cmd.first ?? 0;
      return openMany(cmd.count, cmd.concurrency, async () => {
        const c = await a.subscribe({
          base: cmd.base,
          channel: cmd.spread ? `${cmd.channel}:${k++}` : cmd.channel,
          localAddress: nextAddress(),
          onPayload,
          onClose: () => {
            if (!closing) closedUnexpectedly++;
          },
        });
        connections.push(c);
      });
    }
    case 'publisher': {
      const a = await adapter(cmd.adapter);
      publisher = await a.publisher({ base: cmd.base, channel: cmd.channel, localAddress: nextAddress() });
      publishChannel = cmd.channel;
      return { ok: true };
    }
    case 'step':
      step = cmd.step;
      hist = new Histogram();
      received = 0;
      return { ok: true };
    case 'publish':
      return publishAt(cmd.step, cmd.rate, cmd.durationMs, cmd.size, cmd.channels ?? 0);
    case 'collect':
      return { received, stale, counts: hist.counts, closedUnexpectedly, open: connections.length };
    case 'echo-open':
      return openMany(cmd.count, cmd.concurrency, () => openEcho(cmd.base));
    case 'echo-run':
      return echoRun(cmd.durationMs, cmd.size);
    case 'http-run':
      return httpRun({ ...cmd, localAddress: nextAddress() });
    case 'close': {
      closing = true;
      for (const c of connections) c.close();
      connections.length = 0;
      publisher?.close();
      publisher = undefined;
      for (const ws of echoSockets) ws.terminate();
      echoSockets.length = 0;
      closing = false;
      closedUnexpectedly = 0;
      return { ok: true };
    }
  }
}

/** Publishes `rate` messages per second for `durationMs`, paced on a 2 ms timer. */
function publishAt(
  stepNo: number,
  rate: number,
  durationMs: number,
  size: number,
  channels: number,
): Promise<unknown> {
  const p = publisher;
  if (!p) return Promise.reject(new Error('no publisher connection'));
  const names = Array.from({ length: channels }, (_, i) => `${publishChannel}:${i}`);
  return new Promise((resolve) => {
    const t0 = performance.now();
    let sent = 0;
    const tick = () => {
      const elapsed = Math.min(performance.now() - t0, durationMs);
      const due = Math.floor((rate * elapsed) / 1000);
      while (sent < due) {
        if (channels > 0) p.publish(makePayload(stepNo, wallNow(), size), names[sent % channels]);
        else p.publish(makePayload(stepNo, wallNow(), size));
        sent++;
      }
      if (elapsed >= durationMs) resolve({ sent, elapsedMs: performance.now() - t0 });
      else setTimeout(tick, 2);
    };
    tick();
  });
}

// ---- echo: a closed loop, each connection sends the next message when the answer arrives --------

interface EchoState {
  sentAt: number;
  running: boolean;
  payload: string;
}
const echoState = new WeakMap<WebSocket, EchoState>();
let echoHist = new Histogram();
let roundTrips = 0;

function openEcho(base: string): Promise<void> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/echo`, {
    localAddress: nextAddress(),
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      echoSockets.push(ws);
      const state: EchoState = { sentAt: 0, running: false, payload: '' };
      echoState.set(ws, state);
      ws.on('message', () => {
        if (!state.running) return;
        echoHist.add(performance.now() - state.sentAt);
        roundTrips++;
        state.sentAt = performance.now();
        ws.send(state.payload);
      });
      resolve();
    });
    ws.once('error', reject);
  });
}

function echoRun(durationMs: number, size: number): Promise<unknown> {
  echoHist = new Histogram();
  roundTrips = 0;
  const payload = 'x'.repeat(size);
  for (const ws of echoSockets) {
    const s = echoState.get(ws)!;
    s.running = true;
    s.payload = payload;
    s.sentAt = performance.now();
    ws.send(payload);
  }
  return new Promise((resolve) => {
    setTimeout(() => {
      for (const ws of echoSockets) echoState.get(ws)!.running = false;
      resolve({ roundTrips, counts: echoHist.counts });
    }, durationMs);
  });
}

process.on('message', (msg: { id: number; cmd: Command }) => {
  handle(msg.cmd).then(
    (result) => process.send!({ id: msg.id, result }),
    (err: Error) => process.send!({ id: msg.id, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
