import { describe, expect, it } from 'vitest';
import { renderCostQualitySvg } from '../src/replay/cost-quality-plot.js';
import { createProgressBar, formatProgress } from '../src/replay/progress-bar.js';
import { seededShuffle } from '../src/replay/seeded-shuffle.js';

const state = (calls: number) => ({
  calls,
  total: 100,
  costUsd: 1.5,
  baselineCostUsd: 3,
  rules: '2 rules: 1 full, 0 partial downgrades, 1 canary',
});

describe('progress bar', () => {
  it('on a TTY rewrites one line, at most every 100 ms', () => {
    const out: string[] = [];
    let t = 0;
    const bar = createProgressBar({
      sink: { write: (s: string) => out.push(s), isTTY: true, columns: 300 },
      now: () => t,
    });
    bar.update(state(1));
    t = 50;
    bar.update(state(2));
    t = 150;
    bar.update(state(3));
    bar.done(state(100));
    expect(out).toHaveLength(3);
    expect(out.every((s) => s.startsWith('\r\x1b[2K'))).toBe(true);
    expect(out[1]).toContain('3/100 calls');
    expect(out[2]!.endsWith('\n')).toBe(true);
    expect(out[2]).toContain('saving 50.0%');
  });

  it('elsewhere prints plain lines at the interval', () => {
    const out: string[] = [];
    let t = 0;
    const bar = createProgressBar({
      sink: { write: (s: string) => out.push(s) },
      now: () => t,
      intervalMs: 1000,
    });
    for (let i = 1; i <= 30; i++) {
      t = i * 100;
      bar.update(state(i));
    }
    expect(out).toHaveLength(3); // t = 100, 1100, 2100
    expect(out.every((s) => !s.includes('\r') && s.endsWith('\n'))).toBe(true);
    expect(formatProgress(state(50), false)).toBe(
      'replay: 50/100 calls (50.0%), spend $1.5000 vs $3.0000 all-baseline (saving 50.0%), 2 rules: 1 full, 0 partial downgrades, 1 canary',
    );
  });
});

describe('seeded shuffle', () => {
  it('is a permutation, repeatable per seed, different across seeds', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = seededShuffle(items, 1);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(seededShuffle(items, 1)).toEqual(a);
    expect(seededShuffle(items, 2)).not.toEqual(a);
    expect(a).not.toEqual(items);
  });
});

describe('cost-quality SVG', () => {
  it('draws axes, curves, references and runs with escaped labels', () => {
    const svg = renderCostQualitySvg({
      title: 'MMLU <test>',
      curves: [
        {
          label: 'hindsight',
          color: '#00f',
          points: [
            { cost: 1, quality: 0.8, label: '0%' },
            { cost: 0.4, quality: 0.76, label: '5%' },
          ],
        },
      ],
      references: [{ cost: 1, quality: 0.8, label: 'all baseline', color: '#f00' }],
      runs: [{ cost: 0.5, quality: 0.77, label: 'online & budget', color: '#fa0' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('MMLU &lt;test&gt;');
    expect(svg).toContain('online &amp; budget');
    expect(svg).toContain('cost (share of sending every call to the baseline)');
    expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+ L[\d.]+ [\d.]+" fill="none" stroke="#00f"/);
    expect(svg).toContain('>100%</text>');
    expect(svg).not.toContain('NaN');
  });
});
