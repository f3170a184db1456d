/**
 * The replay report as people read it (stdout), and the plot built from it.
 */
import type { CostQualityPlot, PlotPoint } from './cost-quality-plot.js';
import type { SweepPoint } from './reference-points.js';
import { type ReplayReport, type SweepJson, sweepToJson } from './replay-run.js';

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;

/**
 * Formats the report for a terminal.
 *
 * @example process.stdout.write(formatReplayReport(report));
 */
export function formatReplayReport(r: ReplayReport): string {
  const lines: string[] = [];
  const push = (s = '') => lines.push(s);
  push(`Switchyard replay: ${r.dataset}`);
  push(
    `  ${r.calls} calls (${r.rows} rows, seed ${r.seed}, concurrency ${r.concurrency}, ` +
      `${r.call_interval_ms} ms simulated between calls, spans synced every ${r.sync_every} calls), ` +
      `${r.errors} errors, ` +
      `${r.skipped_lines} dataset lines skipped, ${r.rows_without_models} rows without the models`,
  );
  push(
    `  baseline ${r.baseline}; candidates ${r.candidates.join(', ')}; ${r.mode} mode, tolerance ${pct(r.tolerance)}`,
  );
  push();
  push('Result (learned online, through the real stack; exploration included)');
  push(`  cost            ${usd(r.cost_usd)} vs ${usd(r.baseline_cost_usd)} all-baseline`);
  push(`  saving          ${pct(r.saving)}`);
  push(
    `  quality         ${r.quality.toFixed(4)} vs ${r.baseline_quality.toFixed(4)} baseline (retained ${pct(r.quality_retained)})`,
  );
  push(`  PGR             ${r.pgr.toFixed(3)} (weak model quality ${r.weak_quality.toFixed(4)})`);
  push(`  baseline share  ${pct(r.baseline_share)} of calls served by ${r.baseline}`);
  push(
    `  exploration     ${r.exploration.calls} canary calls, ${usd(r.exploration.cost_usd)}, ` +
      `quality spent ${r.exploration.quality_lost.toFixed(1)} points (${pct(r.exploration.quality_lost_share, 2)} of baseline quality)`,
  );
  push(
    `  route reasons   ${Object.entries(r.route_reasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  push(
    `  served          ${Object.entries(r.served)
      .map(([m, s]) => `${m}: ${s.calls} calls ${usd(s.cost_usd)}`)
      .join('; ')}`,
  );
  push();
  push('Reference points (offline, same rows)');
  push(
    `  ${'policy'.padEnd(28)} ${'cost'.padStart(10)} ${'saving'.padStart(8)} ${'quality'.padStart(8)} ${'retained'.padStart(9)} ${'PGR'.padStart(7)}`,
  );
  const refRow = (name: string, cost: number, saving: number, q: number, ret: number, p: number) =>
    push(
      `  ${name.padEnd(28)} ${usd(cost).padStart(10)} ${pct(saving).padStart(8)} ${q.toFixed(4).padStart(8)} ${pct(ret).padStart(9)} ${p.toFixed(3).padStart(7)}`,
    );
  refRow('this run (online)', r.cost_usd, r.saving, r.quality, r.quality_retained, r.pgr);
  for (const [name, ref] of Object.entries(r.references)) {
    refRow(
      name.replace(/_/g, '-'),
      ref.cost_usd,
      ref.saving,
      ref.quality,
      ref.quality_retained,
      ref.pgr,
    );
  }
  push(
    `  hindsight sweep (${r.mode}): ` +
      r.sweep
        .filter((_, i) => i % 5 === 0 || i === r.sweep.length - 1)
        .map(
          (s) =>
            `${pct(s.tolerance, 0)} -> saving ${pct(s.saving)}, retained ${pct(s.quality_retained)}`,
        )
        .join('; '),
  );
  push();
  push(
    'Per task: final rule, share served by cheaper models, quality; calls done when the first ' +
      'rule (any kind) and the first downgrade appeared; number of rule changes',
  );
  push(
    `  ${'task'.padEnd(36)} ${'calls'.padStart(6)} ${'final rule'.padEnd(22)} ${'cheap'.padStart(6)} ${'quality'.padStart(8)} ${'base q'.padStart(7)} ${'first'.padStart(6)} ${'downgr.'.padStart(7)} ${'changes'.padStart(7)}`,
  );
  for (const t of r.tasks) {
    const rule = t.rule_kind
      ? `${t.rule_kind} ${pct(t.share, 0)}`
      : `none (${t.model === r.baseline ? 'baseline' : t.model})`;
    const cheap = t.calls ? 1 - (t.served[r.baseline] ?? 0) / t.calls : 0;
    push(
      `  ${t.task.slice(0, 36).padEnd(36)} ${String(t.calls).padStart(6)} ${rule.slice(0, 22).padEnd(22)} ${pct(cheap, 0).padStart(6)} ${t.quality.toFixed(3).padStart(8)} ${t.baseline_quality.toFixed(3).padStart(7)} ${(t.first_rule_at_call === undefined ? '-' : String(t.first_rule_at_call)).padStart(6)} ${String(t.decisions.find((d) => d.kind === 'downgrade')?.call ?? '-').padStart(7)} ${String(t.decisions.length).padStart(7)}`,
    );
  }
  push();
  push(`Prices (USD per million tokens, table ${r.pricing_version})`);
  for (const p of r.prices) {
    push(
      `  ${p.model}: ${p.price ? `input ${p.price.input}, output ${p.price.output}` : 'none (row cost_usd only)'} [${p.origin}]`,
    );
  }
  push(`  cost basis: ${r.cost_basis}`);
  if (r.skipped.length > 0) {
    push();
    push('Skipped dataset lines');
    for (const s of r.skipped.slice(0, 10)) push(`  line ${s.line}: ${s.reason}`);
    if (r.skipped_lines > 10) push(`  ... ${r.skipped_lines - 10} more`);
  }
  push();
  push(`Took ${(r.duration_ms / 1000).toFixed(1)} s.`);
  return `${lines.join('\n')}\n`;
}

/** One online run at some tolerance, for the plot. */
export interface OnlineRunPoint {
  readonly tolerance: number;
  readonly mode: string;
  readonly saving: number;
  readonly quality: number;
}

/**
 * The plot of a report: hindsight sweep(s), the random-mixture line, the references and the
 * run(s). `extraSweeps` adds hindsight curves of other modes; `otherRuns` online runs at other
 * tolerances.
 */
export function buildCostQualityPlot(
  r: ReplayReport,
  extraSweeps: readonly (readonly SweepPoint[])[] = [],
  otherRuns: readonly OnlineRunPoint[] = [],
): CostQualityPlot {
  const base = r.baseline_cost_usd || 1;
  const sweepCurve = (sweep: readonly SweepJson[], color: string, dashed: boolean) => ({
    label: `best per task in hindsight, ${sweep[0]?.mode ?? r.mode} (0-${pct(sweep[sweep.length - 1]?.tolerance ?? 0, 0)})`,
    color,
    dashed,
    points: sweep.map(
      (s): PlotPoint => ({
        cost: s.cost_usd / base,
        quality: s.quality,
        label: `${pct(s.tolerance, 0)}: saving ${pct(s.saving)}, retained ${pct(s.quality_retained)}`,
      }),
    ),
  });
  const allBase = r.references.all_baseline;
  const cheap = r.references.all_cheapest;
  const curves = [
    sweepCurve(r.sweep, '#1f77b4', false),
    ...extraSweeps.map((s, i) =>
      sweepCurve(s.map(sweepToJson), i === 0 ? '#9467bd' : '#8c564b', true),
    ),
  ];
  if (allBase && cheap) {
    curves.push({
      label: 'random mixtures (expected)',
      color: '#999999',
      dashed: true,
      points: [
        { cost: cheap.cost_usd / base, quality: cheap.quality, label: 'all cheapest' },
        { cost: allBase.cost_usd / base, quality: allBase.quality, label: 'all baseline' },
      ],
    });
  }
  const colors: Record<string, string> = {
    all_baseline: '#d62728',
    all_cheapest: '#2ca02c',
    random_at_run_share: '#7f7f7f',
    best_per_task_hindsight: '#1f77b4',
    best_per_prompt_hindsight: '#17becf',
  };
  const references = Object.entries(r.references).map(([name, ref]) => ({
    cost: ref.cost_usd / base,
    quality: ref.quality,
    label: name.replace(/_/g, ' '),
    color: colors[name] ?? '#333333',
  }));
  const runs = [
    {
      cost: r.cost_usd / base,
      quality: r.quality,
      label: `online ${r.mode} ${pct(r.tolerance, 0)}: saving ${pct(r.saving)}, retained ${pct(r.quality_retained)}`,
      color: '#ff7f0e',
    },
    ...otherRuns.map((o) => ({
      cost: 1 - o.saving,
      quality: o.quality,
      label: `online ${o.mode} ${pct(o.tolerance, 0)}: saving ${pct(o.saving)}`,
      color: '#e377c2',
    })),
  ];
  return {
    title: `Switchyard replay: ${r.dataset}`,
    subtitle: `${r.calls} calls, baseline ${r.baseline}, candidates ${r.candidates.join(', ')}`,
    curves,
    references,
    runs,
  };
}
