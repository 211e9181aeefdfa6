import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertChannelName, channelNameProblem, matchesFilter } from '../../src/model/index.js';

describe('channel names', () => {
  test('accepts ordinary names, MQTT-style levels and unicode', () => {
    for (const ok of ['chat', 'news:sport', 'sensors/room1/temp', 'a//b', 'café', 'x'.repeat(255)]) {
      assert.equal(channelNameProblem(ok), undefined, ok);
    }
  });

  test('refuses empty, too long, wildcards, control characters and $-reserved names', () => {
    for (const bad of ['', 'x'.repeat(256), 'a/+/b', 'a/#', 'a\nb', 'a\u0000', '$SYS/broker', 42, null]) {
      assert.notEqual(channelNameProblem(bad), undefined, String(bad));
    }
  });

  test('a name checked again is judged again under the limit it is checked with', () => {
    // The last valid name is remembered (a publish is checked twice): only with the same limit.
    const long = 'x'.repeat(100);
    assertChannelName(long, 200);
    assertChannelName(long, 200);
    assert.throws(() => assertChannelName(long, 50), /longer than 50 bytes/);
    assert.throws(() => assertChannelName(long, 50), /longer than 50 bytes/);
    assertChannelName(long);
    assert.throws(() => assertChannelName(`${long}#`), /wildcard/);
    assert.throws(() => assertChannelName(''), /non-empty/);
    assertChannelName('ok');
    assert.throws(() => assertChannelName('ok', 1), /longer than 1 bytes/);
  });

  test('MQTT filter matching', () => {
    assert.equal(matchesFilter('a/+/c', 'a/b/c'), true);
    assert.equal(matchesFilter('a/+/c', 'a/b/d'), false);
    assert.equal(matchesFilter('a/#', 'a'), true);
    assert.equal(matchesFilter('a/#', 'a/b/c'), true);
    assert.equal(matchesFilter('#', 'anything/at/all'), true);
    assert.equal(matchesFilter('#', '$SYS/x'), false);
    assert.equal(matchesFilter('a/b', 'a/b/c'), false);
    assert.equal(matchesFilter('+', 'a'), true);
    assert.equal(matchesFilter('+', 'a/b'), false);
  });
});
