import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { checkWsInternals, WS_VERSION_CHECKED } from '../../src/transports/ws/ws-internals.js';

type Internal = WebSocket & { _socket: unknown; _sender: { _state: number } | null };

describe('ws internals', () => {
  test('the installed ws has the shape the frame writer relies on', async () => {
    await checkWsInternals();
  });

  test('package.json pins exactly the version that was checked', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.dependencies.ws, WS_VERSION_CHECKED);
    const installed = JSON.parse(
      readFileSync(new URL('../../node_modules/ws/package.json', import.meta.url), 'utf8'),
    );
    assert.equal(installed.version, WS_VERSION_CHECKED);
  });

  test('a ws whose socket field moved fails loudly, saying what changed and what to do', async () => {
    class Renamed extends WebSocket {
      setSocket(...args: unknown[]): void {
        (WebSocket.prototype as unknown as { setSocket(...a: unknown[]): void }).setSocket.apply(this, args);
        const self = this as unknown as Internal & { _sock: unknown };
        self._sock = self._socket;
        self._socket = undefined;
      }
    }
    await assert.rejects(checkWsInternals(Renamed), (err: Error) => {
      assert.match(err.message, /^ws \d+\.\d+\.\d+ does not have the internals Herald writes frames through/);
      assert.match(err.message, /_socket is not the connection stream/);
      assert.match(err.message, new RegExp(`checked with ws ${WS_VERSION_CHECKED.replace(/\./g, '\\.')}`));
      assert.match(err.message, /ws-internals\.ts/);
      return true;
    });
  });

  test('a ws whose sender no longer says when it queues fails too', async () => {
    class NoState extends WebSocket {
      setSocket(...args: unknown[]): void {
        (WebSocket.prototype as unknown as { setSocket(...a: unknown[]): void }).setSocket.apply(this, args);
        const sender = (this as unknown as Internal)._sender as unknown as Record<string, unknown>;
        Object.defineProperty(sender, '_state', { get: () => 0, set: () => {} });
      }
    }
    await assert.rejects(checkWsInternals(NoState), /_sender\._state stays 0 while a Blob is read/);
  });
});
