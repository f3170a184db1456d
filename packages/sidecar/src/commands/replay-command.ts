/**
 * `switchyard replay`: replays a recorded dataset through the real stack, and
 * `switchyard replay convert`: turns the RouteLLM evaluation data into replay datasets.
 *
 * The CLI dispatches `switchyard replay ...` here with the arguments after `replay`.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { renderCostQualitySvg } from '../replay/cost-quality-plot.js';
import { createProgressBar } from '../replay/progress-bar.js';
import { computeReferences, type ToleranceMode } from '../replay/reference-points.js';
import { loadReplayDataset } from '../replay/replay-dataset.js';
import { createReplayPricing, parsePriceOverrides } from '../replay/replay-pricing.js';
import {
  buildCostQualityPlot,
  formatReplayReport,
  type OnlineRunPoint,
} from '../replay/replay-report.js';
import {
  type ReplayReport,
  type ReplayStackFactory,
  runReplay,
  selectRows,
} from '../replay/replay-run.js';
import { defaultReplayStack } from '../replay/replay-stack.js';
import { convertRouteLlm } from '../replay/routellm-converter.js';

const CONVERT_USAGE = `usage: switchyard replay convert --from DIR --out DIR

Converts the RouteLLM evaluation data (MMLU, GSM8K, MT-Bench) into replay datasets
mmlu.jsonl, gsm8k.jsonl and mt-bench.jsonl in --out, without the contaminated prompts.
  --from DIR   the RouteLLM data folder (holding routellm/evals/)
  --out DIR    where to write the datasets (created when missing; keep it out of git)`;

const RUN_USAGE = `usage: switchyard replay --dataset FILE --baseline MODEL --candidates MODEL[,MODEL...]
                         [--tolerance 0.05] [--mode budget|per-task] [--seed N] [--limit N]
                         [--concurrency N] [--call-interval-ms N] [--sync-every N] [--price MODEL=IN/OUT,...] [--json REPORT] [--plot FILE.svg]
                         [--plot-tolerances X,Y,...] [--quiet]
       switchyard replay convert --from DIR --out DIR

Replays a recorded dataset through the real stack (instrumented openai client -> sidecar with
its learner -> replay provider), learning online from nothing, and reports cost and quality
against the baseline and the offline reference points.
  --dataset FILE       replay dataset (JSONL; see docs/replay.md)
  --baseline MODEL     the model every call asks for
  --candidates LIST    cheaper models the sidecar may route to
  --tolerance X        allowed quality loss, share of baseline quality (default 0.05)
  --mode M             budget (default): across all tasks; per-task: every task
  --seed N             shuffle seed (default 1)
  --limit N            replay only the first N shuffled rows
  --concurrency N      calls in flight (default 4)
  --call-interval-ms N simulated time between calls for the sidecar's clock (default 1000)
  --sync-every N       after every N calls, wait until their spans reached the sidecar
                       (default 10; 0 = let them flow on the exporter's schedule)
  --price LIST         price overrides, USD per million tokens: MODEL=INPUT/OUTPUT,...
  --json FILE          write the report as JSON
  --plot FILE          write the cost-quality picture as SVG
  --plot-tolerances L  also replay online at these tolerances and draw them (slow: one run each)
  --quiet              no progress on stderr`;

/** Thrown for a bad command line; the message names the option and the fix. */
export class UsageError extends Error {}

/**
 * Runs `switchyard replay` with the arguments after `replay`; resolves to the exit code.
 *
 * @example process.exitCode = await run(['convert', '--from', 'data/routellm', '--out', '.data/replay']);
 */
export async function run(argv: readonly string[]): Promise<number> {
  try {
    if (argv[0] === 'convert') return await runConvert(argv.slice(1));
    return await runRun(argv, defaultReplayStack);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`switchyard replay: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`switchyard replay: ${(error as Error).message}\n`);
    return 1;
  }
}

async function runConvert(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv, ['from', 'out'], []);
  if (options.help) {
    process.stdout.write(`${CONVERT_USAGE}\n`);
    return 0;
  }
  const from = options.values.get('from');
  const out = options.values.get('out');
  if (!from) throw new UsageError(`--from is required\n${CONVERT_USAGE}`);
  if (!out) throw new UsageError(`--out is required\n${CONVERT_USAGE}`);
  const summaries = await convertRouteLlm({ from, out });
  for (const s of summaries) {
    process.stdout.write(
      `${s.set}: ${s.rows} rows, ${s.tasks} tasks, ${s.excluded} contaminated prompts excluded -> ${s.file}\n`,
    );
  }
  return 0;
}

/**
 * The replay run with an injectable stack (tests pass the default one; other stacks, e.g. a
 * sidecar in a child process, fit the same interface).
 */
export async function runRun(argv: readonly string[], stack: ReplayStackFactory): Promise<number> {
  const o = parseOptions(
    argv,
    [
      'dataset',
      'baseline',
      'candidates',
      'tolerance',
      'mode',
      'seed',
      'limit',
      'concurrency',
      'price',
      'json',
      'plot',
      'plot-tolerances',
      'call-interval-ms',
      'sync-every',
    ],
    ['quiet'],
  );
  if (o.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const datasetPath = required(o.values, 'dataset');
  const baseline = required(o.values, 'baseline');
  const candidates = required(o.values, 'candidates')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (candidates.length === 0) throw new UsageError('--candidates needs at least one model');
  if (candidates.includes(baseline)) {
    throw new UsageError('--candidates must not include the --baseline model');
  }
  const tolerance = numberOption(
    o.values,
    'tolerance',
    0.05,
    (v) => v >= 0 && v < 1,
    'a share in [0, 1), e.g. 0.05',
  );
  const mode = (o.values.get('mode') ?? 'budget') as ToleranceMode;
  if (mode !== 'budget' && mode !== 'per-task') {
    throw new UsageError('--mode must be "budget" or "per-task"');
  }
  const seed = numberOption(o.values, 'seed', 1, Number.isInteger, 'an integer');
  const limitRaw = o.values.get('limit');
  const limit =
    limitRaw === undefined
      ? undefined
      : numberOption(
          o.values,
          'limit',
          0,
          (v) => Number.isInteger(v) && v > 0,
          'a positive integer',
        );
  const concurrency = numberOption(
    o.values,
    'concurrency',
    4,
    (v) => Number.isInteger(v) && v > 0 && v <= 256,
    'an integer from 1 to 256',
  );
  const callIntervalMs = numberOption(
    o.values,
    'call-interval-ms',
    1000,
    (v) => v >= 0,
    'a non-negative number of milliseconds',
  );
  const syncEvery = numberOption(
    o.values,
    'sync-every',
    10,
    (v) => Number.isInteger(v) && v >= 0,
    'a non-negative integer (0 = never wait for spans)',
  );
  let overrides: ReturnType<typeof parsePriceOverrides> = {};
  const priceSpec = o.values.get('price');
  if (priceSpec !== undefined) {
    try {
      overrides = parsePriceOverrides(priceSpec);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const plotTolerances = (o.values.get('plot-tolerances') ?? '')
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((t) => {
      const v = Number(t);
      if (!Number.isFinite(v) || v < 0 || v >= 1) {
        throw new UsageError(`--plot-tolerances: "${t}" is not a share in [0, 1)`);
      }
      return v;
    });

  const dataset = await loadReplayDataset(datasetPath).catch((error: unknown) => {
    throw new UsageError(`--dataset ${datasetPath}: cannot read it (${(error as Error).message})`);
  });
  for (const s of dataset.skipped.slice(0, 20)) {
    process.stderr.write(`switchyard replay: ${datasetPath} line ${s.line} skipped: ${s.reason}\n`);
  }
  if (dataset.skipped.length > 20) {
    process.stderr.write(
      `switchyard replay: ... and ${dataset.skipped.length - 20} more lines skipped\n`,
    );
  }
  for (const m of [baseline, ...candidates]) {
    if (!dataset.models.includes(m)) {
      throw new UsageError(
        `model "${m}" has no outcome in ${datasetPath} (models there: ${dataset.models.join(', ')})`,
      );
    }
  }
  const pricing = createReplayPricing({ overrides });
  const quiet = o.flags.has('quiet');
  const common = {
    datasetName: basename(datasetPath),
    dataset,
    baseline,
    candidates,
    mode,
    seed,
    concurrency,
    callIntervalMs,
    syncEvery,
    pricing,
    ...(limit === undefined ? {} : { limit }),
  };
  const report = await runReplay(
    { ...common, tolerance, progress: createProgressBar({ quiet }) },
    stack,
  );
  process.stdout.write(formatReplayReport(report));
  const jsonPath = o.values.get('json');
  if (jsonPath) {
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`switchyard replay: report written to ${jsonPath}\n`);
  }
  const plotPath = o.values.get('plot');
  if (plotPath) {
    const others: OnlineRunPoint[] = [];
    for (const t of plotTolerances) {
      const r: ReplayReport = await runReplay(
        { ...common, tolerance: t, progress: createProgressBar({ quiet }) },
        stack,
      );
      process.stderr.write(
        `switchyard replay: tolerance ${t}: saving ${(r.saving * 100).toFixed(1)}%, retained ${(r.quality_retained * 100).toFixed(1)}%\n`,
      );
      others.push({ tolerance: t, mode, saving: r.saving, quality: r.quality });
    }
    const otherMode: ToleranceMode = mode === 'budget' ? 'per-task' : 'budget';
    // The same rows the run replayed: selection is deterministic in the seed and limit.
    const { rows } = selectRows(dataset.rows, [baseline, ...candidates], seed, limit);
    const otherSweep = computeReferences(rows, {
      baseline,
      candidates,
      cost: pricing.cost,
      tolerance,
      mode: otherMode,
    }).sweep;
    await writeFile(
      plotPath,
      renderCostQualitySvg(buildCostQualityPlot(report, [otherSweep], others)),
    );
    process.stderr.write(`switchyard replay: plot written to ${plotPath}\n`);
  }
  return report.errors > 0 && report.calls === 0 ? 1 : 0;
}

interface ParsedOptions {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
  readonly help: boolean;
}

function required(values: Map<string, string>, name: string): string {
  const v = values.get(name);
  if (!v) throw new UsageError(`--${name} is required (see --help)`);
  return v;
}

function numberOption(
  values: Map<string, string>,
  name: string,
  fallback: number,
  valid: (v: number) => boolean,
  expected: string,
): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || !valid(v)) {
    throw new UsageError(`--${name} must be ${expected}, got "${raw}"`);
  }
  return v;
}

/** Parses `--name value`, `--name=value` and boolean `--flag`; unknown options are errors. */
export function parseOptions(
  argv: readonly string[],
  valued: readonly string[],
  flags: readonly string[],
): ParsedOptions {
  const values = new Map<string, string>();
  const seenFlags = new Set<string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name)) {
      seenFlags.add(name);
      continue;
    }
    if (!valued.includes(name)) {
      throw new UsageError(
        `unknown option --${name} (known: ${[...valued, ...flags].map((o) => `--${o}`).join(', ')})`,
      );
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { values, flags: seenFlags, help };
}
