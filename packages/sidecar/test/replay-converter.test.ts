import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../src/replay/csv-table.js';
import { parseReplayDataset } from '../src/replay/replay-dataset.js';
import {
  convertGsm8kCsv,
  convertMmluCsv,
  convertMtBench,
  convertRouteLlm,
  firstTurnAnswer,
  secondTurnAnswer,
} from '../src/replay/routellm-converter.js';
import { countChatTokens, countTextTokens } from '../src/replay/token-count.js';

const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mistralai/Mixtral-8x7B-Instruct-v0.1';

// Made-up rows in the shapes of the RouteLLM files (pandas CSV, quoted multi-line prompts).
const MMLU_CSV = `prompt,${WEAK},${STRONG}
"Which colour is a ripe lemon?
A. Blue
B. Yellow
C. Green
D. Red
Answer:",True,True
"A ""tricky"" question, with commas?
A. One
B. Two
C. Three
D. Four
Answer:",False,True
"Which is heavier?
A. A feather
B. A brick
C. Air
D. Nothing
Answer:",True,False
`;

const GSM_CSV = `prompt,${WEAK},${STRONG},${WEAK}_response,${STRONG}_response
Tom has 3 apples and buys 2 more. How many apples does he have?,True,True," Tom has 3 + 2 = <<3+2=5>>5 apples.
#### 5","3 + 2 = 5, so Tom has 5 apples."
"A shop sells pens at $2, a pen and a pad cost $5. What is the pad's price?",False,True," The pad costs $2.
#### 2","The pad costs $5 - $2 = $3.
#### 3"
`;

function judgement(qid: number, model: string, turn: number, score: number, answers: string[]) {
  const userPrompt =
    turn === 1
      ? `[Instruction]\nJudge it.\n\n[Question]\nQ${qid}\n\n[The Start of Assistant's Answer]\n${answers[0]}\n[The End of Assistant's Answer]`
      : `<|The Start of Reference Answer|>\n\n### User:\nQ\n\n### Reference answer:\nREF\n\n<|The End of Reference Answer|>\n\n<|The Start of Assistant A's Conversation with User|>\n\n### User:\nQ${qid}\n\n### Assistant A:\n${answers[0]}\n\n### User:\nFollow-up\n\n### Assistant A:\n${answers[1]}\n\n<|The End of Assistant A's Conversation with User|>`;
  return JSON.stringify({
    question_id: qid,
    model,
    judge: ['gpt-4', turn === 1 ? 'single-v1' : 'single-v1-multi-turn'],
    user_prompt: userPrompt,
    judgment: 'fine',
    score,
    turn,
    tstamp: 1,
  });
}

const MT_QUESTIONS = [
  { question_id: 1, category: 'writing', turns: ['Write a poem about tea.', 'Make it shorter.'] },
  { question_id: 2, category: 'math', turns: ['What is 2+2?', 'And 3+3?'] },
  { question_id: 3, category: 'math', turns: ['Contaminated question.', 'More.'] },
]
  .map((q) => JSON.stringify(q))
  .join('\n');

const MT_JUDGEMENTS = [
  judgement(1, STRONG, 1, 10, ['Steam rises, leaves unfurl.']),
  judgement(1, STRONG, 2, 8, ['Steam rises, leaves unfurl.', 'Steam rises.']),
  judgement(1, WEAK, 1, 6, ['Tea is nice.']),
  judgement(1, WEAK, 2, 4, ['Tea is nice.', 'Tea.']),
  judgement(2, STRONG, 1, 10, ['4']),
  judgement(2, STRONG, 2, 10, ['4', '6']),
  judgement(2, WEAK, 1, 9, ['Four']),
  judgement(2, WEAK, 2, 2, ['Four', 'Seven']),
  judgement(3, STRONG, 1, 10, ['x']),
  judgement(3, STRONG, 2, 10, ['x', 'y']),
  judgement(3, WEAK, 1, 10, ['x']),
  judgement(3, WEAK, 2, 10, ['x', 'y']),
].join('\n');

const contaminated = (prompts: string[]) =>
  prompts
    .map((p, i) =>
      JSON.stringify({ train_prompt: `${p} (train)`, eval_prompt: p, train_idx: i, eval_idx: i }),
    )
    .join('\n');

describe('parseCsv', () => {
  it('handles quoted commas, doubled quotes, newlines and CRLF', () => {
    expect(parseCsv('a,b\r\n"x, ""y""\nz",2\n')).toEqual([
      ['a', 'b'],
      ['x, "y"\nz', '2'],
    ]);
    expect(parseCsv('a,b')).toEqual([['a', 'b']]);
    expect(() => parseCsv('a,"b')).toThrow(/quoted field/);
  });
});

describe('RouteLLM conversion of one set', () => {
  it('MMLU: subject as task, agent qa, 1/0 scores, one output token, prompt tokens counted', () => {
    const { rows, excluded } = convertMmluCsv('fruit', MMLU_CSV, new Set());
    expect(excluded).toBe(0);
    expect(rows.map((r) => r.id)).toEqual(['mmlu/fruit/0', 'mmlu/fruit/1', 'mmlu/fruit/2']);
    const second = rows[1]!;
    expect(second.task).toBe('fruit');
    expect(second.agent).toBe('qa');
    expect(second.messages[0]!.content).toContain('A "tricky" question, with commas?\nA. One');
    expect(second.outcomes[STRONG]!.score).toBe(1);
    expect(second.outcomes[WEAK]!.score).toBe(0);
    expect(rows[2]!.outcomes[STRONG]!.score).toBe(0);
    expect(second.outcomes[WEAK]!.output_tokens).toBe(1);
    expect(second.outcomes[STRONG]!.input_tokens).toBe(countChatTokens(second.messages));
    expect(second.outcomes[STRONG]!.input_tokens).toBeGreaterThan(15);
    expect(second.outcomes[STRONG]).not.toHaveProperty('response');
  });

  it('MMLU: drops the prompts listed as contaminated, exactly', () => {
    const prompt = 'Which is heavier?\nA. A feather\nB. A brick\nC. Air\nD. Nothing\nAnswer:';
    const { rows, excluded } = convertMmluCsv('fruit', MMLU_CSV, new Set([prompt, 'unrelated']));
    expect(excluded).toBe(1);
    expect(rows.map((r) => r.id)).toEqual(['mmlu/fruit/0', 'mmlu/fruit/1']);
  });

  it('GSM8K: one task, responses kept, output tokens counted from each response', () => {
    const { rows } = convertGsm8kCsv(GSM_CSV, new Set());
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.task))).toEqual(new Set(['gsm8k']));
    const pad = rows[1]!;
    expect(pad.messages[0]!.content).toBe(
      "A shop sells pens at $2, a pen and a pad cost $5. What is the pad's price?",
    );
    expect(pad.outcomes[WEAK]).toMatchObject({ score: 0, response: ' The pad costs $2.\n#### 2' });
    expect(pad.outcomes[STRONG]).toMatchObject({ score: 1 });
    expect(pad.outcomes[STRONG]!.output_tokens).toBe(
      countTextTokens('The pad costs $5 - $2 = $3.\n#### 3'),
    );
    expect(Object.keys(pad.outcomes).sort()).toEqual([STRONG, WEAK].sort());
  });

  it('GSM8K: contaminated prompts excluded', () => {
    const { rows, excluded } = convertGsm8kCsv(
      GSM_CSV,
      new Set(['Tom has 3 apples and buys 2 more. How many apples does he have?']),
    );
    expect(excluded).toBe(1);
    expect(rows).toHaveLength(1);
  });

  it('MT-Bench: one row per question, first turn sent, score = mean of both turns / 10', () => {
    const { rows, excluded } = convertMtBench(
      MT_QUESTIONS,
      MT_JUDGEMENTS,
      new Set(['Contaminated question.']),
    );
    expect(excluded).toBe(1);
    expect(rows.map((r) => [r.id, r.task])).toEqual([
      ['mt-bench/1', 'writing'],
      ['mt-bench/2', 'math'],
    ]);
    const poem = rows[0]!;
    expect(poem.messages).toEqual([{ role: 'user', content: 'Write a poem about tea.' }]);
    expect(poem.outcomes[STRONG]!.score).toBeCloseTo(0.9);
    expect(poem.outcomes[WEAK]!.score).toBeCloseTo(0.5);
    expect(poem.outcomes[WEAK]!.response).toBe('Tea is nice.');
    expect(poem.outcomes[WEAK]!.output_tokens).toBe(
      countTextTokens('Tea is nice.') + countTextTokens('Tea.'),
    );
    expect(rows[1]!.outcomes[WEAK]!.score).toBeCloseTo(0.55);
  });

  it('extracts answers from both judge prompt shapes', () => {
    const t2 = JSON.parse(judgement(7, WEAK, 2, 5, ['first answer', 'second\nanswer'])) as {
      user_prompt: string;
    };
    expect(secondTurnAnswer(t2.user_prompt)).toBe('second\nanswer');
    const t1 = JSON.parse(judgement(7, WEAK, 1, 5, ['only answer'])) as { user_prompt: string };
    expect(firstTurnAnswer(t1.user_prompt)).toBe('only answer');
    expect(firstTurnAnswer('no markers')).toBeUndefined();
  });
});

describe('convertRouteLlm over a folder in the RouteLLM layout', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sy-replay-conv-'));
    const evals = join(root, 'data', 'routellm', 'evals');
    await mkdir(join(evals, 'mmlu', 'responses'), { recursive: true });
    await mkdir(join(evals, 'gsm8k'), { recursive: true });
    await mkdir(join(evals, 'mt_bench'), { recursive: true });
    await writeFile(join(evals, 'mmlu', 'responses', 'mmlu_fruit.csv'), MMLU_CSV);
    await writeFile(
      join(evals, 'mmlu', 'responses', 'mmlu_weights.csv'),
      `prompt,${WEAK},${STRONG}\n"Q?\nAnswer:",False,True\n`,
    );
    await writeFile(join(evals, 'mmlu', 'responses', 'notes.txt'), 'ignored');
    await writeFile(
      join(evals, 'mmlu', 'contaminated_prompts.jsonl'),
      contaminated(['Q?\nAnswer:']),
    );
    await writeFile(join(evals, 'gsm8k', 'gsm8k_responses.csv'), GSM_CSV);
    await writeFile(join(evals, 'gsm8k', 'contaminated_prompts.jsonl'), contaminated([]));
    await writeFile(join(evals, 'mt_bench', 'question.jsonl'), MT_QUESTIONS);
    await writeFile(join(evals, 'mt_bench', 'judgements.jsonl'), MT_JUDGEMENTS);
    await writeFile(
      join(evals, 'mt_bench', 'contaminated_prompts.jsonl'),
      contaminated(['Contaminated question.']),
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes three files that the replay loader reads without skipping a line', async () => {
    const out = join(root, 'out');
    const summaries = await convertRouteLlm({ from: join(root, 'data'), out });
    expect(summaries.map((s) => [s.set, s.rows, s.excluded, s.tasks])).toEqual([
      ['mmlu', 3, 1, 1],
      ['gsm8k', 2, 0, 1],
      ['mt-bench', 2, 1, 2],
    ]);
    for (const set of ['mmlu', 'gsm8k', 'mt-bench']) {
      const dataset = parseReplayDataset(await readFile(join(out, `${set}.jsonl`), 'utf8'));
      expect(dataset.skipped).toEqual([]);
      expect(dataset.models).toEqual([STRONG, WEAK]);
    }
  });

  it('names the expected layout when --from is wrong', async () => {
    await expect(
      convertRouteLlm({ from: join(root, 'nowhere'), out: join(root, 'x') }),
    ).rejects.toThrow(/no RouteLLM evals folder found/);
  });
});
