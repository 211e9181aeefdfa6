// `POST /api` names its method in the body. A method that is not a string was turned into text
// for the error message, and JSON like {"toString": 1} cannot be: the request failed with 500
// internal server error. Found by the fuzz suite; now it is 404 method not found like any other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { get } from './helpers/http.js';

describe('POST /api with a method that is not a string', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  for (const method of [[{ toString: 1 }], { toString: 1 }, { valueOf: {} }, 42, null]) {
    test(`method ${JSON.stringify(method)} is 404 method not found`, async () => {
      const res = await get(`${server.http}/api`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method, params: {} }),
      });
      assert.equal(res.status, 404, res.text);
      assert.deepEqual(res.json, { error: { code: 104, message: 'method not found' } });
    });
  }
});
