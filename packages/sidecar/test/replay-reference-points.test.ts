import { describe, expect, it } from 'vitest';
import {
  computeReferences,
  hindsightAssignment,
  pgr,
  taskStats,
} from '../src/replay/reference-points.js';
import type { ReplayRow } from '../src/replay/replay-dataset.js';
import { createReplayPricing, parsePriceOverrides } from '../src/replay/replay-pricing.js';

// Constructed so every answer is known by hand: the strong model costs 10 per call, the weak 1.
//  task "easy": 10 rows, strong 10/10, weak 10/10  -> free to downgrade
//  task "mid":  10 rows, strong 10/10, weak  8/10  -> loses 2 for a saving of 90
//  task "hard": 20 rows, strong 20/20, weak 10/20  -> loses 10 for a saving of 180
function rows(): ReplayRow[] {
  const out: ReplayRow[] = [];
  const add = (task: string, n: number, weakRight: number) => {
    for (let i = 0; i < n; i++) {
      out.push({
        id: `${task}/${i}`,
        task,
        agent: 'qa',
        messages: [{ role: 'user', content: `${task} ${i}` }],
        outcomes: {
          strong: { score: 1, inputTokens: 0, outputTokens: 0, costUsd: 10 },
          weak: { score: i < weakRight ? 1 : 0, inputTokens: 0, outputTokens: 0, costUsd: 1 },
        },
      });
    }
  };
  add('easy', 10, 10);
  add('mid', 10, 8);
  add('hard', 20, 10);
  return out;
}
const cost = (row: ReplayRow, model: string) => row.outcomes[model]!.costUsd!;

describe('reference points', () => {
  it('all-baseline, all-cheapest and PGR', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.05,
      mode: 'budget',
    });
    expect(r.allBaseline).toMatchObject({ costUsd: 400, quality: 1, saving: 0, pgr: 1 });
    expect(r.allCheapest.costUsd).toBe(40);
    expect(r.allCheapest.quality).toBeCloseTo(28 / 40);
    expect(r.allCheapest.saving).toBeCloseTo(0.9);
    expect(r.allCheapest.pgr).toBe(0);
    expect(r.cheapestModel).toBe('weak');
    expect(pgr(0.85, 0.7, 1)).toBeCloseTo(0.5);
  });

  it('budget hindsight spends 5% (2 of 40 points) on the best ratio: easy free, mid whole', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.05,
      mode: 'budget',
    });
    const h = r.bestPerTaskHindsight;
    const byTask = Object.fromEntries(h.tasks!.map((t) => [t.task, t.shares]));
    expect(byTask.easy).toEqual({ weak: 1 });
    expect(byTask.mid).toEqual({ weak: 1 }); // ratio 90/2 = 45 beats hard's 180/10 = 18
    expect(byTask.hard).toEqual({ strong: 1 });
    expect(h.costUsd).toBeCloseTo(10 + 10 + 200);
    expect(h.quality).toBeCloseTo(38 / 40);
    expect(h.qualityRetained).toBeCloseTo(0.95);
    expect(h.baselineShare).toBeCloseTo(0.5);
  });

  it('budget hindsight gives the last task that does not fit whole a share', () => {
    // 10% of 40 = 4 points: easy, mid (2) and 2/10 of hard's loss.
    const stats = taskStats(rows(), ['strong', 'weak'], cost);
    const a = hindsightAssignment(stats, 'strong', ['weak'], 0.1, 'budget');
    const hard = a.find((t) => t.task === 'hard')!;
    expect(hard.shares.weak).toBeCloseTo(0.2);
    expect(hard.shares.strong).toBeCloseTo(0.8);
    expect(hard.quality).toBeCloseTo(0.9); // 0.8 * 1 + 0.2 * 0.5
  });

  it('per-task hindsight moves only tasks that each keep (1 - tolerance) of their quality', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.2,
      mode: 'per-task',
    });
    const byTask = Object.fromEntries(r.bestPerTaskHindsight.tasks!.map((t) => [t.task, t.shares]));
    expect(byTask).toEqual({ easy: { weak: 1 }, mid: { weak: 1 }, hard: { strong: 1 } });
    const strict = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.1,
      mode: 'per-task',
    });
    expect(strict.bestPerTaskHindsight.costUsd).toBe(10 + 100 + 200);
  });

  it('best per prompt picks the cheapest model among the best scores', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0,
      mode: 'budget',
    });
    // weak is right on 28 rows (cost 1 each); strong serves the 12 others.
    expect(r.bestPerPromptHindsight.costUsd).toBe(28 + 120);
    expect(r.bestPerPromptHindsight.quality).toBe(1);
    expect(r.bestPerPromptHindsight.baselineShare).toBeCloseTo(12 / 40);
  });

  it('random at the run share is the expected value of the mixture', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.05,
      mode: 'budget',
      runShares: { strong: 30, weak: 10 },
    });
    expect(r.randomAtRunShare!.costUsd).toBeCloseTo(0.75 * 400 + 0.25 * 40);
    expect(r.randomAtRunShare!.quality).toBeCloseTo(0.75 * 1 + 0.25 * 0.7);
    expect(r.randomAtRunShare!.baselineShare).toBeCloseTo(0.75);
  });

  it('the sweep is monotone: more tolerance never costs more', () => {
    const r = computeReferences(rows(), {
      baseline: 'strong',
      candidates: ['weak'],
      cost,
      tolerance: 0.05,
      mode: 'budget',
    });
    expect(r.sweep[0]!.tolerance).toBe(0);
    expect(r.sweep[0]!.costUsd).toBe(10 + 100 + 200); // only the free task moves
    for (let i = 1; i < r.sweep.length; i++) {
      expect(r.sweep[i]!.costUsd).toBeLessThanOrEqual(r.sweep[i - 1]!.costUsd + 1e-9);
      expect(r.sweep[i]!.qualityRetained).toBeGreaterThanOrEqual(1 - r.sweep[i]!.tolerance - 1e-9);
    }
  });

  it('with two candidates, budget hindsight follows the convex hull (middle model first)', () => {
    const three: ReplayRow[] = Array.from({ length: 10 }, (_, i) => ({
      id: String(i),
      task: 't',
      agent: 'qa',
      messages: [{ role: 'user', content: 'q' }],
      outcomes: {
        strong: { score: 1, inputTokens: 0, outputTokens: 0, costUsd: 10 },
        mid: { score: i < 9 ? 1 : 0, inputTokens: 0, outputTokens: 0, costUsd: 4 },
        weak: { score: i < 5 ? 1 : 0, inputTokens: 0, outputTokens: 0, costUsd: 1 },
      },
    }));
    const stats = taskStats(three, ['strong', 'mid', 'weak'], cost);
    const a = hindsightAssignment(stats, 'strong', ['mid', 'weak'], 0.1, 'budget');
    expect(a[0]!.shares).toEqual({ mid: 1 }); // loses exactly 1 of 10 points for 60 saved
  });
});

describe('replay pricing', () => {
  const row: ReplayRow = {
    id: 'r',
    task: 't',
    agent: 'a',
    messages: [{ role: 'user', content: 'q' }],
    outcomes: {
      'gpt-4-1106-preview': { score: 1, inputTokens: 1_000_000, outputTokens: 1_000_000 },
      'mistralai/Mixtral-8x7B-Instruct-v0.1': { score: 1, inputTokens: 500_000, outputTokens: 0 },
      recorded: { score: 1, inputTokens: 5, outputTokens: 5, costUsd: 0.5 },
      unknown: { score: 1, inputTokens: 5, outputTokens: 5 },
    },
  };

  it('prices tokens from the table or the fallbacks; a row cost wins; unknown names the fix', () => {
    const p = createReplayPricing();
    expect(p.cost(row, 'gpt-4-1106-preview')).toBeCloseTo(40);
    expect(p.cost(row, 'mistralai/Mixtral-8x7B-Instruct-v0.1')).toBeCloseTo(0.12);
    expect(p.cost(row, 'recorded')).toBe(0.5);
    expect(() => p.cost(row, 'unknown')).toThrow(/--price "unknown=INPUT\/OUTPUT"/);
  });

  it('overrides win and are reported as such', () => {
    const p = createReplayPricing({ overrides: parsePriceOverrides('gpt-4-1106-preview=1/2') });
    expect(p.cost(row, 'gpt-4-1106-preview')).toBeCloseTo(3);
    expect(p.describe(['gpt-4-1106-preview'])[0]).toMatchObject({ origin: 'override' });
    expect(() => parsePriceOverrides('x=1')).toThrow(/MODEL=INPUT\/OUTPUT/);
    expect(() => parsePriceOverrides('=1/2')).toThrow(/MODEL=INPUT\/OUTPUT/);
  });
});
