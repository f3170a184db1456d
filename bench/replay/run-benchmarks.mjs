#!/usr/bin/env node
// Runs the replay benchmarks of bench/RESULTS.md (section 4) and prints a summary table.
//   npm run build && node bench/replay/run-benchmarks.mjs [--quick] [--data DIR] [--out DIR]
// --quick: MMLU only, 1,500 rows, one seed (a few seconds). Without it: MMLU budget and per-task
// at 5% over seeds 1-3, GSM8K and MT-Bench (about 3 minutes on 2 cores).
// Converts the RouteLLM data first when the datasets are missing.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../packages/sidecar/dist/commands/replay-command.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const data = opt('--data', '.data/replay');
const out = opt('--out', 'bench/results/replay');
const from = opt('--from', '/work/shared/data/routellm');
const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mistralai/Mixtral-8x7B-Instruct-v0.1';

await mkdir(out, { recursive: true });
if (!existsSync(join(data, 'mmlu.jsonl'))) {
  const code = await run(['convert', '--from', from, '--out', data]);
  if (code !== 0) process.exit(code);
}

const runs = quick
  ? [{ set: 'mmlu', mode: 'budget', seed: 1, limit: 1500 }]
  : [
      ...[1, 2, 3].flatMap((seed) => [
        { set: 'mmlu', mode: 'budget', seed },
        { set: 'mmlu', mode: 'per-task', seed },
      ]),
      { set: 'gsm8k', mode: 'budget', seed: 1 },
      { set: 'gsm8k', mode: 'per-task', seed: 1 },
      { set: 'mt-bench', mode: 'budget', seed: 1 },
      { set: 'mt-bench', mode: 'per-task', seed: 1 },
    ];

const rows = [];
for (const r of runs) {
  const name = `${r.set}-${r.mode}-seed${r.seed}${r.limit ? `-limit${r.limit}` : ''}`;
  const argv = [
    '--dataset',
    join(data, `${r.set}.jsonl`),
    '--baseline',
    STRONG,
    '--candidates',
    WEAK,
    '--tolerance',
    '0.05',
    '--mode',
    r.mode,
    '--seed',
    String(r.seed),
    '--json',
    join(out, `${name}.json`),
    '--plot',
    join(out, `${name}.svg`),
    '--quiet',
    ...(r.limit ? ['--limit', String(r.limit)] : []),
  ];
  const started = Date.now();
  // The report goes to stdout; keep it in the JSON file and print only the summary here.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  let code;
  try {
    code = await run(argv);
  } finally {
    process.stdout.write = write;
  }
  if (code !== 0) {
    console.error(`${name}: exit code ${code}`);
    process.exitCode = 1;
    continue;
  }
  const rep = JSON.parse(await readFile(join(out, `${name}.json`), 'utf8'));
  rows.push({
    run: name,
    calls: rep.calls,
    saving: rep.saving,
    retained: rep.quality_retained,
    pgr: rep.pgr,
    hindsight: rep.references.best_per_task_hindsight.saving,
    exploration: rep.exploration.quality_lost_share,
    seconds: (Date.now() - started) / 1000,
  });
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;
console.log(
  '| run | calls | saving | quality retained | PGR | hindsight saving (same mode) | exploration quality spent | wall s |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.run} | ${r.calls} | ${pct(r.saving)} | ${pct(r.retained)} | ${r.pgr.toFixed(3)} | ${pct(r.hindsight)} | ${pct(r.exploration)} | ${r.seconds.toFixed(1)} |`,
  );
}
