import { describe, expect, it } from 'vitest';
import { cacheKey } from '../src/cache/cache-key.js';

const base = {
  tenant: 'Bearer sk-tenant-a',
  endpoint: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  body: {
    model: 'gpt-4o',
    temperature: 0,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
    ],
  },
};

describe('cacheKey', () => {
  it('is a stable 64-hex SHA-256', () => {
    const key = cacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey(structuredClone(base))).toBe(key);
  });

  it('ignores the order of fields at every depth', () => {
    const reordered = {
      ...base,
      body: {
        messages: [
          { content: 'Be brief.', role: 'system' },
          { content: 'Hello', role: 'user' },
        ],
        temperature: 0,
        model: 'gpt-4o',
      },
    };
    expect(cacheKey(reordered)).toBe(cacheKey(base));

    const tools = (order: 'a' | 'b') => ({
      ...base,
      body: {
        ...base.body,
        tools: [
          order === 'a'
            ? {
                type: 'function',
                function: {
                  name: 'f',
                  parameters: { type: 'object', properties: { x: { type: 'number' } } },
                },
              }
            : {
                function: {
                  parameters: { properties: { x: { type: 'number' } }, type: 'object' },
                  name: 'f',
                },
                type: 'function',
              },
        ],
      },
    });
    expect(cacheKey(tools('a'))).toBe(cacheKey(tools('b')));
  });

  it('keeps the order of array items (message order changes the answer)', () => {
    const swapped = {
      ...base,
      body: { ...base.body, messages: [...base.body.messages].reverse() },
    };
    expect(cacheKey(swapped)).not.toBe(cacheKey(base));
  });

  it('uses the routed model, not the body model', () => {
    const otherBodyModel = { ...base, body: { ...base.body, model: 'gpt-4.1' } };
    expect(cacheKey(otherBodyModel)).toBe(cacheKey(base));
    expect(cacheKey({ ...base, model: 'gpt-4o' })).not.toBe(cacheKey(base));
  });

  it('changes with every field that changes the answer', () => {
    const variants: Record<string, unknown> = {
      messages: [{ role: 'user', content: 'Hello!' }],
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: 'required',
      functions: [{ name: 'f' }],
      function_call: 'auto',
      response_format: { type: 'json_object' },
      temperature: 0.2,
      top_p: 0.5,
      max_tokens: 10,
      max_completion_tokens: 10,
      seed: 7,
      stop: ['\n'],
      n: 2,
      logit_bias: { '50256': -100 },
      logprobs: true,
      top_logprobs: 3,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: 'low',
      parallel_tool_calls: false,
      user: 'u-1',
      input: 'text',
      dimensions: 256,
      encoding_format: 'base64',
      some_future_knob: 1,
    };
    const seen = new Set([cacheKey(base)]);
    for (const [field, value] of Object.entries(variants)) {
      const key = cacheKey({ ...base, body: { ...base.body, [field]: value } });
      expect(seen.has(key), `${field} must change the key`).toBe(false);
      seen.add(key);
    }
    // A change deep inside a message also counts.
    const deep = structuredClone(base);
    (deep.body.messages[1] as { content: string }).content = 'Hello ';
    expect(cacheKey(deep)).not.toBe(cacheKey(base));
  });

  it('ignores fields that do not change the answer', () => {
    for (const [field, value] of Object.entries({
      metadata: { run: '1' },
      store: true,
      prompt_cache_key: 'abc',
      safety_identifier: 'x',
    })) {
      expect(cacheKey({ ...base, body: { ...base.body, [field]: value } }), field).toBe(
        cacheKey(base),
      );
    }
    // An explicit undefined is what JSON would drop.
    expect(cacheKey({ ...base, body: { ...base.body, seed: undefined } })).toBe(cacheKey(base));
  });

  it('isolates tenants and endpoints', () => {
    expect(cacheKey({ ...base, tenant: 'Bearer sk-tenant-b' })).not.toBe(cacheKey(base));
    expect(cacheKey({ ...base, endpoint: '/v1/embeddings' })).not.toBe(cacheKey(base));
  });

  it('cannot be forged across field boundaries', () => {
    // Moving text between tenant and model must not produce the same material.
    const a = cacheKey({ ...base, tenant: 'a', model: 'b\n"c"' });
    const b = cacheKey({ ...base, tenant: 'a\n"b"', model: 'c' });
    expect(a).not.toBe(b);
    // A string that looks like a number is not the number.
    expect(cacheKey({ ...base, body: { ...base.body, seed: '7' } })).not.toBe(
      cacheKey({ ...base, body: { ...base.body, seed: 7 } }),
    );
    // null and a missing field differ.
    expect(cacheKey({ ...base, body: { ...base.body, stop: null } })).not.toBe(cacheKey(base));
  });
});
