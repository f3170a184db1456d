/**
 * `switchyard replay`: replays a recorded dataset through the real stack, and
 * `switchyard replay convert`: turns the RouteLLM evaluation data into replay datasets.
 *
 * The CLI dispatches `switchyard replay ...` here with the arguments after `replay`.
 */
import { convertRouteLlm } from '../replay/routellm-converter.js';

const CONVERT_USAGE = `usage: switchyard replay convert --from DIR --out DIR

Converts the RouteLLM evaluation data (MMLU, GSM8K, MT-Bench) into replay datasets
mmlu.jsonl, gsm8k.jsonl and mt-bench.jsonl in --out, without the contaminated prompts.
  --from DIR   the RouteLLM data folder (holding routellm/evals/)
  --out DIR    where to write the datasets (created when missing; keep it out of git)`;

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
    throw new UsageError('the replay run is not wired yet; use `switchyard replay convert`');
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

interface ParsedOptions {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
  readonly help: boolean;
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
