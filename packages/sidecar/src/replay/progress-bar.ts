/**
 * The replay's progress on stderr. On a terminal it is one line rewritten in place (at most ten
 * times a second); otherwise (CI logs, pipes) it prints a plain line every `intervalMs`, so a log
 * file gets a few dozen lines, not thousands of carriage returns.
 */

export interface ProgressState {
  readonly calls: number;
  readonly total: number;
  readonly costUsd: number;
  readonly baselineCostUsd: number;
  /** Short description of the rules in force, e.g. `12 rules (9 full, 3 canary)`. */
  readonly rules: string;
}

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBar {
  update(state: ProgressState): void;
  /** Prints the final state and ends the line. */
  done(state: ProgressState): void;
}

export interface ProgressOptions {
  readonly sink?: ProgressSink;
  readonly now?: () => number;
  /** Non-TTY: time between two lines. Default 5,000 ms. */
  readonly intervalMs?: number;
  /** Print nothing. */
  readonly quiet?: boolean;
}

const TTY_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/** Formats one progress line (no newline). */
export function formatProgress(s: ProgressState, tty: boolean): string {
  const share = s.total > 0 ? s.calls / s.total : 0;
  const saving = s.baselineCostUsd > 0 ? 1 - s.costUsd / s.baselineCostUsd : 0;
  const counts = `${s.calls}/${s.total} calls`;
  const spend = `spend $${s.costUsd.toFixed(4)} vs $${s.baselineCostUsd.toFixed(4)} all-baseline (saving ${pct(saving)})`;
  if (!tty) return `replay: ${counts} (${pct(share)}), ${spend}, ${s.rules}`;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${counts} | ${spend} | ${s.rules}`;
}

/**
 * Creates the progress display.
 *
 * @example const bar = createProgressBar(); bar.update(state); bar.done(state);
 */
export function createProgressBar(options: ProgressOptions = {}): ProgressBar {
  const sink: ProgressSink = options.sink ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = sink.isTTY === true;
  const interval = tty ? TTY_INTERVAL_MS : (options.intervalMs ?? 5_000);
  let last = -Infinity;
  const quiet = options.quiet === true;

  function line(state: ProgressState): string {
    const text = formatProgress(state, tty);
    const columns = sink.columns ?? 0;
    return tty && columns > 10 && text.length >= columns ? `${text.slice(0, columns - 2)}…` : text;
  }

  return {
    update(state) {
      if (quiet) return;
      const t = now();
      if (t - last < interval) return;
      last = t;
      sink.write(tty ? `\r\x1b[2K${line(state)}` : `${line(state)}\n`);
    },
    done(state) {
      if (quiet) return;
      sink.write(tty ? `\r\x1b[2K${line(state)}\n` : `${line(state)}\n`);
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
