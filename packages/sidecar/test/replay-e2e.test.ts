/**
 * End to end: a constructed dataset replayed through the real stack (instrumented openai
 * client -> OTLP exporter -> sidecar with intake and learner -> replay provider), then the
 * report checked against the recorded outcomes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/commands/replay-command.js';
import type { ReplayReport } from '../src/replay/replay-run.js';

const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mistralai/Mixtral-8x7B-Instruct-v0.1';

// Task "same": both models always right. Task "hard": the strong model is right 90% of the
// time, the weak one never.
function dataset(perTask: number): string {
  const lines: string[] = [];
  for (const task of ['same', 'hard']) {
    for (let i = 0; i < perTask; i++) {
      const strongRight = task === 'same' || i % 10 !== 0;
      const weakRight = task === 'same';
      lines.push(
        JSON.stringify({
          id: `${task}/${i}`,
          task,
          agent: 'qa',
          messages: [{ role: 'user', content: `${task} question number ${i}?` }],
          outcomes: {
            [STRONG]: { score: strongRight ? 1 : 0, input_tokens: 100, output_tokens: 10 },
            [WEAK]: { score: weakRight ? 1 : 0, input_tokens: 100, output_tokens: 10 },
          },
        }),
      );
    }
  }
  lines.splice(3, 0, '{"id": "broken"'); // one bad line: reported and skipped
  return `${lines.join('\n')}\n`;
}

describe('replay through the real stack', () => {
  let dir: string;
  let report: ReplayReport;
  let stdout = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-replay-e2e-'));
    await writeFile(join(dir, 'toy.jsonl'), dataset(500));
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      stdout += chunk;
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await run([
        '--dataset',
        join(dir, 'toy.jsonl'),
        '--baseline',
        STRONG,
        '--candidates',
        WEAK,
        '--tolerance',
        '0.05',
        '--mode',
        'per-task',
        '--seed',
        '3',
        '--concurrency',
        '4',
        '--json',
        join(dir, 'report.json'),
        '--plot',
        join(dir, 'plot.svg'),
        '--quiet',
      ]);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as ReplayReport;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays every good row once and reports the bad line', () => {
    expect(report.calls).toBe(1000);
    expect(report.errors).toBe(0);
    expect(report.skipped_lines).toBe(1);
    expect(report.skipped[0]!.line).toBe(4);
    expect(stdout).toContain('Switchyard replay: toy.jsonl');
  });

  it('the costs are the recorded outcomes of the models actually served', () => {
    const perCall = (model: string) =>
      model === STRONG ? (100 * 10 + 10 * 30) / 1e6 : (110 * 0.24) / 1e6;
    const served = Object.entries(report.served);
    const expected = served.reduce((sum, [m, s]) => sum + s.calls * perCall(m), 0);
    expect(report.cost_usd).toBeCloseTo(expected, 10);
    expect(report.baseline_cost_usd).toBeCloseTo(1000 * perCall(STRONG), 10);
    expect(report.saving).toBeCloseTo(1 - report.cost_usd / report.baseline_cost_usd, 10);
    // The provider counted the same calls per model as the client did.
    for (const [model, s] of served) {
      expect(report.provider_served[model]!.calls).toBe(s.calls);
      expect(report.provider_served[model]!.cost_usd).toBeCloseTo(s.cost_usd, 10);
    }
  });

  it('quality is the mean recorded score of what was served, against the baseline on the same rows', () => {
    expect(report.baseline_quality).toBeCloseTo(0.95, 10);
    const hard = report.tasks.find((t) => t.task === 'hard')!;
    const same = report.tasks.find((t) => t.task === 'same')!;
    // On "same" every served call scores what the baseline would have scored.
    expect(same.quality).toBeCloseTo(same.baseline_quality, 10);
    // On "hard" every weak call scores 0, so each one costs the baseline's score on its row.
    const hardWeak = hard.served[WEAK] ?? 0;
    expect(hard.quality).toBeLessThan(hard.baseline_quality);
    expect(hard.quality * hard.calls).toBeGreaterThanOrEqual(
      hard.baseline_quality * hard.calls - hardWeak - 1e-9,
    );
    expect(report.quality).toBeCloseTo(
      (same.quality * same.calls + hard.quality * hard.calls) / report.calls,
      10,
    );
    expect(report.quality_retained).toBeCloseTo(report.quality / report.baseline_quality, 10);
    expect(hardWeak).toBeLessThan(hard.calls / 2);
  });

  it('the learner downgraded the task where the cheap model is as good, and not the other', () => {
    const same = report.tasks.find((t) => t.task === 'same')!;
    const hard = report.tasks.find((t) => t.task === 'hard')!;
    expect(same.model).toBe(WEAK);
    expect(same.rule_kind).toBe('downgrade');
    expect(same.share).toBe(1);
    const downgrade = same.decisions.find((d) => d.kind === 'downgrade')!;
    expect(downgrade.call).toBeGreaterThan(0);
    expect(downgrade.call).toBeLessThan(report.calls);
    expect(hard.rule_kind).not.toBe('downgrade');
    expect(hard.decisions.some((d) => d.kind === 'downgrade')).toBe(false);
    expect(report.saving).toBeGreaterThan(0.1);
    // Exploration is what the canary calls cost: on "hard" each canary call lost a point.
    expect(report.exploration.calls).toBe(report.route_reasons.canary ?? 0);
  });

  it('writes references and a plot', async () => {
    expect(report.references.all_baseline!.cost_usd).toBeCloseTo(report.baseline_cost_usd, 10);
    expect(report.references.best_per_task_hindsight!.saving).toBeGreaterThan(0.45);
    const svg = await readFile(join(dir, 'plot.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('online per-task 5%');
  });

  it('a second replay in the same process learns as well (its feedback reaches its own sidecar)', async () => {
    const second = join(dir, 'second.json');
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let code: number;
    try {
      code = await run([
        '--dataset',
        join(dir, 'toy.jsonl'),
        '--baseline',
        STRONG,
        '--candidates',
        WEAK,
        '--mode',
        'per-task',
        '--seed',
        '4',
        '--json',
        second,
        '--quiet',
      ]);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const again = JSON.parse(await readFile(second, 'utf8')) as ReplayReport;
    const same = again.tasks.find((t) => t.task === 'same')!;
    expect(same.rule_kind).toBe('downgrade');
    expect(again.saving).toBeGreaterThan(0.1);
  }, 120_000);
});
