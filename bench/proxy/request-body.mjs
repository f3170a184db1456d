// The one request every system under test receives: a ~1 KB chat completion with temperature 0,
// so Switchyard's default policy caches it (cache-hit rows) and the same bytes go to every peer.
const system =
  'You are a careful research assistant. Answer in three short bullet points, cite no sources, ' +
  'and keep every bullet under twenty words. If the question is ambiguous, say so briefly.';
const user =
  'Summarize the main trade-offs between running a cache in process memory and in a shared ' +
  'Redis server for an HTTP proxy that sits in front of a large language model API. Consider ' +
  'latency on a hit, the hit ratio across several replicas, memory limits, what happens when ' +
  'Redis is down, invalidation, and how a per-tenant key protects one customer from reading ' +
  "another customer's cached answers. Mention what you would measure before choosing. Also " +
  'note how streaming responses complicate caching and how to replay a stored stream faithfully, ' +
  'and what a sensible lifetime for an entry is when the underlying model is updated by its vendor.';

/** @param {boolean} stream */
export function requestBody(stream) {
  const body = {
    model: 'gpt-4o',
    temperature: 0,
    max_tokens: 256,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
  };
  if (stream) body.stream = true;
  return Buffer.from(JSON.stringify(body));
}
