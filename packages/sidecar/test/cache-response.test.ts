import { describe, expect, it } from 'vitest';
import {
  type CachedResponse,
  deserializeCachedResponse,
  serializeCachedResponse,
} from '../src/cache/cached-response.js';

const stream: CachedResponse = {
  status: 200,
  body: 'data: {"choices":[{"delta":{"content":"a\\nb"}}]}\n\ndata: [DONE]\n\n',
  stream: true,
  model: 'gpt-4o-mini',
  storedAt: 1_700_000_000_000,
  inputTokens: 12,
  outputTokens: 3,
};

describe('cached response encoding', () => {
  it('round-trips every field, with the body byte for byte', () => {
    const decoded = deserializeCachedResponse(serializeCachedResponse(stream, 1_700_000_060_000));
    expect(decoded).toEqual({ entry: stream, expiresAt: 1_700_000_060_000 });
    const plain: CachedResponse = {
      status: 200,
      body: '{"x":"\\n"}',
      stream: false,
      model: 'm',
      storedAt: 5,
    };
    expect(deserializeCachedResponse(serializeCachedResponse(plain))).toEqual({ entry: plain });
  });

  it('reads anything else as a miss', () => {
    const good = serializeCachedResponse(stream);
    const bad = [
      null,
      undefined,
      '',
      'garbage',
      '{"status":200}',
      good.replace('sy1', 'sy0'),
      good.slice(0, 10),
      'sy1 {"s":200,"t":0,"m":"m"}\n{}', // no storedAt
      'sy1 {"s":42,"t":0,"m":"m","a":1}\n{}', // not an HTTP status
      'sy1 {"s":200,"t":2,"m":"m","a":1}\n{}',
      'sy1 {"s":200,"t":0,"m":"m","a":1,"i":-1}\n{}',
      'sy1 [1]\n{}',
      'sy1 {not json\n{}',
    ];
    for (const raw of bad) expect(deserializeCachedResponse(raw), String(raw)).toBeUndefined();
  });
});
