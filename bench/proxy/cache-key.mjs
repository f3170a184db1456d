// Cost of the cache key on the benchmark's request body, beside the cheapest possible hash of
// the same body (JSON.stringify + SHA-256, which is not canonical and so is only a floor).
//   node bench/proxy/cache-key.mjs [--quick]
import { createHash } from 'node:crypto';
import { cacheKey } from '../../packages/sidecar/dist/cache/cache-key.js';
import { requestBody } from './request-body.mjs';

const quick = process.argv.includes('--quick');
const body = JSON.parse(requestBody(false).toString());
const input = {
  tenant: 'Bearer sk-bench',
  endpoint: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  body,
};
// Keys in an order the canonical form has to sort (clients send role before content).
const shuffled = {
  ...input,
  body: { messages: body.messages, temperature: 0, model: 'x', max_tokens: 256 },
};

function measure(name, fn) {
  const n = quick ? 20_000 : 300_000;
  for (let i = 0; i < n / 10; i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  return [name, us];
}

const rows = [
  measure('JSON.stringify + sha256 (floor)', () =>
    createHash('sha256').update(JSON.stringify(body)).digest('hex'),
  ),
  measure('cacheKey', () => cacheKey(input)),
  measure('cacheKey, unsorted keys', () => cacheKey(shuffled)),
];
const floor = rows[0][1];
console.log(`body ${requestBody(false).length} bytes${quick ? ' (--quick)' : ''}`);
for (const [name, us] of rows)
  console.log(`${name.padEnd(34)} ${us.toFixed(2).padStart(6)} us  ${(us / floor).toFixed(2)}x`);
