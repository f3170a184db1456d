#!/usr/bin/env node
// The replay's CI check: convert the RouteLLM data (if not yet converted), replay 1,500 MMLU rows
// through the real stack, and check the report is whole and consistent. It does not gate on the
// learner's saving (a small sample is noisy); it fails when the command or the stack breaks.
//   npm run build && node bench/replay/ci.mjs [--from /work/shared/data/routellm]
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { run } from '../../packages/sidecar/dist/commands/replay-command.js';

const args = process.argv.slice(2);
const fromAt = args.indexOf('--from');
const from = fromAt >= 0 ? args[fromAt + 1] : '/work/shared/data/routellm';
const data = '.data/replay';
const report = '.data/replay-ci/mmlu-1500.json';

await mkdir('.data/replay-ci', { recursive: true });
if (!existsSync(`${data}/mmlu.jsonl`)) {
  const code = await run(['convert', '--from', from, '--out', data]);
  if (code !== 0) process.exit(code);
}
const started = Date.now();
const code = await run([
  '--dataset',
  `${data}/mmlu.jsonl`,
  '--baseline',
  'gpt-4-1106-preview',
  '--candidates',
  'mistralai/Mixtral-8x7B-Instruct-v0.1',
  '--tolerance',
  '0.05',
  '--limit',
  '1500',
  '--seed',
  '1',
  '--json',
  report,
  '--plot',
  '.data/replay-ci/mmlu-1500.svg',
  '--quiet',
]);
if (code !== 0) process.exit(code);
const r = JSON.parse(await readFile(report, 'utf8'));
const problems = [];
const check = (ok, what) => {
  if (!ok) problems.push(what);
};
check(r.calls === 1500, `calls = ${r.calls}, expected 1500`);
check(r.errors === 0, `errors = ${r.errors}`);
check(r.skipped_lines === 0, `skipped_lines = ${r.skipped_lines}`);
check(r.saving >= 0 && r.saving <= 1, `saving ${r.saving} outside [0, 1]`);
check(
  r.quality_retained > 0.8 && r.quality_retained <= 1.2,
  `quality_retained ${r.quality_retained}`,
);
check(
  Math.abs(r.saving - (1 - r.cost_usd / r.baseline_cost_usd)) < 1e-9,
  'saving != 1 - cost / baseline cost',
);
check(r.tasks.reduce((n, t) => n + t.calls, 0) === r.calls, 'task calls do not add up to calls');
for (const [model, s] of Object.entries(r.served)) {
  check(r.provider_served[model]?.calls === s.calls, `provider served ${model} differently`);
}
check((r.route_reasons.canary ?? 0) > 0, 'no canary call: the learner never explored');
for (const key of [
  'all_baseline',
  'all_cheapest',
  'best_per_task_hindsight',
  'best_per_prompt_hindsight',
]) {
  check(r.references[key] !== undefined, `references.${key} missing`);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (problems.length > 0) {
  console.error(`replay CI check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `replay CI check ok in ${seconds} s: 1500 MMLU calls, saving ${(r.saving * 100).toFixed(1)}%, ` +
    `quality retained ${(r.quality_retained * 100).toFixed(1)}%, ${r.rule_events.length} rule events`,
);
