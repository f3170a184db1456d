import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadReplayDataset, parseReplayDataset } from '../src/replay/replay-dataset.js';
import { countChatTokens, countTextTokens } from '../src/replay/token-count.js';

const good = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    task: 't',
    messages: [{ role: 'user', content: `question ${id}` }],
    outcomes: {
      big: { score: 1, input_tokens: 10, output_tokens: 2 },
      small: { score: 0.5, cost_usd: 0.001, response: 'hello there' },
    },
    ...extra,
  });

describe('parseReplayDataset', () => {
  it('reads good rows, defaults the agent, resolves usage from recorded or counted tokens', () => {
    const { rows, skipped, models } = parseReplayDataset(
      `${good('a')}\n\n${good('b', { agent: 'qa' })}\n`,
    );
    expect(skipped).toEqual([]);
    expect(models).toEqual(['big', 'small']);
    expect(rows.map((r) => [r.id, r.agent])).toEqual([
      ['a', 'replay'],
      ['b', 'qa'],
    ]);
    const a = rows[0]!;
    expect(a.outcomes.big).toEqual({ score: 1, inputTokens: 10, outputTokens: 2 });
    expect(a.outcomes.small).toEqual({
      score: 0.5,
      response: 'hello there',
      costUsd: 0.001,
      inputTokens: countChatTokens([{ role: 'user', content: 'question a' }]),
      outputTokens: countTextTokens('hello there'),
    });
  });

  it('reports each bad line with its line number and reason, and keeps going', () => {
    const lines = [
      good('ok1'),
      '{not json',
      JSON.stringify({ id: 'x', messages: [{ role: 'user', content: 'q' }], outcomes: {} }),
      good('ok1'),
      JSON.stringify({ id: 'y', task: 't', messages: [], outcomes: {} }),
      JSON.stringify({
        id: 'z',
        task: 't',
        messages: [{ role: 'user', content: 'q' }],
        outcomes: { a: { score: 1 } },
      }),
      JSON.stringify({
        id: 'w',
        task: 't',
        messages: [{ role: 'user', content: 'q' }],
        outcomes: { a: { score: 1.5 }, b: { score: 0 } },
      }),
      JSON.stringify({
        id: 'v',
        task: 't',
        messages: [{ role: 'user', content: 'q' }],
        outcomes: { a: { score: 1, input_tokens: -3 }, b: { score: 0 } },
      }),
      '[1,2]',
      good('ok2'),
    ];
    const { rows, skipped } = parseReplayDataset(lines.join('\n'));
    expect(rows.map((r) => r.id)).toEqual(['ok1', 'ok2']);
    expect(skipped.map((s) => s.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(skipped[0]!.reason).toMatch(/not valid JSON/);
    expect(skipped[1]!.reason).toMatch(/"task"/);
    expect(skipped[2]!.reason).toMatch(/duplicate id "ok1"/);
    expect(skipped[3]!.reason).toMatch(/"messages"/);
    expect(skipped[4]!.reason).toMatch(/at least two models/);
    expect(skipped[5]!.reason).toMatch(/score must be a number in \[0, 1\]/);
    expect(skipped[6]!.reason).toMatch(/input_tokens must be a non-negative integer/);
    expect(skipped[7]!.reason).toMatch(/JSON object/);
  });

  it('loads from a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-replay-ds-'));
    try {
      const path = join(dir, 'd.jsonl');
      await writeFile(path, `${good('a')}\nbroken\n`);
      const dataset = await loadReplayDataset(path);
      expect(dataset.rows).toHaveLength(1);
      expect(dataset.skipped).toEqual([
        { line: 2, reason: expect.stringMatching(/not valid JSON/) },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
