/**
 * The replay dataset: one JSON object per line recording how several models did on the same
 * prompts (format: FORMAT.md, summarised in docs/replay.md).
 *
 * The loader never stops at a bad line: it reports the line number and the reason, skips it, and
 * counts it, so one broken row in a 14,000-row file costs one row, not the run.
 */
import { readFile } from 'node:fs/promises';
import { countChatTokens, countTextTokens, type ReplayMessage } from './token-count.js';

/** One model's recorded outcome on one prompt, with usage resolved. */
export interface ReplayOutcome {
  /** Quality in [0, 1]. */
  readonly score: number;
  readonly response?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Recorded cost; when present it wins over pricing the tokens. */
  readonly costUsd?: number;
}

export interface ReplayRow {
  readonly id: string;
  readonly task: string;
  readonly agent: string;
  readonly messages: readonly ReplayMessage[];
  readonly outcomes: Readonly<Record<string, ReplayOutcome>>;
}

/** A line the loader skipped, 1-based. */
export interface SkippedLine {
  readonly line: number;
  readonly reason: string;
}

export interface ReplayDataset {
  readonly rows: readonly ReplayRow[];
  readonly skipped: readonly SkippedLine[];
  /** Every model that appears in any row's outcomes, sorted. */
  readonly models: readonly string[];
}

/** The agent name used when a row has none. */
export const DEFAULT_REPLAY_AGENT = 'replay';

/** Token counters; injectable so tests and other tokenizers can stand in. */
export interface TokenCounter {
  chat(messages: readonly ReplayMessage[]): number;
  text(text: string): number;
}

const cl100kCounter: TokenCounter = { chat: countChatTokens, text: countTextTokens };

class RowError extends Error {}

/**
 * Parses a replay dataset from JSONL text. Blank lines are ignored; every other line that fails
 * to parse or to validate is skipped and reported.
 *
 * @example
 * const { rows, skipped } = parseReplayDataset(text);
 * for (const s of skipped) console.error(`line ${s.line}: ${s.reason}`);
 */
export function parseReplayDataset(
  text: string,
  counter: TokenCounter = cl100kCounter,
): ReplayDataset {
  const rows: ReplayRow[] = [];
  const skipped: SkippedLine[] = [];
  const ids = new Set<string>();
  const models = new Set<string>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]?.trim() ?? '';
    if (raw === '') continue;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      skipped.push({ line, reason: `not valid JSON (${(error as Error).message})` });
      continue;
    }
    try {
      const row = toRow(value, counter);
      if (ids.has(row.id)) throw new RowError(`duplicate id "${row.id}"`);
      ids.add(row.id);
      for (const model of Object.keys(row.outcomes)) models.add(model);
      rows.push(row);
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      skipped.push({ line, reason: error.message });
    }
  }
  return { rows, skipped, models: [...models].sort() };
}

/** Reads and parses a replay dataset file. Throws only when the file cannot be read. */
export async function loadReplayDataset(
  path: string,
  counter: TokenCounter = cl100kCounter,
): Promise<ReplayDataset> {
  const text = await readFile(path, 'utf8');
  return parseReplayDataset(text, counter);
}

function toRow(value: unknown, counter: TokenCounter): ReplayRow {
  if (!isObject(value)) throw new RowError('a line must be a JSON object');
  const id = requireString(value, 'id');
  const task = requireString(value, 'task');
  const agent = value.agent === undefined ? DEFAULT_REPLAY_AGENT : requireString(value, 'agent');
  const messages = toMessages(value.messages);
  if (!isObject(value.outcomes)) throw new RowError('missing required field "outcomes" (object)');
  const entries = Object.entries(value.outcomes);
  if (entries.length < 2) throw new RowError('"outcomes" needs at least two models');
  let promptTokens: number | undefined;
  const outcomes: Record<string, ReplayOutcome> = {};
  for (const [model, raw] of entries) {
    if (!isObject(raw)) throw new RowError(`outcomes["${model}"] must be an object`);
    const score = raw.score;
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
      throw new RowError(`outcomes["${model}"].score must be a number in [0, 1]`);
    }
    const response = optionalString(raw, 'response', model);
    let inputTokens = optionalCount(raw, 'input_tokens', model);
    if (inputTokens === undefined) {
      promptTokens ??= counter.chat(messages);
      inputTokens = promptTokens;
    }
    const outputTokens =
      optionalCount(raw, 'output_tokens', model) ??
      (response === undefined ? 0 : counter.text(response));
    const cost = raw.cost_usd;
    if (cost !== undefined && (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0)) {
      throw new RowError(`outcomes["${model}"].cost_usd must be a non-negative number`);
    }
    outcomes[model] = {
      score,
      inputTokens,
      outputTokens,
      ...(response === undefined ? {} : { response }),
      ...(cost === undefined ? {} : { costUsd: cost }),
    };
  }
  return { id, task, agent, messages, outcomes };
}

function toMessages(value: unknown): ReplayMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RowError('missing required field "messages" (non-empty array)');
  }
  return value.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new RowError(`messages[${i}] must have a string "role" and a string "content"`);
    }
    return { role: m.role, content: m.content };
  });
}

function requireString(value: Record<string, unknown>, key: string): string {
  const v = value[key];
  if (typeof v !== 'string' || v === '') {
    throw new RowError(`missing required field "${key}" (non-empty string)`);
  }
  return v;
}

function optionalString(
  value: Record<string, unknown>,
  key: string,
  model: string,
): string | undefined {
  const v = value[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RowError(`outcomes["${model}"].${key} must be a string`);
  return v;
}

function optionalCount(
  value: Record<string, unknown>,
  key: string,
  model: string,
): number | undefined {
  const v = value[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RowError(`outcomes["${model}"].${key} must be a non-negative integer`);
  }
  return v;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
