import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord, QualityVerdict } from '../src/learning/llm-call.js';
import { pricesFromTable } from '../src/learning/model-prices.js';
import { createShadowJudge, parseJudgeScore } from '../src/learning/shadow-judge.js';

const call: LlmCallRecord = {
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  agent: 'writer',
  task: 'summary',
  operation: 'chat',
  requestedModel: 'gpt-4o',
  servedModel: 'gpt-4o-mini',
  inputTokens: 10,
  outputTokens: 5,
  startTimeUnixMs: 0,
  durationMs: 1,
  error: false,
  finishReasons: ['stop'],
};

describe('parseJudgeScore', () => {
  it('reads the score from a JSON object, also inside prose, and rejects the rest', () => {
    expect(parseJudgeScore('{"score": 0.75}')).toBe(0.75);
    expect(parseJudgeScore('Sure. {"score":1} done')).toBe(1);
    expect(parseJudgeScore('{"score": 7}')).toBeUndefined();
    expect(parseJudgeScore('score is high')).toBeUndefined();
  });
});

describe('shadow judge against a fake judge server', () => {
  let server: Server;
  let base: string;
  const requests: {
    auth: string | undefined;
    body: { model: string; messages: { content: string }[] };
  }[] = [];
  let reply = '{"score": 0.5}';

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        requests.push({ auth: req.headers.authorization, body: JSON.parse(text) });
        const payload = JSON.stringify({
          choices: [{ message: { role: 'assistant', content: reply } }],
          usage: { prompt_tokens: 1_000_000, completion_tokens: 0 },
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(payload);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('judges a sampled pair, records the verdict, and stops at the spend cap', async () => {
    const verdicts: [LlmCallRecord, QualityVerdict][] = [];
    let now = 1_000;
    let rnd = 0;
    const judge = createShadowJudge({
      baseUrl: base,
      model: 'judge-model',
      apiKey: 'sk-judge',
      sink: { recordCall() {}, recordVerdict: (c, v) => verdicts.push([c, v]) },
      // 1M prompt tokens at $0.6 per million: each judgement costs $0.60.
      prices: pricesFromTable({ 'judge-model': { input: 0.6, output: 0 } }),
      fetch,
      now: () => now,
      random: () => rnd,
      sampleRate: 0.5,
      maxSpendUsdPerDay: 1,
    });
    const pair = {
      call,
      messages: [{ role: 'user', content: 'Summarise the memo.' }],
      baselineAnswer: 'The memo says X.',
      candidateAnswer: 'X.',
    };
    rnd = 0.9;
    expect(await judge.offer(pair)).toBe('skipped-sample');
    expect(requests).toHaveLength(0);
    rnd = 0.1;
    expect(await judge.offer(pair)).toBe('judged');
    expect(verdicts).toEqual([[call, { score: 0.5, source: 'judge', timeUnixMs: 1_000 }]]);
    expect(requests[0]?.auth).toBe('Bearer sk-judge');
    expect(requests[0]?.body.model).toBe('judge-model');
    expect(requests[0]?.body.messages[1]?.content).toContain('CANDIDATE:\nX.');

    reply = 'no idea';
    expect(await judge.offer(pair)).toBe('failed'); // unparsable: no verdict, but it was paid for
    expect(verdicts).toHaveLength(1);
    expect(judge.spentUsd()).toBeCloseTo(1.2, 9);
    expect(await judge.offer(pair)).toBe('skipped-budget');
    now += 86_400_001; // a day later the spend has rolled off
    reply = '{"score": 1}';
    expect(await judge.offer(pair)).toBe('judged');
    expect(verdicts[1]?.[1].score).toBe(1);
  });
});
