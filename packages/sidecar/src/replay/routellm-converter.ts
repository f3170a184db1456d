/**
 * Converts the RouteLLM evaluation data (lm-sys/RouteLLM, `routellm/evals/`) into replay
 * datasets: MMLU, GSM8K and MT-Bench, each without the prompts its `contaminated_prompts.jsonl`
 * lists (RouteLLM excludes them from evaluation because they overlap its routers' training data).
 *
 * Choices, also written down in docs/replay.md:
 * - MMLU: task = the subject from the file name, agent `qa`, score 1/0 from the `True`/`False`
 *   correctness column. The files do not record the answers, only whether they were right, so
 *   rows carry no response; output tokens are 1 per model (the prompt ends in "Answer:" and
 *   the graded answer is one letter).
 * - GSM8K: one task `gsm8k`, agent `solver`, score from the correctness columns, the recorded
 *   answers as responses.
 * - MT-Bench: one row per question, task = category, agent `chat`. The request is the first
 *   turn; the model picked for it answers the whole two-turn conversation, so its score is the
 *   mean of its two judge scores divided by 10 (MT-Bench's own per-question score) and its usage
 *   covers both turns. The response is the first turn's answer, taken from the judge prompt.
 * Token counts are cl100k_base counts of the text (see token-count.ts), for both models.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCsvRecords } from './csv-table.js';
import { countChatTokens, countTextTokens, type ReplayMessage } from './token-count.js';

/** A replay row as written to the JSONL file (the field names of the format). */
export interface ReplayRowJson {
  readonly id: string;
  readonly task: string;
  readonly agent: string;
  readonly messages: readonly ReplayMessage[];
  readonly outcomes: Readonly<Record<string, OutcomeJson>>;
}

export interface OutcomeJson {
  readonly score: number;
  readonly response?: string;
  readonly input_tokens: number;
  readonly output_tokens: number;
}

/** What a conversion produced, for the command's summary. */
export interface ConversionSummary {
  readonly set: string;
  readonly file: string;
  readonly rows: number;
  readonly excluded: number;
  readonly tasks: number;
}

const RESPONSE_SUFFIX = '_response';

/** The prompts a RouteLLM `contaminated_prompts.jsonl` lists (its `eval_prompt` fields). */
export function parseContaminatedPrompts(text: string): Set<string> {
  const prompts = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const value = JSON.parse(line) as { eval_prompt?: unknown };
    if (typeof value.eval_prompt === 'string') prompts.add(value.eval_prompt);
  }
  return prompts;
}

/**
 * Converts one MMLU response file (`mmlu_<subject>.csv`: `prompt`, then one True/False column
 * per model).
 */
export function convertMmluCsv(
  subject: string,
  csv: string,
  contaminated: ReadonlySet<string>,
): { rows: ReplayRowJson[]; excluded: number } {
  const { header, records } = parseCsvRecords(csv);
  const models = header.filter((name) => name !== 'prompt');
  const rows: ReplayRowJson[] = [];
  let excluded = 0;
  records.forEach((record, index) => {
    const prompt = record.get('prompt') ?? '';
    if (contaminated.has(prompt)) {
      excluded += 1;
      return;
    }
    const messages = [{ role: 'user', content: prompt }];
    const inputTokens = countChatTokens(messages);
    const outcomes: Record<string, OutcomeJson> = {};
    for (const model of models) {
      outcomes[model] = {
        score: toScore(record.get(model), `${subject} row ${index + 1}, ${model}`),
        input_tokens: inputTokens,
        output_tokens: 1,
      };
    }
    rows.push({ id: `mmlu/${subject}/${index}`, task: subject, agent: 'qa', messages, outcomes });
  });
  return { rows, excluded };
}

/**
 * Converts `gsm8k_responses.csv`: `prompt`, a True/False column per model and a
 * `<model>_response` column with each model's answer.
 */
export function convertGsm8kCsv(
  csv: string,
  contaminated: ReadonlySet<string>,
): { rows: ReplayRowJson[]; excluded: number } {
  const { header, records } = parseCsvRecords(csv);
  const models = header.filter((name) => name !== 'prompt' && !name.endsWith(RESPONSE_SUFFIX));
  const rows: ReplayRowJson[] = [];
  let excluded = 0;
  records.forEach((record, index) => {
    const prompt = record.get('prompt') ?? '';
    if (contaminated.has(prompt)) {
      excluded += 1;
      return;
    }
    const messages = [{ role: 'user', content: prompt }];
    const inputTokens = countChatTokens(messages);
    const outcomes: Record<string, OutcomeJson> = {};
    for (const model of models) {
      const response = record.get(model + RESPONSE_SUFFIX) ?? '';
      outcomes[model] = {
        score: toScore(record.get(model), `gsm8k row ${index + 1}, ${model}`),
        response,
        input_tokens: inputTokens,
        output_tokens: countTextTokens(response),
      };
    }
    rows.push({ id: `gsm8k/${index}`, task: 'gsm8k', agent: 'solver', messages, outcomes });
  });
  return { rows, excluded };
}

interface MtQuestion {
  readonly question_id: number;
  readonly category: string;
  readonly turns: readonly string[];
}

interface MtJudgement {
  readonly question_id: number;
  readonly model: string;
  readonly turn: number;
  readonly score: number;
  readonly user_prompt: string;
}

/**
 * Converts MT-Bench (`question.jsonl` and `judgements.jsonl`) to one row per question; see the
 * module comment for how the two turns are treated. Questions without both turns judged for at
 * least two models are dropped (counted as excluded).
 */
export function convertMtBench(
  questionsJsonl: string,
  judgementsJsonl: string,
  contaminated: ReadonlySet<string>,
): { rows: ReplayRowJson[]; excluded: number } {
  const questions = jsonLines<MtQuestion>(questionsJsonl);
  const judgements = jsonLines<MtJudgement>(judgementsJsonl);
  const byQuestion = new Map<number, Map<string, Map<number, MtJudgement>>>();
  for (const j of judgements) {
    const models = byQuestion.get(j.question_id) ?? new Map<string, Map<number, MtJudgement>>();
    byQuestion.set(j.question_id, models);
    const turns = models.get(j.model) ?? new Map<number, MtJudgement>();
    models.set(j.model, turns);
    turns.set(j.turn, j);
  }
  const rows: ReplayRowJson[] = [];
  let excluded = 0;
  for (const q of questions) {
    const first = q.turns[0] ?? '';
    const second = q.turns[1] ?? '';
    if (contaminated.has(first)) {
      excluded += 1;
      continue;
    }
    const outcomes: Record<string, OutcomeJson> = {};
    for (const [model, turns] of byQuestion.get(q.question_id) ?? []) {
      const t1 = turns.get(1);
      const t2 = turns.get(2);
      if (!t1 || !t2 || t1.score < 0 || t2.score < 0) continue;
      const answer1 = firstTurnAnswer(t1.user_prompt);
      const answer2 = secondTurnAnswer(t2.user_prompt);
      if (answer1 === undefined || answer2 === undefined) continue;
      const turn1 = [{ role: 'user', content: first }];
      const turn2 = [
        ...turn1,
        { role: 'assistant', content: answer1 },
        { role: 'user', content: second },
      ];
      outcomes[model] = {
        score: round6((t1.score + t2.score) / 20),
        response: answer1,
        input_tokens: countChatTokens(turn1) + countChatTokens(turn2),
        output_tokens: countTextTokens(answer1) + countTextTokens(answer2),
      };
    }
    if (Object.keys(outcomes).length < 2) {
      excluded += 1;
      continue;
    }
    rows.push({
      id: `mt-bench/${q.question_id}`,
      task: q.category,
      agent: 'chat',
      messages: [{ role: 'user', content: first }],
      outcomes,
    });
  }
  return { rows, excluded };
}

const ANSWER_START = "[The Start of Assistant's Answer]\n";
const ANSWER_END = "\n[The End of Assistant's Answer]";
const CONVERSATION_START = "<|The Start of Assistant A's Conversation with User|>";
const CONVERSATION_END = "<|The End of Assistant A's Conversation with User|>";
const ASSISTANT_TURN = '### Assistant A:\n';

/** The answer inside a single-turn judge prompt. */
export function firstTurnAnswer(judgePrompt: string): string | undefined {
  const start = judgePrompt.indexOf(ANSWER_START);
  const end = judgePrompt.lastIndexOf(ANSWER_END);
  if (start < 0 || end < start) return undefined;
  return judgePrompt.slice(start + ANSWER_START.length, end).trim();
}

/** The assistant's last answer inside a multi-turn judge prompt's conversation block. */
export function secondTurnAnswer(judgePrompt: string): string | undefined {
  const start = judgePrompt.indexOf(CONVERSATION_START);
  const end = judgePrompt.indexOf(CONVERSATION_END, start);
  if (start < 0 || end < start) return undefined;
  const conversation = judgePrompt.slice(start, end);
  const last = conversation.lastIndexOf(ASSISTANT_TURN);
  if (last < 0) return undefined;
  return conversation.slice(last + ASSISTANT_TURN.length).trim();
}

/** Options of {@link convertRouteLlm}. */
export interface RouteLlmConversionOptions {
  /** The RouteLLM data folder: the one holding `routellm/evals/` (or `evals/` itself). */
  readonly from: string;
  /** Output folder; created when missing. */
  readonly out: string;
}

/**
 * Converts the three sets and writes `mmlu.jsonl`, `gsm8k.jsonl` and `mt-bench.jsonl`.
 *
 * @example
 * await convertRouteLlm({ from: '/work/shared/data/routellm', out: '.data/replay' });
 */
export async function convertRouteLlm(
  options: RouteLlmConversionOptions,
): Promise<ConversionSummary[]> {
  const evals = await findEvalsDir(options.from);
  await mkdir(options.out, { recursive: true });
  const summaries: ConversionSummary[] = [];

  const mmluDir = join(evals, 'mmlu');
  const mmluContaminated = parseContaminatedPrompts(
    await readFile(join(mmluDir, 'contaminated_prompts.jsonl'), 'utf8'),
  );
  const files = (await readdir(join(mmluDir, 'responses')))
    .filter((f) => f.startsWith('mmlu_') && f.endsWith('.csv'))
    .sort();
  const mmluRows: ReplayRowJson[] = [];
  let mmluExcluded = 0;
  for (const file of files) {
    const subject = file.slice('mmlu_'.length, -'.csv'.length);
    const csv = await readFile(join(mmluDir, 'responses', file), 'utf8');
    const { rows, excluded } = convertMmluCsv(subject, csv, mmluContaminated);
    mmluRows.push(...rows);
    mmluExcluded += excluded;
  }
  summaries.push(await writeSet(options.out, 'mmlu', mmluRows, mmluExcluded));

  const gsmDir = join(evals, 'gsm8k');
  const gsm = convertGsm8kCsv(
    await readFile(join(gsmDir, 'gsm8k_responses.csv'), 'utf8'),
    parseContaminatedPrompts(await readFile(join(gsmDir, 'contaminated_prompts.jsonl'), 'utf8')),
  );
  summaries.push(await writeSet(options.out, 'gsm8k', gsm.rows, gsm.excluded));

  const mtDir = join(evals, 'mt_bench');
  const mt = convertMtBench(
    await readFile(join(mtDir, 'question.jsonl'), 'utf8'),
    await readFile(join(mtDir, 'judgements.jsonl'), 'utf8'),
    parseContaminatedPrompts(await readFile(join(mtDir, 'contaminated_prompts.jsonl'), 'utf8')),
  );
  summaries.push(await writeSet(options.out, 'mt-bench', mt.rows, mt.excluded));
  return summaries;
}

async function findEvalsDir(from: string): Promise<string> {
  for (const candidate of [join(from, 'routellm', 'evals'), join(from, 'evals'), from]) {
    try {
      const entries = await readdir(candidate);
      if (entries.includes('mmlu') && entries.includes('gsm8k') && entries.includes('mt_bench')) {
        return candidate;
      }
    } catch {
      // not this layout; try the next
    }
  }
  throw new Error(
    `--from ${from}: no RouteLLM evals folder found (expected mmlu/, gsm8k/ and mt_bench/ in ` +
      `${from}/routellm/evals, ${from}/evals or ${from})`,
  );
}

async function writeSet(
  out: string,
  set: string,
  rows: readonly ReplayRowJson[],
  excluded: number,
): Promise<ConversionSummary> {
  const file = join(out, `${set}.jsonl`);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  return { set, file, rows: rows.length, excluded, tasks: new Set(rows.map((r) => r.task)).size };
}

function toScore(cell: string | undefined, where: string): number {
  if (cell === 'True' || cell === 'true' || cell === '1' || cell === '1.0') return 1;
  if (cell === 'False' || cell === 'false' || cell === '0' || cell === '0.0') return 0;
  throw new Error(`${where}: expected True or False, got ${JSON.stringify(cell)}`);
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
