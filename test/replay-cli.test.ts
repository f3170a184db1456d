/**
 * The built `switchyard` binary end to end: `switchyard replay convert` on a folder in the
 * RouteLLM layout, then `switchyard replay` on its output, each in its own process, as a user
 * runs them. Needs `npm run build` (which `npm test` does first).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/sidecar/dist/cli.js');
const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mistralai/Mixtral-8x7B-Instruct-v0.1';

// Made-up prompts in the RouteLLM shapes: 40 MMLU rows in two subjects, GSM8K and MT-Bench stubs.
function mmluCsv(subject: string, n: number): string {
  const rows = Array.from(
    { length: n },
    (_, i) =>
      `"${subject} question ${i}?\nA. yes\nB. no\nAnswer:",${i % 3 === 0 ? 'False' : 'True'},True`,
  );
  return `prompt,${WEAK},${STRONG}\n${rows.join('\n')}\n`;
}

describe('switchyard replay (built CLI, separate processes)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-replay-cli-'));
    const evals = join(dir, 'routellm', 'routellm', 'evals');
    await mkdir(join(evals, 'mmlu', 'responses'), { recursive: true });
    await mkdir(join(evals, 'gsm8k'), { recursive: true });
    await mkdir(join(evals, 'mt_bench'), { recursive: true });
    await writeFile(join(evals, 'mmlu', 'responses', 'mmlu_alpha.csv'), mmluCsv('alpha', 20));
    await writeFile(join(evals, 'mmlu', 'responses', 'mmlu_beta.csv'), mmluCsv('beta', 20));
    await writeFile(
      join(evals, 'mmlu', 'contaminated_prompts.jsonl'),
      `${JSON.stringify({ train_prompt: 'x', eval_prompt: 'beta question 0?\nA. yes\nB. no\nAnswer:' })}\n`,
    );
    await writeFile(
      join(evals, 'gsm8k', 'gsm8k_responses.csv'),
      `prompt,${WEAK},${STRONG},${WEAK}_response,${STRONG}_response\n1+1?,True,True,2,2\n`,
    );
    await writeFile(join(evals, 'gsm8k', 'contaminated_prompts.jsonl'), '');
    await writeFile(join(evals, 'mt_bench', 'question.jsonl'), '');
    await writeFile(join(evals, 'mt_bench', 'judgements.jsonl'), '');
    await writeFile(join(evals, 'mt_bench', 'contaminated_prompts.jsonl'), '');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('converts, then replays with a JSON report', async () => {
    const out = join(dir, 'replay');
    const convert = await run(process.execPath, [
      cli,
      'replay',
      'convert',
      '--from',
      join(dir, 'routellm'),
      '--out',
      out,
    ]);
    expect(convert.stdout).toContain('mmlu: 39 rows, 2 tasks, 1 contaminated prompts excluded');
    expect(convert.stdout).toContain('gsm8k: 1 rows, 1 tasks');

    const report = join(dir, 'report.json');
    const replay = await run(process.execPath, [
      cli,
      'replay',
      '--dataset',
      join(out, 'mmlu.jsonl'),
      '--baseline',
      STRONG,
      '--candidates',
      WEAK,
      '--json',
      report,
      '--quiet',
    ]);
    expect(replay.stdout).toContain('Switchyard replay: mmlu.jsonl');
    const r = JSON.parse(await readFile(report, 'utf8')) as Record<string, unknown> & {
      tasks: { task: string; calls: number }[];
      served: Record<string, { calls: number }>;
    };
    expect(r).toMatchObject({ dataset: 'mmlu.jsonl', calls: 39, errors: 0, skipped_lines: 0 });
    for (const key of [
      'cost_usd',
      'baseline_cost_usd',
      'saving',
      'quality',
      'baseline_quality',
      'quality_retained',
      'pgr',
      'references',
    ]) {
      expect(r).toHaveProperty(key);
    }
    expect(r.tasks.map((t) => [t.task, t.calls])).toEqual([
      ['alpha', 20],
      ['beta', 19],
    ]);
    const served = Object.values(r.served).reduce((n, s) => n + s.calls, 0);
    expect(served).toBe(39);
    expect(r.saving as number).toBeGreaterThanOrEqual(0);
    expect(r.saving as number).toBeLessThan(1);
    // The strong model is right on every row.
    expect(r.baseline_quality).toBeCloseTo(1, 10);
  }, 60_000);

  it('exits 2 with a message that names the option on a bad command line', async () => {
    const failed = await run(process.execPath, [cli, 'replay', '--dataset', 'x.jsonl']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toContain('--baseline is required');
  });
});
