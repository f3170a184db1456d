/**
 * The demo's progress on stderr. On a terminal: one line rewritten in place (at most ten times a
 * second). Elsewhere (CI logs, pipes): a plain line at each tenth of the way, so a log gets about
 * ten lines instead of hundreds of carriage returns.
 */

/**
 * @example
 * const progress = createProgressLine({ total: 120 });
 * progress.update({ done: 12, calls: 96, counted: 90, spendUsd: 0.21, baselineUsd: 0.3, rules: '2 rules' });
 * progress.done();
 */
export function createProgressLine({ total, sink = process.stderr, now = Date.now }) {
  const tty = sink.isTTY === true;
  let last = 0;
  let lastTenth = -1;
  let shown = '';

  function format(s) {
    const saving = s.baselineUsd > 0 ? 1 - s.spendUsd / s.baselineUsd : 0;
    return (
      `run ${s.done}/${total} · ${s.calls} calls, ${s.counted} counted by the sidecar · ` +
      `$${s.spendUsd.toFixed(3)} vs $${s.baselineUsd.toFixed(3)} as requested ` +
      `(${(saving * 100).toFixed(1)}% less) · ${s.rules}`
    );
  }

  return {
    update(state) {
      if (tty) {
        const t = now();
        if (t - last < 100 && state.done < total) return;
        last = t;
        const columns = sink.columns || 120;
        const line = format(state).slice(0, Math.max(20, columns - 1));
        sink.write(`\r${line.padEnd(shown.length)}`);
        shown = line;
        return;
      }
      const tenth = Math.floor((state.done * 10) / Math.max(1, total));
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      sink.write(`${format(state)}\n`);
    },
    /** Ends the rewritten line on a terminal. */
    done() {
      if (tty && shown !== '') sink.write('\n');
      shown = '';
    },
  };
}
