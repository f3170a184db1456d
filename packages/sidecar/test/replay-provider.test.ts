import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayRow } from '../src/replay/replay-dataset.js';
import { createReplayProvider, type ReplayProvider } from '../src/replay/replay-provider.js';

const row = (id: string, content: string, strongScore = 1): ReplayRow => ({
  id,
  task: 't',
  agent: 'qa',
  messages: [{ role: 'user', content }],
  outcomes: {
    strong: {
      score: strongScore,
      response: `strong answer to ${id}`,
      inputTokens: 12,
      outputTokens: 4,
    },
    weak: { score: 0, response: `weak answer to ${id}`, inputTokens: 12, outputTokens: 3 },
  },
});

describe('replay provider over a real socket, called with the real openai SDK', () => {
  let provider: ReplayProvider;
  let client: OpenAI;
  beforeAll(async () => {
    provider = createReplayProvider({
      rows: [
        row('a', 'What is A?'),
        row('b', 'What is B?'),
        row('c1', 'Same?'),
        row('c2', 'Same?'),
      ],
      cost: (r, model) => r.outcomes[model]!.outputTokens / 100,
      now: () => 1_700_000_000_000,
    });
    const baseURL = await provider.listen(0);
    client = new OpenAI({ baseURL, apiKey: 'replay', maxRetries: 0 });
  });
  afterAll(async () => {
    await provider.close();
  });

  it("answers with the requested model's recorded text and usage, nothing else", async () => {
    const completion = await client.chat.completions.create({
      model: 'weak',
      messages: [{ role: 'user', content: 'What is A?' }],
    });
    expect(completion.model).toBe('weak');
    expect(completion.created).toBe(1_700_000_000);
    expect(completion.choices[0]!.message.content).toBe('weak answer to a');
    expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    expect(JSON.stringify(completion)).not.toMatch(/strong|score/);
    const again = await client.chat.completions.create({
      model: 'strong',
      messages: [{ role: 'user', content: 'What is A?' }],
    });
    expect(again.id).not.toBe(completion.id);
    expect(again.choices[0]!.message.content).toBe('strong answer to a');
  });

  it('uses the row id in `user` to tell rows with the same prompt apart', async () => {
    const c2 = await client.chat.completions.create({
      model: 'strong',
      messages: [{ role: 'user', content: 'Same?' }],
      user: 'replay:c2',
    });
    expect(c2.choices[0]!.message.content).toBe('strong answer to c2');
    const err = await client.chat.completions
      .create({ model: 'strong', messages: [{ role: 'user', content: 'Same?' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('ambiguous_prompt');
    const wrong = await client.chat.completions
      .create({
        model: 'strong',
        messages: [{ role: 'user', content: 'What is A?' }],
        user: 'replay:b',
      })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('unknown prompt is a 400, unknown model a 404, in OpenAI error shape', async () => {
    const unknownPrompt = await client.chat.completions
      .create({ model: 'strong', messages: [{ role: 'user', content: 'Never recorded' }] })
      .catch((e: unknown) => e);
    expect(unknownPrompt).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknownPrompt as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      code: 'unknown_prompt',
    });
    const unknownModel = await client.chat.completions
      .create({ model: 'gpt-9', messages: [{ role: 'user', content: 'What is A?' }] })
      .catch((e: unknown) => e);
    expect(unknownModel).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknownModel as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
  });

  it('streams the recorded answer with usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'strong',
      messages: [{ role: 'user', content: 'What is B?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('strong answer to b');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
  });

  it('lists the dataset models and keeps per-model served totals', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['strong', 'weak']);
    const weak = provider.served().get('weak')!;
    expect(weak.calls).toBe(1);
    expect(weak.costUsd).toBeCloseTo(0.03);
    expect(provider.served().get('strong')!.calls).toBe(3);
  });

  it('a broken body is a 400 and the server keeps serving', async () => {
    const baseURL = client.baseURL;
    const res = await fetch(`${baseURL}/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_json' } });
    const ok = await client.models.list();
    expect(ok.data).toHaveLength(2);
  });
});
